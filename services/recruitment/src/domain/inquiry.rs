//! Inquiries (intresseanmälningar): what a person states, checked field by
//! field; the case an inquiry opens, with its first-response deadline in
//! Swedish working days; the receipt, which echoes nothing personal.
use super::calendar::Deadline;
use super::text::{line, paragraph};
use super::{RecruitmentError, Rules};
use chrono::NaiveDate;
use samling_kit::dates;
use samling_kit::reference::MunicipalityCode;
use samling_proto::recruitment::v1::{
    Applicant, Campaign, Case, CaseStatus, Channel, Consent, ContactPreference, InquiryDraft,
    InquiryReceipt, IntakeRoute, LawfulBasis, Stage, StageEntry, Track,
};
use samling_proto::registry::v1::HomeType;

pub const MAX_NAME: usize = 100;
pub const MAX_MESSAGE: usize = 2000;
pub const MAX_ADULTS: u32 = 10;
pub const MAX_CHILDREN: u32 = 20;

/// What the receipt says will happen; the same for everyone.
pub const NEXT_STEPS: &str = "Tack för din intresseanmälan. En familjehemssekreterare kontaktar \
dig senast det datum som står här och berättar om informationsmöten och grundutbildningen. \
Uppge referensen om du kontaktar oss. Du kan när som helst ta tillbaka din anmälan.";

/// An [`InquiryDraft`] that passed validation, normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidInquiry {
    pub applicant: Applicant,
    pub municipality: MunicipalityCode,
    pub interests: Vec<HomeType>,
    pub adults_in_household: u32,
    pub children_in_household: u32,
}

/// The kinds of assignment a person may state interest in on this route:
/// network homes come from a placement need, mentor families are approved
/// homes already.
fn interest_allowed(t: HomeType, route: IntakeRoute) -> bool {
    match t {
        HomeType::FamilyHome
        | HomeType::ReinforcedFamilyHome
        | HomeType::EmergencyHome
        | HomeType::ContractedEmergencyHome
        | HomeType::ContactFamily => route != IntakeRoute::PlacementNeed,
        HomeType::NetworkHome => route == IntakeRoute::PlacementNeed,
        HomeType::MentorFamily | HomeType::Unspecified => false,
    }
}

/// Checks an inquiry; errors name `prefix.field` (`inquiry.email`, or
/// `applicant.email` on the network track).
pub fn validate(
    prefix: &str,
    d: &InquiryDraft,
    route: IntakeRoute,
) -> Result<ValidInquiry, RecruitmentError> {
    let f = |name: &str| format!("{prefix}.{name}");
    let given_name = line(&f("given_name"), &d.given_name, true, MAX_NAME)?;
    let family_name = line(&f("family_name"), &d.family_name, true, MAX_NAME)?;
    let email = email(&f("email"), &d.email)?;
    let phone = phone(&f("phone"), &d.phone)?;
    if email.is_empty() && phone.is_empty() {
        return Err(RecruitmentError::invalid(
            f("email"),
            "an e-mail address or a phone number is required",
        ));
    }
    let preferred = ContactPreference::try_from(d.preferred_contact)
        .map_err(|_| RecruitmentError::invalid(f("preferred_contact"), "is not a known value"))?;
    let preferred = match preferred {
        ContactPreference::Email if email.is_empty() => {
            return Err(RecruitmentError::invalid(
                f("email"),
                "is required when e-mail is the preferred contact",
            ));
        }
        ContactPreference::Phone if phone.is_empty() => {
            return Err(RecruitmentError::invalid(
                f("phone"),
                "is required when phone is the preferred contact",
            ));
        }
        ContactPreference::Unspecified if email.is_empty() => ContactPreference::Phone,
        ContactPreference::Unspecified => ContactPreference::Email,
        p => p,
    };
    let municipality = MunicipalityCode::parse(d.municipality_code.trim()).map_err(|_| {
        RecruitmentError::invalid(f("municipality_code"), "is not a Swedish municipality code")
    })?;
    let mut interests = Vec::new();
    for &i in &d.interests {
        let t = HomeType::try_from(i)
            .ok()
            .filter(|t| interest_allowed(*t, route))
            .ok_or_else(|| {
                RecruitmentError::invalid(
                    f("interests"),
                    if route == IntakeRoute::PlacementNeed {
                        "must be network home (the track started from a placement need)"
                    } else {
                        "must be family, reinforced family, emergency, contracted emergency home or contact family"
                    },
                )
            })?;
        if !interests.contains(&t) {
            interests.push(t);
        }
    }
    if route == IntakeRoute::PlacementNeed && interests.is_empty() {
        interests.push(HomeType::NetworkHome);
    }
    if d.adults_in_household > MAX_ADULTS {
        return Err(RecruitmentError::invalid(
            f("adults_in_household"),
            format!("must be at most {MAX_ADULTS}"),
        ));
    }
    if d.children_in_household > MAX_CHILDREN {
        return Err(RecruitmentError::invalid(
            f("children_in_household"),
            format!("must be at most {MAX_CHILDREN}"),
        ));
    }
    let language = language(&f("language"), &d.language)?;
    let message = paragraph(&f("message"), &d.message, MAX_MESSAGE)?;
    Ok(ValidInquiry {
        applicant: Applicant {
            given_name,
            family_name,
            email,
            phone,
            preferred_contact: preferred as i32,
            language,
            message,
        },
        municipality,
        interests,
        adults_in_household: d.adults_in_household,
        children_in_household: d.children_in_household,
    })
}

/// An e-mail address (empty = none): one `@`, a dotted domain, no spaces;
/// the domain lower-cased.
pub fn email(field: &str, s: &str) -> Result<String, RecruitmentError> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(String::new());
    }
    let bad = || RecruitmentError::invalid(field, "is not an e-mail address");
    if t.len() > 254 || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = t.split_once('@').ok_or_else(bad)?;
    if local.is_empty() || local.len() > 64 || domain.contains('@') {
        return Err(bad());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if labels.len() < 2
        || !labels.iter().all(label_ok)
        || labels.last().is_some_and(|tld| tld.chars().count() < 2)
    {
        return Err(bad());
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

/// A phone number (empty = none): digits with spaces, hyphens and
/// parentheses, an optional leading `+`; 7–15 digits. Kept as digits (and
/// the `+`).
pub fn phone(field: &str, s: &str) -> Result<String, RecruitmentError> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(String::new());
    }
    let bad = || RecruitmentError::invalid(field, "is not a phone number (7–15 digits)");
    let (plus, rest) = match t.strip_prefix('+') {
        Some(r) => (true, r),
        None => (false, t),
    };
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'))
    {
        return Err(bad());
    }
    let digits: String = rest.chars().filter(|c| c.is_ascii_digit()).collect();
    if !(7..=15).contains(&digits.len()) {
        return Err(bad());
    }
    Ok(if plus { format!("+{digits}") } else { digits })
}

/// A language tag such as `sv`, `ar`, `fa-AF` (empty = Swedish).
fn language(field: &str, s: &str) -> Result<String, RecruitmentError> {
    let t = s.trim();
    if t.is_empty() {
        return Ok("sv".into());
    }
    let ok = (2..=12).contains(&t.len())
        && t.split('-')
            .all(|p| !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_alphanumeric()))
        && t.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if !ok {
        return Err(RecruitmentError::invalid(
            field,
            "is not a language tag (e.g. \"sv\", \"ar\")",
        ));
    }
    Ok(t.to_ascii_lowercase())
}

/// The consent and lawful basis recorded with an inquiry. The public form is
/// always on consent; staff state the basis (consent needs the notice
/// version the person was shown).
pub fn consent(
    basis: i32,
    privacy_notice_version: &str,
    future_contact: bool,
    now_text: &str,
) -> Result<Consent, RecruitmentError> {
    let basis = LawfulBasis::try_from(basis)
        .ok()
        .filter(|b| *b != LawfulBasis::Unspecified)
        .ok_or_else(|| RecruitmentError::invalid("lawful_basis", "is required"))?;
    let version = line("privacy_notice_version", privacy_notice_version, false, 40)?;
    if basis == LawfulBasis::Consent && version.is_empty() {
        return Err(RecruitmentError::invalid(
            "privacy_notice_version",
            "is required when the basis is consent",
        ));
    }
    Ok(Consent {
        basis: basis as i32,
        given: basis == LawfulBasis::Consent,
        given_at: now_text.to_string(),
        privacy_notice_version: version,
        future_contact,
        withdrawn_at: String::new(),
    })
}

/// Everything a new case needs besides the inquiry.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub id: String,
    /// From [`reference_code`].
    pub reference: String,
    pub track: Track,
    pub route: IntakeRoute,
    pub region_id: String,
    pub channel: Channel,
    pub campaign_id: Option<String>,
    pub consent: Consent,
    pub received_on: NaiveDate,
    pub now_text: String,
    /// The officer who entered it (empty for the public form).
    pub owner: String,
    pub placement_need_id: Option<String>,
    pub network_alternative_id: Option<String>,
}

/// The case an inquiry opens: in the inquiry stage, the first response due
/// `first_response_days` working days after it arrived.
pub fn open_case(v: ValidInquiry, n: NewCase, rules: &Rules) -> Case {
    let due = Deadline::working_days_after(n.received_on, rules.first_response_days(n.track));
    Case {
        id: n.id,
        version: 1,
        track: n.track as i32,
        stage: Stage::Inquiry as i32,
        status: CaseStatus::Open as i32,
        reference: n.reference,
        region_id: n.region_id,
        municipality_code: v.municipality.as_str().to_string(),
        intake_route: n.route as i32,
        applicant: Some(v.applicant),
        interests: v.interests.iter().map(|t| *t as i32).collect(),
        adults_in_household: v.adults_in_household,
        children_in_household: v.children_in_household,
        channel: n.channel as i32,
        campaign_id: n.campaign_id.unwrap_or_default(),
        consent: Some(n.consent),
        received_on: Some(dates::to_proto(n.received_on)),
        first_response_due_on: Some(dates::to_proto(due.due_on)),
        owner: n.owner.clone(),
        stages: vec![StageEntry {
            stage: Stage::Inquiry as i32,
            entered_on: Some(dates::to_proto(n.received_on)),
            owner: n.owner,
            due_on: Some(dates::to_proto(due.due_on)),
            ..Default::default()
        }],
        stage_due_on: Some(dates::to_proto(due.due_on)),
        placement_need_id: n.placement_need_id.unwrap_or_default(),
        network_alternative_id: n.network_alternative_id.unwrap_or_default(),
        created_at: n.now_text.clone(),
        updated_at: n.now_text,
        ..Default::default()
    }
}

/// The first contact with the person: once, on or after the inquiry's day
/// and not in the future.
pub fn record_first_response(
    case: &Case,
    on: NaiveDate,
    today: NaiveDate,
) -> Result<Case, RecruitmentError> {
    if case.status() != CaseStatus::Open {
        return Err(RecruitmentError::precondition("the case is closed"));
    }
    if case.first_responded_on.is_some() {
        return Err(RecruitmentError::precondition(
            "the first response is already recorded",
        ));
    }
    let received = dates::opt_from_proto("received_on", case.received_on.as_ref())?;
    if received.is_some_and(|r| on < r) {
        return Err(RecruitmentError::invalid(
            "responded_on",
            "is before the inquiry arrived",
        ));
    }
    if on > today {
        return Err(RecruitmentError::invalid(
            "responded_on",
            "is in the future",
        ));
    }
    let mut c = case.clone();
    c.first_responded_on = Some(dates::to_proto(on));
    c.first_response_overdue = false;
    Ok(c)
}

/// A new campaign, checked: a name, a code of 3–20 upper-case letters and
/// digits (upper-cased here), known channels and municipalities, and an end
/// (if any) not before the start.
pub fn check_campaign(c: &Campaign) -> Result<Campaign, RecruitmentError> {
    let name = line("name", &c.name, true, 200)?;
    let code = super::form::campaign_code(&c.code)
        .ok_or_else(|| RecruitmentError::invalid("code", "must be 3–20 letters A–Z and digits"))?;
    let mut channels = Vec::new();
    for &ch in &c.channels {
        Channel::try_from(ch)
            .ok()
            .filter(|x| *x != Channel::Unspecified)
            .ok_or_else(|| RecruitmentError::invalid("channels", "is not a known channel"))?;
        if !channels.contains(&ch) {
            channels.push(ch);
        }
    }
    let mut municipalities = Vec::new();
    for m in &c.municipality_codes {
        let m = MunicipalityCode::parse(m.trim()).map_err(|_| {
            RecruitmentError::invalid("municipality_codes", "is not a Swedish municipality code")
        })?;
        let m = m.as_str().to_string();
        if !municipalities.contains(&m) {
            municipalities.push(m);
        }
    }
    let starts = dates::from_proto("starts_on", c.starts_on.as_ref())?;
    if dates::opt_from_proto("ends_on", c.ends_on.as_ref())?.is_some_and(|e| e < starts) {
        return Err(RecruitmentError::invalid("ends_on", "is before starts_on"));
    }
    Ok(Campaign {
        name,
        code,
        channels,
        municipality_codes: municipalities,
        ..c.clone()
    })
}

/// Crockford's base-32 alphabet: no I, L, O, U, so a reference read out on
/// the phone is not misheard.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A case's reference from 40 random bits: `FH-XXXX-XXXX`. It identifies a
/// case when quoted, it opens nothing.
pub fn reference_code(random: [u8; 5]) -> String {
    let mut bits: u64 = 0;
    for b in random {
        bits = (bits << 8) | u64::from(b);
    }
    let chars: Vec<char> = (0..8)
        .rev()
        .map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char)
        .collect();
    let s: String = chars.iter().collect();
    format!("FH-{}-{}", &s[..4], &s[4..])
}

/// The answer to the public form: the reference, dates and the same text for
/// everyone; nothing the person entered.
pub fn receipt(case: &Case) -> InquiryReceipt {
    InquiryReceipt {
        reference: case.reference.clone(),
        received_at: case.created_at.clone(),
        first_response_by: case.first_response_due_on,
        next_steps: NEXT_STEPS.to_string(),
        privacy_notice_version: case
            .consent
            .as_ref()
            .map(|c| c.privacy_notice_version.clone())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn draft() -> InquiryDraft {
        InquiryDraft {
            given_name: "Karin".into(),
            family_name: "Lindqvist".into(),
            email: "karin.lindqvist@Example.SE".into(),
            phone: "070-123 45 67".into(),
            municipality_code: "2480".into(),
            interests: vec![HomeType::FamilyHome as i32, HomeType::EmergencyHome as i32],
            adults_in_household: 2,
            children_in_household: 1,
            preferred_contact: ContactPreference::Unspecified as i32,
            language: String::new(),
            message: "Vi har ett extra rum.\nRing gärna på kvällen.".into(),
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    pub fn new_case(received_on: NaiveDate, track: Track) -> NewCase {
        NewCase {
            id: "0190a0b1-2c3d-7e4f-8a9b-0c1d2e3f4a5b".into(),
            reference: reference_code([1, 2, 3, 4, 5]),
            track,
            route: if track == Track::NetworkHome {
                IntakeRoute::PlacementNeed
            } else {
                IntakeRoute::PublicForm
            },
            region_id: "norr".into(),
            channel: Channel::SocialMedia,
            campaign_id: None,
            consent: consent(
                LawfulBasis::Consent as i32,
                "2026-1",
                false,
                "2026-04-01T10:00:00.000000Z",
            )
            .unwrap(),
            received_on,
            now_text: "2026-04-01T10:00:00.000000Z".into(),
            owner: String::new(),
            placement_need_id: None,
            network_alternative_id: None,
        }
    }

    #[test]
    fn a_good_inquiry_is_normalised() {
        let v = validate("inquiry", &draft(), IntakeRoute::PublicForm).unwrap();
        assert_eq!(v.applicant.email, "karin.lindqvist@example.se");
        assert_eq!(v.applicant.phone, "0701234567");
        assert_eq!(
            v.applicant.preferred_contact,
            ContactPreference::Email as i32
        );
        assert_eq!(v.applicant.language, "sv");
        assert_eq!(v.municipality.as_str(), "2480");
        assert_eq!(
            v.interests,
            vec![HomeType::FamilyHome, HomeType::EmergencyHome]
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        type Edit = fn(&mut InquiryDraft);
        let cases: Vec<(Edit, &str)> = vec![
            (|d| d.given_name = " ".into(), "inquiry.given_name"),
            (|d| d.family_name = "x".repeat(101), "inquiry.family_name"),
            (|d| d.email = "karin@".into(), "inquiry.email"),
            (|d| d.email = "karin at example.se".into(), "inquiry.email"),
            (|d| d.email = "a@b".into(), "inquiry.email"),
            (|d| d.phone = "12345".into(), "inquiry.phone"),
            (|d| d.phone = "070-ABC".into(), "inquiry.phone"),
            (
                |d| {
                    d.email.clear();
                    d.phone.clear();
                },
                "inquiry.email",
            ),
            (
                |d| {
                    d.phone.clear();
                    d.preferred_contact = ContactPreference::Phone as i32;
                },
                "inquiry.phone",
            ),
            (|d| d.preferred_contact = 9, "inquiry.preferred_contact"),
            (
                |d| d.municipality_code = "9999".into(),
                "inquiry.municipality_code",
            ),
            (
                |d| d.interests = vec![HomeType::MentorFamily as i32],
                "inquiry.interests",
            ),
            (
                |d| d.interests = vec![HomeType::NetworkHome as i32],
                "inquiry.interests",
            ),
            (|d| d.interests = vec![77], "inquiry.interests"),
            (
                |d| d.adults_in_household = 11,
                "inquiry.adults_in_household",
            ),
            (
                |d| d.children_in_household = 21,
                "inquiry.children_in_household",
            ),
            (
                |d| d.language = "svenska språket".into(),
                "inquiry.language",
            ),
            (|d| d.message = "x".repeat(2001), "inquiry.message"),
            (|d| d.message = "hej\u{202E}".into(), "inquiry.message"),
        ];
        for (edit, field) in cases {
            let mut d = draft();
            edit(&mut d);
            let err = validate("inquiry", &d, IntakeRoute::PublicForm).unwrap_err();
            match &err {
                RecruitmentError::Invalid { field: f, .. } => assert_eq!(f, field, "{err}"),
                other => panic!("{other:?}"),
            }
        }
        // The network track names its own prefix and only takes network homes.
        let mut d = draft();
        d.interests.clear();
        let v = validate("applicant", &d, IntakeRoute::PlacementNeed).unwrap();
        assert_eq!(v.interests, vec![HomeType::NetworkHome]);
        let err = validate("applicant", &draft(), IntakeRoute::PlacementNeed).unwrap_err();
        assert!(err.to_string().starts_with("applicant.interests:"), "{err}");
    }

    #[test]
    fn consent_needs_a_basis_and_for_consent_a_notice() {
        let now = "2026-04-01T10:00:00.000000Z";
        let e = consent(0, "", false, now).unwrap_err();
        assert_eq!(e.to_string(), "lawful_basis: is required");
        let e = consent(LawfulBasis::Consent as i32, " ", false, now).unwrap_err();
        assert!(e.to_string().starts_with("privacy_notice_version:"));
        let c = consent(LawfulBasis::PublicTask as i32, "", true, now).unwrap();
        assert!(!c.given);
        assert!(c.future_contact);
        let c = consent(LawfulBasis::Consent as i32, "2026-1", false, now).unwrap();
        assert!(c.given);
        assert_eq!(c.given_at, now);
    }

    #[test]
    fn the_first_response_is_due_in_working_days_and_overdue_after() {
        let rules = Rules::default();
        let v = validate("inquiry", &draft(), IntakeRoute::PublicForm).unwrap();
        // Wednesday before Easter 2026: due Friday 10 April.
        let case = open_case(v.clone(), new_case(d(2026, 4, 1), Track::Standard), &rules);
        assert_eq!(
            case.first_response_due_on,
            Some(dates::to_proto(d(2026, 4, 10)))
        );
        assert_eq!(case.stage(), Stage::Inquiry);
        assert_eq!(case.stages.len(), 1);
        assert_eq!(case.stages[0].due_on, case.first_response_due_on);
        // The network track's one working day: Thu 2 April.
        let mut v2 = v;
        v2.interests = vec![HomeType::NetworkHome];
        let net = open_case(v2, new_case(d(2026, 4, 1), Track::NetworkHome), &rules);
        assert_eq!(
            net.first_response_due_on,
            Some(dates::to_proto(d(2026, 4, 2)))
        );

        let e = record_first_response(&case, d(2026, 3, 31), d(2026, 4, 2)).unwrap_err();
        assert!(e.to_string().starts_with("responded_on: is before"));
        let e = record_first_response(&case, d(2026, 4, 3), d(2026, 4, 2)).unwrap_err();
        assert_eq!(e.to_string(), "responded_on: is in the future");
        let done = record_first_response(&case, d(2026, 4, 7), d(2026, 4, 7)).unwrap();
        assert_eq!(
            done.first_responded_on,
            Some(dates::to_proto(d(2026, 4, 7)))
        );
        assert!(matches!(
            record_first_response(&done, d(2026, 4, 8), d(2026, 4, 8)),
            Err(RecruitmentError::Precondition(_))
        ));
    }

    #[test]
    fn campaigns_are_checked() {
        let good = Campaign {
            name: "Hösten 2026".into(),
            code: "hosten26".into(),
            channels: vec![Channel::SocialMedia as i32, Channel::SocialMedia as i32],
            municipality_codes: vec!["2480".into()],
            starts_on: Some(dates::to_proto(d(2026, 9, 1))),
            ..Default::default()
        };
        let c = check_campaign(&good).unwrap();
        assert_eq!(c.code, "HOSTEN26");
        assert_eq!(c.channels.len(), 1);
        let field = |edit: fn(&mut Campaign)| {
            let mut c = good.clone();
            edit(&mut c);
            // Kit's date errors name the field the same way.
            use samling_kit::error::ServiceError;
            let e = check_campaign(&c).unwrap_err();
            e.field()
                .map(str::to_string)
                .unwrap_or_else(|| panic!("{e:?}"))
        };
        assert_eq!(field(|c| c.name.clear()), "name");
        assert_eq!(field(|c| c.code = "H-26".into()), "code");
        assert_eq!(field(|c| c.code = "AB".into()), "code");
        assert_eq!(field(|c| c.channels = vec![0]), "channels");
        assert_eq!(
            field(|c| c.municipality_codes = vec!["12".into()]),
            "municipality_codes"
        );
        assert_eq!(field(|c| c.starts_on = None), "starts_on");
        assert_eq!(
            field(|c| c.ends_on = Some(dates::to_proto(d(2026, 8, 1)))),
            "ends_on"
        );
    }

    #[test]
    fn references_read_well_and_differ() {
        let a = reference_code([0, 0, 0, 0, 0]);
        assert_eq!(a, "FH-0000-0000");
        let b = reference_code([255; 5]);
        assert_eq!(b, "FH-ZZZZ-ZZZZ");
        let c = reference_code([1, 2, 3, 4, 5]);
        assert_ne!(c, a);
        assert!(c.chars().all(|ch| !"ILOU".contains(ch)));
        assert_eq!(c.len(), 12);
    }

    #[test]
    fn the_receipt_echoes_nothing_personal() {
        let rules = Rules::default();
        let v = validate("inquiry", &draft(), IntakeRoute::PublicForm).unwrap();
        let case = open_case(v, new_case(d(2026, 4, 1), Track::Standard), &rules);
        let r = receipt(&case);
        assert_eq!(r.reference, case.reference);
        assert_eq!(r.first_response_by, Some(dates::to_proto(d(2026, 4, 10))));
        let shown = format!("{r:?}").to_lowercase();
        for personal in [
            "karin",
            "lindqvist",
            "example.se",
            "0701234567",
            "123 45 67",
            "extra rum",
            "2480",
        ] {
            assert!(!shown.contains(personal), "{personal} in {shown}");
        }
    }
}
