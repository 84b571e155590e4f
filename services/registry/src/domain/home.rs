//! Family homes: validation of what a regional office enters, the lifecycle,
//! approvals, annual re-confirmation (aktualitetsförklaring) and what a
//! caller may see of a home.

use super::{RegistryError, Rules};
use chrono::NaiveDate;
use samling_kit::dates;
use samling_kit::error::Reason;
use samling_kit::personnummer::Personnummer;
use samling_kit::reference::{MunicipalityCode, RegionMap};
use samling_proto::registry::v1::{
    Address, Approval, Home, HomeDraft, HomeStatus, HomeSummary, HomeType, HouseholdMember,
    InvestigationAssignment, MemberDraft, MemberRole, Objection, ProviderKind, RecordCheckOutcome,
    RecordCheckStatus, Willingness,
};

/// The most children any home can be approved for; above this is a unit, not a home.
pub const MAX_APPROVED_CAPACITY: i32 = 10;
const MAX_TAGS: usize = 50;
const MAX_TEXT: usize = 200;

/// A member as validated: the personnummer parsed, never logged.
#[derive(Debug, Clone)]
pub struct ValidMember {
    pub draft: MemberDraft,
    pub personnummer: Option<Personnummer>,
}

/// A [`HomeDraft`] that passed validation, normalised.
#[derive(Debug, Clone)]
pub struct ValidDraft {
    pub draft: HomeDraft,
    pub municipality: MunicipalityCode,
    pub members: Vec<ValidMember>,
}

fn text(field: &str, s: &str, required: bool) -> Result<String, RegistryError> {
    let t = s.trim();
    if required && t.is_empty() {
        return Err(RegistryError::invalid(field, "is required"));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(RegistryError::invalid(
            field,
            format!("must be at most {MAX_TEXT} characters"),
        ));
    }
    check_plain(field, t)?;
    Ok(t.to_string())
}

/// Control characters (NUL, C0/C1) and invisible format characters (bidi
/// overrides such as U+202E, zero-width and other Unicode `Cf` characters):
/// they make a name display as something else, in lists, exports and logs.
pub fn is_hidden_char(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}')
}

/// Refuse control and format characters in a name or other display text,
/// naming the field.
pub fn check_plain(field: &str, s: &str) -> Result<(), RegistryError> {
    if s.chars().any(is_hidden_char) {
        return Err(RegistryError::invalid(
            field,
            "must not contain control or invisible format characters",
        ));
    }
    Ok(())
}

/// Tags (languages, competences, …): trimmed, lower-case, unique, sorted.
pub fn normalise_tags(field: &str, tags: &[String]) -> Result<Vec<String>, RegistryError> {
    if tags.len() > MAX_TAGS {
        return Err(RegistryError::invalid(
            field,
            format!("at most {MAX_TAGS} values"),
        ));
    }
    let mut out = Vec::with_capacity(tags.len());
    for (i, t) in tags.iter().enumerate() {
        let t = t.trim().to_lowercase();
        if t.is_empty()
            || t.len() > 64
            || !t.chars().all(|c| c.is_alphanumeric() || "-_ ".contains(c))
        {
            return Err(RegistryError::invalid(
                format!("{field}[{i}]"),
                "must be 1–64 letters, digits, '-', '_' or spaces",
            ));
        }
        out.push(t);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

pub fn validate_member(
    field: &str,
    m: &MemberDraft,
    today: NaiveDate,
) -> Result<ValidMember, RegistryError> {
    let role = MemberRole::try_from(m.role)
        .ok()
        .filter(|r| *r != MemberRole::Unspecified)
        .ok_or_else(|| RegistryError::invalid(format!("{field}.role"), "is required"))?;
    let given_name = text(&format!("{field}.given_name"), &m.given_name, true)?;
    let family_name = text(&format!("{field}.family_name"), &m.family_name, true)?;
    let personnummer = if m.personnummer.trim().is_empty() {
        if role != MemberRole::Child {
            return Err(RegistryError::invalid(
                format!("{field}.personnummer"),
                "is required for adults",
            ));
        }
        None
    } else {
        let p = Personnummer::parse_on(&m.personnummer, today)
            .map_err(|e| RegistryError::invalid(format!("{field}.personnummer"), e.to_string()))?;
        if role != MemberRole::Child && p.age_on(today) < 18 {
            return Err(RegistryError::invalid(
                format!("{field}.personnummer"),
                "an adult member must be 18 or older",
            ));
        }
        Some(p)
    };
    Ok(ValidMember {
        draft: MemberDraft {
            given_name,
            family_name,
            personnummer: personnummer
                .as_ref()
                .map(|p| p.canonical().to_string())
                .unwrap_or_default(),
            role: role as i32,
        },
        personnummer,
    })
}

/// Validate a draft. `with_members` is false for profile updates (members are
/// changed one by one). Every error names the field at fault.
pub fn validate_draft(
    d: &HomeDraft,
    with_members: bool,
    today: NaiveDate,
) -> Result<ValidDraft, RegistryError> {
    let home_type = HomeType::try_from(d.home_type)
        .ok()
        .filter(|t| *t != HomeType::Unspecified)
        .ok_or_else(|| RegistryError::invalid("draft.home_type", "is required"))?;
    let provider = ProviderKind::try_from(d.provider)
        .ok()
        .filter(|p| *p != ProviderKind::Unspecified)
        .ok_or_else(|| RegistryError::invalid("draft.provider", "is required"))?;
    let agency_id = d.agency_id.trim().to_string();
    match provider {
        ProviderKind::Agency if agency_id.is_empty() => {
            return Err(RegistryError::invalid(
                "draft.agency_id",
                "is required for agency homes",
            ));
        }
        ProviderKind::Public if !agency_id.is_empty() => {
            return Err(RegistryError::invalid(
                "draft.agency_id",
                "must be empty for public homes",
            ));
        }
        _ => {}
    }
    if !agency_id.is_empty() {
        samling_kit::ids::parse_id("draft.agency_id", &agency_id)?;
    }
    let municipality = MunicipalityCode::parse(&d.municipality_code)
        .map_err(|e| RegistryError::invalid("draft.municipality_code", e.to_string()))?;
    let address = d
        .address
        .as_ref()
        .ok_or_else(|| RegistryError::invalid("draft.address", "is required"))?;
    let postal: String = address
        .postal_code
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if postal.len() != 5 || !postal.chars().all(|c| c.is_ascii_digit()) {
        return Err(RegistryError::invalid(
            "draft.address.postal_code",
            "must be 5 digits",
        ));
    }
    let address = Address {
        street: text("draft.address.street", &address.street, true)?,
        postal_code: format!("{} {}", &postal[..3], &postal[3..]),
        city: text("draft.address.city", &address.city, true)?,
    };
    let capacity = match d.capacity {
        0 => 0,
        c if (1..=MAX_APPROVED_CAPACITY).contains(&c) => c,
        _ => {
            return Err(RegistryError::invalid(
                "draft.capacity",
                format!("must be between 1 and {MAX_APPROVED_CAPACITY} (0 = normal)"),
            ));
        }
    };
    let mut willingness = Vec::new();
    for (i, w) in d.willingness.iter().enumerate() {
        let w = Willingness::try_from(*w)
            .ok()
            .filter(|w| *w != Willingness::Unspecified)
            .ok_or_else(|| {
                RegistryError::invalid(format!("draft.willingness[{i}]"), "is not a known value")
            })?;
        if !willingness.contains(&(w as i32)) {
            willingness.push(w as i32);
        }
    }
    willingness.sort();
    let mut members = Vec::new();
    if with_members {
        if d.members.len() > 20 {
            return Err(RegistryError::invalid(
                "draft.members",
                "at most 20 members",
            ));
        }
        for (i, m) in d.members.iter().enumerate() {
            members.push(validate_member(&format!("draft.members[{i}]"), m, today)?);
        }
        if !members
            .iter()
            .any(|m| m.draft.role == MemberRole::Carer as i32)
        {
            return Err(RegistryError::invalid(
                "draft.members",
                "at least one carer (adult) is required",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, m) in members.iter().enumerate() {
            if let Some(p) = &m.personnummer
                && !seen.insert(p.canonical().to_string())
            {
                return Err(RegistryError::invalid(
                    format!("draft.members[{i}].personnummer"),
                    "appears twice in the household",
                ));
            }
        }
    }
    Ok(ValidDraft {
        draft: HomeDraft {
            home_type: home_type as i32,
            provider: provider as i32,
            agency_id,
            municipality_code: municipality.as_str().to_string(),
            address: Some(address),
            protected_identity: d.protected_identity,
            members: members.iter().map(|m| m.draft.clone()).collect(),
            languages: normalise_tags("draft.languages", &d.languages)?,
            competences: normalise_tags("draft.competences", &d.competences)?,
            target_groups: normalise_tags("draft.target_groups", &d.target_groups)?,
            capacity,
            pets: normalise_tags("draft.pets", &d.pets)?,
            allergies: normalise_tags("draft.allergies", &d.allergies)?,
            willingness,
            description: description(&d.description)?,
        },
        municipality,
        members,
    })
}

pub fn member_from(id: String, m: &ValidMember) -> HouseholdMember {
    HouseholdMember {
        id,
        given_name: m.draft.given_name.clone(),
        family_name: m.draft.family_name.clone(),
        personnummer: m.draft.personnummer.clone(),
        role: m.draft.role,
        birth_year: m
            .personnummer
            .as_ref()
            .map(|p| chrono::Datelike::year(&p.birth_date()))
            .unwrap_or(0),
        record_checks: vec![],
    }
}

/// A new home: an applicant, version 1.
pub fn new_home(
    id: String,
    v: &ValidDraft,
    member_ids: impl Iterator<Item = String>,
    regions: &RegionMap,
    now: &str,
) -> Home {
    let mut home = Home {
        id,
        version: 1,
        status: HomeStatus::Applicant as i32,
        members: v
            .members
            .iter()
            .zip(member_ids)
            .map(|(m, id)| member_from(id, m))
            .collect(),
        created_at: now.to_string(),
        updated_at: now.to_string(),
        ..Default::default()
    };
    apply_profile(&mut home, v, regions);
    home
}

/// Copy the editable profile (not members, status or history) onto a home.
pub fn apply_profile(home: &mut Home, v: &ValidDraft, regions: &RegionMap) {
    let d = &v.draft;
    home.home_type = d.home_type;
    home.provider = d.provider;
    home.agency_id = d.agency_id.clone();
    home.municipality_code = d.municipality_code.clone();
    home.county_code = v.municipality.county().as_str().to_string();
    home.region_id = regions.region_of(v.municipality).as_str().to_string();
    home.address = d.address.clone();
    home.protected_identity = d.protected_identity;
    home.languages = d.languages.clone();
    home.competences = d.competences.clone();
    home.target_groups = d.target_groups.clone();
    home.capacity = d.capacity;
    home.pets = d.pets.clone();
    home.allergies = d.allergies.clone();
    home.willingness = d.willingness.clone();
    home.description = d.description.clone();
    if !d.willingness.contains(&(Willingness::Emergency as i32)) {
        home.jour_available = false;
    }
}

pub fn status(home: &Home) -> HomeStatus {
    HomeStatus::try_from(home.status).unwrap_or(HomeStatus::Unspecified)
}

/// The home's approved capacity, or the normal maximum when none was set.
pub fn effective_capacity(home: &Home, rules: &Rules) -> u32 {
    if home.capacity > 0 {
        home.capacity as u32
    } else {
        rules.normal_capacity
    }
}

/// Add a validated member as `id`; one personnummer appears once in a household.
pub fn add_member(home: &mut Home, id: String, m: &ValidMember) -> Result<(), RegistryError> {
    if m.personnummer.is_some()
        && home
            .members
            .iter()
            .any(|x| x.personnummer == m.draft.personnummer)
    {
        return Err(RegistryError::invalid(
            "member.personnummer",
            "is already a member of this home",
        ));
    }
    home.members.push(member_from(id, m));
    Ok(())
}

/// Remove member `id`; a home keeps at least one carer.
pub fn remove_member(home: &mut Home, id: &str) -> Result<(), RegistryError> {
    let i = home
        .members
        .iter()
        .position(|m| m.id == id)
        .ok_or_else(|| RegistryError::NotFound(format!("member {id}")))?;
    if !home
        .members
        .iter()
        .enumerate()
        .any(|(j, m)| j != i && m.role == MemberRole::Carer as i32)
    {
        return Err(RegistryError::precondition(
            "a home must keep at least one carer",
        ));
    }
    home.members.remove(i);
    Ok(())
}

/// A municipality's objection to further placements, once per municipality
/// (who may object is [`super::placement::check_may_object`]).
pub fn record_objection(home: &mut Home, objection: Objection) -> Result<(), RegistryError> {
    if home
        .objections
        .iter()
        .any(|o| o.municipality_code == objection.municipality_code)
    {
        return Err(RegistryError::refused(
            samling_kit::error::Reason::AlreadyRecorded,
            "the objection is already recorded",
        ));
    }
    home.objections.push(objection);
    Ok(())
}

/// A municipality withdraws its objection.
pub fn withdraw_objection(home: &mut Home, municipality: &str) -> Result<(), RegistryError> {
    let before = home.objections.len();
    home.objections
        .retain(|o| o.municipality_code != municipality);
    if before == home.objections.len() {
        return Err(RegistryError::NotFound("objection".into()));
    }
    Ok(())
}

/// Allowed lifecycle steps. Approval is not a transition: it is recorded with
/// [`record_approval`], which carries the nämnd decision.
pub fn check_transition(
    from: HomeStatus,
    to: HomeStatus,
    placed: i32,
) -> Result<(), RegistryError> {
    use HomeStatus::*;
    let ok = matches!(
        (from, to),
        (Applicant, InTraining | UnderAssessment | Ended)
            | (InTraining, UnderAssessment | Ended)
            | (UnderAssessment, InTraining | Ended)
            | (Approved, Active | Paused | Ended)
            | (Active, Paused | Ended)
            | (Paused, Active | Ended)
    );
    if to == Approved {
        return Err(RegistryError::invalid(
            "to_status",
            "a home is approved by recording the municipality's decision (RecordApproval)",
        ));
    }
    if !ok {
        return Err(RegistryError::precondition(format!(
            "a home cannot go from {} to {}",
            from.as_str_name(),
            to.as_str_name()
        )));
    }
    if to == Ended && placed > 0 {
        return Err(RegistryError::precondition(
            "the home has placed children; end their placements first",
        ));
    }
    Ok(())
}

/// The office assigns a municipality to investigate the home (a documented
/// link for its approval): not for an ended home, once per municipality.
pub fn assign_investigation(
    home: &mut Home,
    assignment: InvestigationAssignment,
) -> Result<(), RegistryError> {
    use HomeStatus::*;
    let s = status(home);
    if matches!(s, Ended) {
        return Err(RegistryError::precondition(format!(
            "a home in status {} cannot be investigated",
            s.as_str_name()
        )));
    }
    if home
        .investigations
        .iter()
        .any(|i| i.municipality_code == assignment.municipality_code)
    {
        return Err(RegistryError::refused(
            Reason::AlreadyRecorded,
            "this municipality is already assigned to investigate the home",
        ));
    }
    home.investigations.push(assignment);
    Ok(())
}

/// Record a municipality's approval decision. The first approval moves a home
/// under assessment to approved and starts the re-confirmation clock. Later
/// decisions move the clock only when `restarts` (the regional office's
/// act): a municipal decision never postpones the annual re-confirmation.
pub fn record_approval(
    home: &mut Home,
    approval: Approval,
    decision_date: NaiveDate,
    today: NaiveDate,
    rules: &Rules,
    restarts: bool,
) -> Result<(), RegistryError> {
    use HomeStatus::*;
    if decision_date > today {
        return Err(RegistryError::invalid(
            "decision_date",
            "must not be in the future",
        ));
    }
    match status(home) {
        UnderAssessment => home.status = Approved as i32,
        Approved | Active | Paused => {}
        s => {
            return Err(RegistryError::precondition(format!(
                "a home in status {} cannot be approved; it must be under assessment",
                s.as_str_name()
            )));
        }
    }
    if home.approvals.iter().any(|a| {
        a.municipality_code == approval.municipality_code && a.decision_ref == approval.decision_ref
    }) {
        return Err(RegistryError::refused(
            Reason::AlreadyRecorded,
            "this decision is already recorded",
        ));
    }
    home.approvals.push(approval);
    match last_reconfirmed(home) {
        None => set_reconfirmed(home, decision_date, rules),
        Some(l) if restarts && decision_date > l => set_reconfirmed(home, decision_date, rules),
        Some(_) => {}
    }
    Ok(())
}

fn last_reconfirmed(home: &Home) -> Option<NaiveDate> {
    dates::opt_from_proto("", home.last_reconfirmed_on.as_ref())
        .ok()
        .flatten()
}

pub fn reconfirmation_due(home: &Home) -> Option<NaiveDate> {
    dates::opt_from_proto("", home.reconfirmation_due_on.as_ref())
        .ok()
        .flatten()
}

fn set_reconfirmed(home: &mut Home, on: NaiveDate, rules: &Rules) {
    home.last_reconfirmed_on = Some(dates::to_proto(on));
    home.reconfirmation_due_on = Some(dates::to_proto(dates::add_months(
        on,
        rules.reconfirmation_months,
    )));
}

/// The statuses of an approved home: re-confirmed every year, so the ones
/// that can be overdue for it.
pub const RECONFIRMED_STATUSES: [HomeStatus; 3] =
    [HomeStatus::Approved, HomeStatus::Active, HomeStatus::Paused];

/// Is the home approved (in one of [`RECONFIRMED_STATUSES`])?
pub fn is_approved(home: &Home) -> bool {
    RECONFIRMED_STATUSES.contains(&status(home))
}

/// Has the home ended (no longer in the register's working set)?
pub fn is_ended(home: &Home) -> bool {
    status(home) == HomeStatus::Ended
}

/// The annual re-confirmation.
pub fn reconfirm(
    home: &mut Home,
    on: NaiveDate,
    today: NaiveDate,
    rules: &Rules,
) -> Result<(), RegistryError> {
    if !is_approved(home) {
        return Err(RegistryError::precondition(
            "only approved homes are re-confirmed",
        ));
    }
    if on > today {
        return Err(RegistryError::invalid(
            "confirmed_on",
            "must not be in the future",
        ));
    }
    if last_reconfirmed(home).is_some_and(|l| on < l) {
        return Err(RegistryError::invalid(
            "confirmed_on",
            "is before the home's last re-confirmation",
        ));
    }
    set_reconfirmed(home, on, rules);
    Ok(())
}

/// The one definition of "overdue for re-confirmation": an approved home
/// whose re-confirmation date is before `on` (due on `on` is not yet
/// overdue). `GetHome`'s flag, `ListOverdueHomes`, the homes `SearchHomes`
/// leaves out and the placement notice all ask this.
pub fn reconfirmation_overdue(home: &Home, on: NaiveDate) -> bool {
    is_approved(home) && reconfirmation_due(home).is_some_and(|d| d < on)
}

/// Set the derived flags that depend on the date (today, or a list's `as_of`).
pub fn refresh_derived(home: &mut Home, on: NaiveDate) {
    home.reconfirmation_overdue = reconfirmation_overdue(home, on);
    home.record_checks_overdue = super::evidence::record_checks_overdue(home, on);
    home.inspection_remarks = super::evidence::home_inspection_remarks(home);
}

/// Room for one more child within the home's approved (or the normal)
/// capacity; `SearchHomes`' `with_free_capacity`.
pub fn has_free_place(home: &Home, rules: &Rules) -> bool {
    u32::try_from(home.placed_count).unwrap_or(0) < effective_capacity(home, rules)
}

/// A placement into an approved home makes it active (approved → active);
/// other statuses are left as they are.
pub fn activate_on_placement(home: &mut Home) {
    if status(home) == HomeStatus::Approved {
        home.status = HomeStatus::Active as i32;
    }
}

/// The home says whether it takes emergency (jour) placements now. Only a
/// home willing to take them and that has not withdrawn its consent can be
/// available; anyone can become unavailable.
pub fn set_jour(home: &mut Home, available: bool, now: &str) -> Result<(), RegistryError> {
    if available && !home.willingness.contains(&(Willingness::Emergency as i32)) {
        return Err(RegistryError::precondition(
            "the home does not take emergency (jour) placements",
        ));
    }
    if available && home.consent_withdrawn {
        return Err(RegistryError::precondition(
            "the home has withdrawn its consent",
        ));
    }
    home.jour_available = available;
    home.jour_available_updated_at = now.to_string();
    Ok(())
}

/// The home withdraws its consent: no more placements, no jour.
pub fn withdraw_consent(home: &mut Home, on: NaiveDate) {
    home.consent_withdrawn = true;
    home.consent_withdrawn_on = Some(dates::to_proto(on));
    home.jour_available = false;
}

/// Can a child be placed here now? (Matching also excludes overdue homes;
/// a placement into an overdue home is allowed but flagged.)
pub fn check_placeable(home: &Home) -> Result<(), RegistryError> {
    use HomeStatus::*;
    super::restriction::check_not_blocked(home)?;
    if !matches!(status(home), Approved | Active) {
        return Err(RegistryError::refused(
            Reason::NotAcceptingPlacements,
            format!(
                "the home is {} and takes no placements",
                status(home).as_str_name()
            ),
        ));
    }
    if home.consent_withdrawn {
        return Err(RegistryError::refused(
            Reason::NotAcceptingPlacements,
            "the home has withdrawn its consent",
        ));
    }
    let t = HomeType::try_from(home.home_type).unwrap_or(HomeType::Unspecified);
    if matches!(t, HomeType::ContactFamily | HomeType::MentorFamily) {
        return Err(RegistryError::refused(
            Reason::NotAcceptingPlacements,
            "contact and mentor families are not placements in 24-hour care",
        ));
    }
    Ok(())
}

/// A normalised address key for duplicate detection (never logged).
pub fn address_key(a: &Address) -> String {
    let street: String = a
        .street
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let postal: String = a.postal_code.chars().filter(char::is_ascii_digit).collect();
    format!("{postal}|{street}")
}

/// How much of a home a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HomeView {
    /// Everything, including a protected home's address (the home itself).
    Full,
    /// The office's ordinary read: everything but a protected home's
    /// address, which takes the explicit, audited reveal (ADR 0017).
    Office,
    /// Members visible, address withheld (protected identity).
    AddressWithheld,
    /// No personal data: no members, no address.
    NoPersonalData,
}

pub fn redact(home: &mut Home, view: HomeView) {
    redact_for(home, view, None);
}

/// Redact `home` for a caller with `view`; `own` is the caller's
/// municipality, whose own approvals and objections of a protected home it
/// may still see (they are its own decisions).
pub fn redact_for(home: &mut Home, view: HomeView, own: Option<&str>) {
    // A protected home's location is withheld with its address: its
    // municipality, county and region, and the municipalities that approved
    // it or object to placements there (they point at where it is).
    let shows_location = matches!(view, HomeView::Full | HomeView::Office);
    if !shows_location && home.protected_identity {
        withhold_location(home);
        home.approvals
            .retain(|a| own.is_some_and(|m| m == a.municipality_code));
        home.objections
            .retain(|o| own.is_some_and(|m| m == o.municipality_code));
        home.investigations
            .retain(|i| own.is_some_and(|m| m == i.municipality_code));
        for r in &mut home.restrictions {
            if own.is_none_or(|m| m != r.municipality_code) {
                r.municipality_code.clear();
            }
        }
        // Who trained, investigated or visited the home points at it too.
        for t in &mut home.trainings {
            if own.is_none_or(|m| m != t.municipality_code) {
                t.municipality_code.clear();
            }
        }
        for i in &mut home.investigation_records {
            if own.is_none_or(|m| m != i.municipality_code) {
                i.municipality_code.clear();
            }
        }
        for v in &mut home.visits {
            if own.is_none_or(|m| m != v.municipality_code) {
                v.municipality_code.clear();
            }
        }
    }
    match view {
        HomeView::Full => {}
        HomeView::Office => {
            if home.protected_identity {
                home.address = None;
                home.personal_data_redacted = true;
            }
        }
        HomeView::AddressWithheld => {
            home.address = None;
            home.personal_data_redacted = true;
        }
        HomeView::NoPersonalData => {
            home.address = None;
            home.members.clear();
            home.incidents.clear();
            // A decision's kind and dates are the register's; its reasons
            // are for those who see the household (ADR 0026).
            for r in &mut home.restrictions {
                r.reasons.clear();
                r.lifted_reason.clear();
                r.recorded_by.clear();
            }
            // The investigation's result and a visit's findings are about
            // the household: those who see none of it see that they exist.
            for i in &mut home.investigation_records {
                i.result = 0;
                i.recorded_by.clear();
            }
            for v in &mut home.visits {
                v.findings.clear();
                v.recorded_by.clear();
            }
            for t in &mut home.trainings {
                t.recorded_by.clear();
            }
            home.personal_data_redacted = true;
        }
    }
}

/// Blank where a protected home is (its municipality, county and region).
pub fn withhold_location(home: &mut Home) {
    home.municipality_code.clear();
    home.county_code.clear();
    home.region_id.clear();
}

pub fn summary(home: &Home) -> HomeSummary {
    HomeSummary {
        id: home.id.clone(),
        home_type: home.home_type,
        provider: home.provider,
        status: home.status,
        municipality_code: home.municipality_code.clone(),
        region_id: home.region_id.clone(),
        languages: home.languages.clone(),
        competences: home.competences.clone(),
        target_groups: home.target_groups.clone(),
        capacity: home.capacity,
        placed_count: home.placed_count,
        willingness: home.willingness.clone(),
        jour_available: home.jour_available,
        reconfirmation_overdue: home.reconfirmation_overdue,
        reconfirmation_due_on: home.reconfirmation_due_on,
        allergies: home.allergies.clone(),
        pets: home.pets.clone(),
        protected_identity: home.protected_identity,
        agency_id: home.agency_id.clone(),
        version: home.version,
        placement_blocked: home.placement_blocked,
        agency_permit_invalid: false,
        inspection_remarks: home.inspection_remarks,
        record_checks_overdue: home.record_checks_overdue,
        evidence_missing: home.evidence_missing.clone(),
        effective_capacity: 0,
        free_places: 0,
        adults: adults(home),
        record_checks: RecordCheckStatus::Unspecified as i32,
        description: home.description.clone(),
    }
}

/// The home's free-text description (ADR 0031): trimmed, at most 2000
/// characters, no control characters other than line breaks.
pub fn description(v: &str) -> Result<String, RegistryError> {
    let t = v.trim();
    if t.chars().count() > 2000 {
        return Err(RegistryError::invalid(
            "draft.description",
            "is longer than 2000 characters",
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err(RegistryError::invalid(
            "draft.description",
            "must not contain control characters",
        ));
    }
    Ok(t.to_string())
}

fn is_adult(m: &HouseholdMember) -> bool {
    matches!(
        MemberRole::try_from(m.role).unwrap_or_default(),
        MemberRole::Carer | MemberRole::OtherAdult
    )
}

/// Adults in the household.
pub fn adults(home: &Home) -> i32 {
    i32::try_from(home.members.iter().filter(|m| is_adult(m)).count()).unwrap_or(0)
}

/// The household's register checks in one word: a remark on any adult's
/// check; else an adult with none recorded; else all clear.
pub fn record_check_status(home: &Home) -> RecordCheckStatus {
    let adults: Vec<&HouseholdMember> = home.members.iter().filter(|m| is_adult(m)).collect();
    if adults.iter().any(|m| {
        m.record_checks
            .iter()
            .any(|c| c.outcome == RecordCheckOutcome::Remark as i32)
    }) {
        RecordCheckStatus::Remark
    } else if adults.is_empty() || adults.iter().any(|m| m.record_checks.is_empty()) {
        RecordCheckStatus::Incomplete
    } else {
        RecordCheckStatus::AllClear
    }
}

/// The home types that take placements (all but contact families): a
/// search's default (ADR 0031).
pub fn placement_home_types() -> Vec<HomeType> {
    [
        HomeType::NetworkHome,
        HomeType::FamilyHome,
        HomeType::ReinforcedFamilyHome,
        HomeType::EmergencyHome,
        HomeType::ContractedEmergencyHome,
        HomeType::MentorFamily,
    ]
    .to_vec()
}

/// Can the home take a placement at all (ADR 0031)? Approved or active,
/// and not a contact family (a support, not a placement).
pub fn takes_placements(status: HomeStatus, home_type: HomeType) -> bool {
    matches!(status, HomeStatus::Approved | HomeStatus::Active)
        && home_type != HomeType::ContactFamily
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use samling_kit::error::ServiceError as _;

    pub fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    pub fn draft() -> HomeDraft {
        HomeDraft {
            home_type: HomeType::FamilyHome as i32,
            provider: ProviderKind::Public as i32,
            municipality_code: "0180".into(),
            address: Some(Address {
                street: "Storgatan 1".into(),
                postal_code: "11122".into(),
                city: "Stockholm".into(),
            }),
            members: vec![MemberDraft {
                given_name: "Anna".into(),
                family_name: "Berg".into(),
                personnummer: "19121212-1212".into(),
                role: MemberRole::Carer as i32,
            }],
            languages: vec!["Svenska".into(), "arabiska".into(), "svenska".into()],
            willingness: vec![Willingness::LongTerm as i32],
            ..Default::default()
        }
    }

    fn approved_home() -> Home {
        let v = validate_draft(&draft(), true, today()).unwrap();
        let mut h = new_home(
            "h1".into(),
            &v,
            ["m1".to_string()].into_iter(),
            RegionMap::default_map(),
            "now",
        );
        h.status = HomeStatus::UnderAssessment as i32;
        record_approval(
            &mut h,
            Approval {
                municipality_code: "0180".into(),
                decision_ref: "SN 2026/1".into(),
                ..Default::default()
            },
            NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
            today(),
            &Rules::default(),
            true,
        )
        .unwrap();
        h
    }

    #[test]
    fn names_with_control_or_bidi_characters_are_refused_naming_the_field() {
        for bad in [
            "Anna\u{0}",
            "Anna\u{202E}",
            "An\u{200B}na",
            "\u{2066}Anna",
            "A\u{7}",
        ] {
            let mut d = draft();
            d.members[0].given_name = bad.into();
            let e = validate_draft(&d, true, today()).unwrap_err();
            assert_eq!(
                e.to_string(),
                "draft.members[0].given_name: must not contain control or invisible format characters"
            );
        }
        let mut d = draft();
        d.members[0].given_name = "Åsa-Märta".into();
        assert!(validate_draft(&d, true, today()).is_ok());
    }

    #[test]
    fn a_municipal_decision_does_not_move_the_reconfirmation_clock() {
        let mut h = approved_home();
        let due = reconfirmation_due(&h);
        let later = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let again = |r: &str| Approval {
            municipality_code: "0180".into(),
            decision_ref: r.into(),
            ..Default::default()
        };
        record_approval(
            &mut h,
            again("SN 2"),
            later,
            today(),
            &Rules::default(),
            false,
        )
        .unwrap();
        assert_eq!(reconfirmation_due(&h), due);
        record_approval(
            &mut h,
            again("SN 3"),
            later,
            today(),
            &Rules::default(),
            true,
        )
        .unwrap();
        assert!(reconfirmation_due(&h) > due);
    }

    #[test]
    fn a_valid_draft_is_normalised() {
        let v = validate_draft(&draft(), true, today()).unwrap();
        assert_eq!(v.draft.languages, vec!["arabiska", "svenska"]);
        assert_eq!(v.draft.address.unwrap().postal_code, "111 22");
        assert_eq!(v.members[0].draft.personnummer, "191212121212");
    }

    #[test]
    fn a_bad_personnummer_is_rejected_naming_the_member_field() {
        let mut d = draft();
        d.members[0].personnummer = "19121212-1213".into();
        let e = validate_draft(&d, true, today()).unwrap_err();
        assert!(
            e.to_string().starts_with("draft.members[0].personnummer:"),
            "{e}"
        );
        assert!(
            !e.to_string().contains("1213"),
            "the error must not echo the number"
        );
    }

    #[test]
    fn an_unknown_municipality_is_rejected() {
        let mut d = draft();
        d.municipality_code = "9999".into();
        let e = validate_draft(&d, true, today()).unwrap_err();
        assert!(e.to_string().starts_with("draft.municipality_code"));
    }

    #[test]
    fn an_agency_home_needs_its_agency() {
        let mut d = draft();
        d.provider = ProviderKind::Agency as i32;
        let e = validate_draft(&d, true, today()).unwrap_err();
        assert!(e.to_string().starts_with("draft.agency_id"));
    }

    #[test]
    fn a_household_needs_an_adult_carer() {
        let mut d = draft();
        d.members[0].role = MemberRole::Child as i32;
        d.members[0].personnummer = String::new();
        assert!(
            validate_draft(&d, true, today())
                .unwrap_err()
                .to_string()
                .starts_with("draft.members")
        );
    }

    #[test]
    fn capacity_above_ten_is_rejected() {
        let mut d = draft();
        d.capacity = 11;
        assert!(
            validate_draft(&d, true, today())
                .unwrap_err()
                .to_string()
                .starts_with("draft.capacity")
        );
    }

    #[test]
    fn the_first_approval_approves_and_starts_the_reconfirmation_clock() {
        let h = approved_home();
        assert_eq!(status(&h), HomeStatus::Approved);
        assert_eq!(reconfirmation_due(&h), NaiveDate::from_ymd_opt(2026, 6, 1));
    }

    #[test]
    fn an_applicant_cannot_be_approved_before_assessment() {
        let v = validate_draft(&draft(), true, today()).unwrap();
        let mut h = new_home(
            "h".into(),
            &v,
            std::iter::empty(),
            RegionMap::default_map(),
            "now",
        );
        let e = record_approval(
            &mut h,
            Approval::default(),
            today(),
            today(),
            &Rules::default(),
            true,
        );
        assert!(matches!(e, Err(RegistryError::Precondition(_))));
    }

    #[test]
    fn a_home_overdue_for_annual_reconfirmation_is_flagged() {
        let mut h = approved_home();
        assert!(reconfirmation_overdue(&h, today()));
        reconfirm(&mut h, today(), today(), &Rules::default()).unwrap();
        assert!(!reconfirmation_overdue(&h, today()));
        assert!(reconfirmation_overdue(
            &h,
            NaiveDate::from_ymd_opt(2027, 11, 24).unwrap()
        ));
    }

    #[test]
    fn overdue_is_strictly_after_the_due_date_and_only_for_approved_homes() {
        let mut h = approved_home();
        let due = reconfirmation_due(&h).unwrap();
        assert!(!reconfirmation_overdue(&h, due), "due today is not overdue");
        assert!(reconfirmation_overdue(&h, due.succ_opt().unwrap()));
        let later = due + chrono::Days::new(400);
        for s in [HomeStatus::Active, HomeStatus::Paused] {
            h.status = s as i32;
            assert!(reconfirmation_overdue(&h, later), "{s:?}");
        }
        for s in [
            HomeStatus::Applicant,
            HomeStatus::InTraining,
            HomeStatus::UnderAssessment,
            HomeStatus::Ended,
        ] {
            h.status = s as i32;
            assert!(!reconfirmation_overdue(&h, later), "{s:?}");
        }
        h.status = HomeStatus::Approved as i32;
        h.reconfirmation_due_on = None;
        assert!(
            !reconfirmation_overdue(&h, later),
            "no date, nothing overdue"
        );
    }

    #[test]
    fn a_placement_makes_an_approved_home_active_and_nothing_else() {
        let mut h = approved_home();
        activate_on_placement(&mut h);
        assert_eq!(status(&h), HomeStatus::Active);
        for s in [
            HomeStatus::Active,
            HomeStatus::Paused,
            HomeStatus::Applicant,
        ] {
            h.status = s as i32;
            activate_on_placement(&mut h);
            assert_eq!(status(&h), s);
        }
    }

    #[test]
    fn free_capacity_counts_against_the_approved_or_normal_capacity() {
        let r = Rules::default();
        let mut h = approved_home();
        h.placed_count = r.normal_capacity as i32 - 1;
        assert!(has_free_place(&h, &r));
        h.placed_count += 1;
        assert!(!has_free_place(&h, &r));
        h.capacity = r.normal_capacity as i32 + 1;
        assert!(has_free_place(&h, &r));
    }

    #[test]
    fn only_a_willing_consenting_home_can_be_on_jour() {
        let mut h = approved_home();
        let e = set_jour(&mut h, true, "t1").unwrap_err();
        assert!(matches!(e, RegistryError::Precondition(_)));
        assert!(!h.jour_available);
        h.willingness.push(Willingness::Emergency as i32);
        set_jour(&mut h, true, "t2").unwrap();
        assert!(h.jour_available);
        assert_eq!(h.jour_available_updated_at, "t2");
        withdraw_consent(&mut h, today());
        assert!(h.consent_withdrawn && !h.jour_available);
        assert_eq!(h.consent_withdrawn_on, Some(dates::to_proto(today())));
        assert!(set_jour(&mut h, true, "t3").is_err());
        set_jour(&mut h, false, "t4").unwrap();
        assert_eq!(h.jour_available_updated_at, "t4");
    }

    #[test]
    fn reconfirmation_cannot_go_back_in_time_or_into_the_future() {
        let mut h = approved_home();
        let r = Rules::default();
        assert!(
            reconfirm(
                &mut h,
                NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
                today(),
                &r
            )
            .is_err()
        );
        assert!(reconfirm(&mut h, today().succ_opt().unwrap(), today(), &r).is_err());
    }

    #[test]
    fn the_lifecycle_only_moves_along_its_edges() {
        use HomeStatus::*;
        assert!(check_transition(Applicant, InTraining, 0).is_ok());
        assert!(check_transition(Approved, Active, 0).is_ok());
        assert!(check_transition(Ended, Active, 0).is_err());
        assert!(check_transition(Applicant, Active, 0).is_err());
        assert!(check_transition(UnderAssessment, Approved, 0).is_err());
    }

    #[test]
    fn a_home_with_placed_children_cannot_end() {
        assert!(check_transition(HomeStatus::Active, HomeStatus::Ended, 1).is_err());
    }

    #[test]
    fn a_household_keeps_one_carer_and_each_personnummer_once() {
        let mut h = approved_home();
        let carer = validate_member("member", &draft().members[0], today()).unwrap();
        let e = add_member(&mut h, "m2".into(), &carer).unwrap_err();
        assert!(e.to_string().starts_with("member.personnummer:"), "{e}");
        assert_eq!(h.members.len(), 1, "a refusal changes nothing");
        let e = remove_member(&mut h, "m1").unwrap_err();
        assert!(matches!(e, RegistryError::Precondition(_)), "{e:?}");
        assert!(matches!(
            remove_member(&mut h, "nobody"),
            Err(RegistryError::NotFound(_))
        ));
        let second = MemberDraft {
            personnummer: "19800101-0001".into(),
            ..draft().members[0].clone()
        };
        let second = validate_member("member", &second, today()).unwrap();
        add_member(&mut h, "m2".into(), &second).unwrap();
        remove_member(&mut h, "m1").unwrap();
        assert_eq!(h.members.len(), 1);
        assert_eq!(h.members[0].id, "m2");
    }

    #[test]
    fn a_municipality_objects_once_and_withdraws_what_it_recorded() {
        let mut h = approved_home();
        let o = |m: &str| Objection {
            municipality_code: m.into(),
            ..Default::default()
        };
        record_objection(&mut h, o("0180")).unwrap();
        assert!(matches!(
            record_objection(&mut h, o("0180")).map_err(|e| e.reason()),
            Err(samling_kit::error::Reason::AlreadyRecorded)
        ));
        record_objection(&mut h, o("1480")).unwrap();
        withdraw_objection(&mut h, "0180").unwrap();
        assert_eq!(h.objections, vec![o("1480")]);
        assert!(matches!(
            withdraw_objection(&mut h, "0180"),
            Err(RegistryError::NotFound(_))
        ));
    }

    #[test]
    fn a_contact_family_takes_no_placements() {
        let mut h = approved_home();
        h.home_type = HomeType::ContactFamily as i32;
        assert!(check_placeable(&h).is_err());
    }

    #[test]
    fn withdrawn_consent_stops_placements() {
        let mut h = approved_home();
        assert!(check_placeable(&h).is_ok());
        h.consent_withdrawn = true;
        assert!(check_placeable(&h).is_err());
    }

    #[test]
    fn redaction_removes_all_personal_data() {
        let mut h = approved_home();
        redact(&mut h, HomeView::NoPersonalData);
        assert!(h.address.is_none() && h.members.is_empty() && h.personal_data_redacted);
        let s = format!("{:?}", summary(&h));
        assert!(!s.contains("Storgatan") && !s.contains("1212"));
    }

    #[test]
    fn a_protected_homes_location_is_withheld_with_its_address() {
        let mut h = approved_home();
        h.protected_identity = true;
        redact(&mut h, HomeView::AddressWithheld);
        assert!(h.address.is_none() && h.municipality_code.is_empty() && h.county_code.is_empty());
        let mut full = approved_home();
        full.protected_identity = true;
        redact(&mut full, HomeView::Full);
        assert_eq!(full.municipality_code, "0180");
    }

    #[test]
    fn the_same_address_written_differently_has_one_key() {
        let a = Address {
            street: "Storgatan  1".into(),
            postal_code: "111 22".into(),
            city: "x".into(),
        };
        let b = Address {
            street: "storgatan 1".into(),
            postal_code: "11122".into(),
            city: "y".into(),
        };
        assert_eq!(address_key(&a), address_key(&b));
    }
}
