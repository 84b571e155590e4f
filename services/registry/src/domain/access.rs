//! Who may do what in the register (DESIGN.md §4), checked again here after
//! the gateway (defence in depth). Each function answers one question about
//! one caller; the gRPC layer calls exactly one per operation.

use super::RegistryError;
use super::home::HomeView;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::error::Reason;
use samling_kit::reference::MunicipalityCode;

fn deny(what: &str) -> RegistryError {
    RegistryError::forbidden(format!("your role may not {what}"))
}

/// A refusal where the caller's role may act for its own municipality
/// only: `NOT_OWN_MUNICIPALITY` for a municipal caller (it named another),
/// `FORBIDDEN_ROLE` for any other role.
fn deny_for_municipality(ctx: &AuthContext, what: &str) -> RegistryError {
    if ctx.role.is_municipal() {
        RegistryError::refused(
            Reason::NotOwnMunicipality,
            format!("your role may not {what}: a municipality acts only for itself"),
        )
    } else {
        deny(what)
    }
}

fn is_office(ctx: &AuthContext) -> bool {
    matches!(ctx.role, Role::RegionalOfficer | Role::Service)
}

fn own_municipality(ctx: &AuthContext, code: &str) -> bool {
    ctx.role.is_municipal()
        && ctx
            .municipality
            .as_ref()
            .is_some_and(|m: &MunicipalityCode| m.as_str() == code)
}

/// Keeping the register: create and edit homes, agencies and units, import,
/// resolve duplicates, answer homes' requests. The regional office's work.
pub fn manage_register(ctx: &AuthContext) -> Result<(), RegistryError> {
    if is_office(ctx) {
        Ok(())
    } else {
        Err(deny("keep the register"))
    }
}

/// The calls between the regions' registers (ADR 0021: reserve and release
/// a place in a home, match keyed identities): another region's register,
/// i.e. the `service` role with a region in its signed context, other than
/// this register's. Everyone else — a municipality, the regional office, a
/// service without a region — is refused: the home's capacity is changed
/// by placements, never directly. Returns the calling region.
pub fn peer_register<'a>(
    ctx: &'a AuthContext,
    register: Option<&str>,
) -> Result<&'a str, RegistryError> {
    if ctx.role != Role::Service {
        return Err(deny("call between the regions' registers"));
    }
    match (ctx.region.as_deref().filter(|r| !r.is_empty()), register) {
        (None, _) => Err(RegistryError::refused(
            Reason::OutOfRegion,
            "region: a register's token must name its region",
        )),
        (Some(r), Some(own)) if r == own => Err(RegistryError::refused(
            Reason::OutOfRegion,
            "region: a register does not call itself",
        )),
        (Some(r), _) => Ok(r),
    }
}

/// A `regional_officer` works in its own region's register only; a token
/// naming another (or no known) region, or none, is refused before anything
/// is read, so the refusal says nothing about the records. `register` is
/// `None` for a register that serves every municipality (tests, a
/// single-region install); an officer still has to name a region there.
/// National roles (analyst, council, service) stay national.
pub fn bound_to_register(ctx: &AuthContext, register: Option<&str>) -> Result<(), RegistryError> {
    match (ctx.role, register, ctx.region.as_deref()) {
        (Role::RegionalOfficer, _, None) => Err(RegistryError::refused(
            Reason::OutOfRegion,
            "region: a regional_officer's token must name its region",
        )),
        (Role::RegionalOfficer, Some(reg), Some(claim)) if claim != reg => {
            Err(RegistryError::refused(
                Reason::OutOfRegion,
                format!("your token is for region {claim}; this is the register of region {reg}"),
            ))
        }
        _ => Ok(()),
    }
}

/// The answer for a record the caller may not know exists: the same as for
/// a missing one (no existence oracle between 403 and 404).
pub fn not_found(what: &str, id: &str) -> RegistryError {
    RegistryError::NotFound(format!("{what} {id}"))
}

/// What a municipality has to do with a home.
#[derive(Debug, Clone, Default)]
pub struct Involvement {
    /// Municipalities with an active placement in the home.
    pub active_placing: Vec<String>,
    /// Municipalities that ever placed a child in the home.
    pub ever_placing: Vec<String>,
    /// Of those, the ones with a placement not made by the caller who
    /// registered the child: only these count for a protected home.
    pub vouched_placing: Vec<String>,
}

/// How much of a home the caller sees. Personal data only once a placement
/// or an approval makes it the municipality's business. A protected home's
/// address and location only for the office and the home itself: no
/// placement or approval a municipality can make unlocks it (a caseworker
/// could otherwise register a child and place it there to read the address);
/// disclosure to a placing municipality is the office's explicit act.
pub fn home_view(
    ctx: &AuthContext,
    home: &samling_proto::registry::v1::Home,
    inv: &Involvement,
) -> Result<HomeView, RegistryError> {
    if ctx.role == Role::FamilyHome && ctx.is_party(&home.id) {
        return Ok(HomeView::Full);
    }
    if is_office(ctx) {
        return Ok(HomeView::Office);
    }
    match ctx.role {
        Role::MunicipalityCaseworker | Role::MunicipalityManager => {
            let m = ctx.municipality.as_ref().map(|m| m.as_str()).unwrap_or("");
            // A protected home's household is the business of a municipality
            // that approved it or placed a child there, but not through a
            // placement its registrar made of a child they registered.
            let placed = if home.protected_identity {
                &inv.vouched_placing
            } else {
                &inv.ever_placing
            };
            let involved = inv
                .active_placing
                .iter()
                .any(|c| c == m && !home.protected_identity)
                || placed.iter().any(|c| c == m)
                || home.approvals.iter().any(|a| a.municipality_code == m);
            Ok(match (involved, home.protected_identity) {
                (false, _) => HomeView::NoPersonalData,
                (true, true) => HomeView::AddressWithheld,
                (true, false) => HomeView::Full,
            })
        }
        // IVO reads the register entry without the household (ADR 0029).
        Role::Ombud | Role::Ivo => Ok(HomeView::NoPersonalData),
        _ => Err(deny("read a home's register entry")),
    }
}

/// Reveal a protected home's address (ADR 0017): the regional office's
/// explicit step, with a stated reason, audited. Not a placing municipality,
/// not even with an active placement there: a caseworker can register a
/// child and place it (finding 2), so a municipality that needs the address
/// asks the office, which reveals it under its own name and reason. The
/// home sees its own address in every read.
pub fn reveal_protected_address(ctx: &AuthContext) -> Result<(), RegistryError> {
    if is_office(ctx) {
        Ok(())
    } else {
        Err(deny("reveal a protected home's address"))
    }
}

/// The reason stated for revealing a protected address: required, one line,
/// short enough for the audit log.
pub fn reveal_reason(reason: &str) -> Result<&str, RegistryError> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(RegistryError::invalid("reason", "is required"));
    }
    if r.chars().count() > 500 {
        return Err(RegistryError::invalid(
            "reason",
            "is longer than 500 characters",
        ));
    }
    if r.chars().any(char::is_control) {
        return Err(RegistryError::invalid(
            "reason",
            "must not contain control characters",
        ));
    }
    Ok(r)
}

/// The office assigns a municipality to investigate a home (the documented
/// link [`approval_link`] accepts besides the home's own municipality).
pub fn assign_investigation(ctx: &AuthContext) -> Result<(), RegistryError> {
    if is_office(ctx) {
        Ok(())
    } else {
        Err(deny("assign a municipality to investigate a home"))
    }
}

/// A nämnd decision is recorded by the office or a municipality's manager
/// for their own municipality (the role half; see [`approval_link`]).
pub fn record_approval(ctx: &AuthContext, municipality: &str) -> Result<(), RegistryError> {
    if is_office(ctx)
        || (ctx.role == Role::MunicipalityManager && own_municipality(ctx, municipality))
    {
        Ok(())
    } else {
        Err(if ctx.role == Role::MunicipalityManager {
            deny_for_municipality(ctx, "record an approval for this municipality")
        } else {
            deny("record an approval for this municipality")
        })
    }
}

/// A municipality records an approval only with a documented link to the
/// home: it is the home's municipality (which investigates the home today),
/// the office assigned it to investigate the home, or its nämnd already
/// approved the home (a renewed decision). Other municipalities' decisions
/// are recorded by the office, which checks them.
pub fn approval_link(
    ctx: &AuthContext,
    home: &samling_proto::registry::v1::Home,
    municipality: &str,
) -> Result<(), RegistryError> {
    if is_office(ctx)
        || home.municipality_code == municipality
        || home
            .investigations
            .iter()
            .any(|i| i.municipality_code == municipality)
        || home
            .approvals
            .iter()
            .any(|a| a.municipality_code == municipality)
    {
        Ok(())
    } else {
        Err(RegistryError::refused(
            Reason::NoDocumentedLink,
            "your municipality has no documented link to this home (its assessment or the \
             office's assignment); the regional office records this decision",
        ))
    }
}

/// Does this caller's approval restart the annual re-confirmation? Only the
/// office's: re-confirmation is its act (a municipal decision starts the
/// clock only when none runs yet).
pub fn approval_restarts_reconfirmation(ctx: &AuthContext) -> bool {
    is_office(ctx)
}

/// The home's own actions: live jour availability, consent, requests.
pub fn act_for_home(ctx: &AuthContext, home_id: &str) -> Result<(), RegistryError> {
    if is_office(ctx) || (ctx.role == Role::FamilyHome && ctx.is_party(home_id)) {
        Ok(())
    } else {
        Err(deny("act for this home"))
    }
}

/// Lift a restriction: the office, or a manager of the nämnd that decided it.
pub fn lift_restriction(ctx: &AuthContext, deciding: &str) -> Result<(), RegistryError> {
    if is_office(ctx) || (ctx.role == Role::MunicipalityManager && own_municipality(ctx, deciding))
    {
        Ok(())
    } else {
        Err(deny_for_municipality(ctx, "lift another nämnd's decision"))
    }
}

/// Whose notices a caller reads (ADR 0026).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeScope {
    /// The home itself, the office, the national reviewer: every notice.
    All,
    /// A municipality: the notices its own nämnd's decisions sent.
    Municipality(String),
}

/// A home's notices: the home itself, the office, the national reviewer
/// (appeals), and a municipality for its own decisions only.
pub fn read_notices(ctx: &AuthContext, home_id: &str) -> Result<NoticeScope, RegistryError> {
    if is_office(ctx)
        || ctx.role == Role::NationalReviewer
        || (ctx.role == Role::FamilyHome && ctx.is_party(home_id))
    {
        return Ok(NoticeScope::All);
    }
    match (ctx.role.is_municipal(), ctx.municipality.as_ref()) {
        (true, Some(m)) => Ok(NoticeScope::Municipality(m.as_str().to_string())),
        _ => Err(deny("read this home's notices")),
    }
}

/// Who decides a home's request: appeals and second opinions the national
/// reviewer only — never the office that keeps the register and made the
/// decision appealed; responses and corrections the office.
pub fn decide_home_request(
    ctx: &AuthContext,
    kind: samling_proto::registry::v1::HomeRequestKind,
) -> Result<(), RegistryError> {
    use samling_proto::registry::v1::HomeRequestKind as K;
    match kind {
        K::Appeal | K::SecondOpinion => {
            if ctx.role == Role::NationalReviewer {
                Ok(())
            } else {
                Err(deny(
                    "decide an appeal or second opinion: the national reviewer decides them, \
                     independent of the office that keeps the register",
                ))
            }
        }
        _ => manage_register(ctx),
    }
}

/// Overdue requests: the office and the national reviewer (who they
/// escalate to).
pub fn overdue_requests(ctx: &AuthContext) -> Result<(), RegistryError> {
    if is_office(ctx) || ctx.role == Role::NationalReviewer {
        Ok(())
    } else {
        Err(deny("list overdue home requests"))
    }
}

/// Training, the investigation and follow-up visits are recorded by the
/// office, or by municipal staff for their own municipality (the role
/// half; the home's link is [`approval_link`] or a placement there).
pub fn record_evidence(ctx: &AuthContext, municipality: &str) -> Result<(), RegistryError> {
    if is_office(ctx) || own_municipality(ctx, municipality) {
        Ok(())
    } else {
        Err(deny_for_municipality(
            ctx,
            "record evidence about a home for this municipality",
        ))
    }
}

/// Who visits a home: IVO (its inspection), the office, or municipal staff
/// for their own municipality (a follow-up visit). IVO and the office name
/// no municipality.
pub fn record_home_visit(
    ctx: &AuthContext,
    municipality: &str,
) -> Result<samling_proto::registry::v1::Visitor, RegistryError> {
    use samling_proto::registry::v1::Visitor;
    let visitor = match ctx.role {
        Role::Ivo => Visitor::Ivo,
        Role::RegionalOfficer | Role::Service => Visitor::RegionalOffice,
        _ => {
            record_evidence(ctx, municipality)?;
            return Ok(Visitor::Municipality);
        }
    };
    if !municipality.is_empty() {
        return Err(RegistryError::invalid(
            "municipality_code",
            "is a municipality's visit only: leave it empty",
        ));
    }
    Ok(visitor)
}

/// The homes above the IVO limit (the report to IVO): IVO and the office.
pub fn ivo_reports(ctx: &AuthContext) -> Result<(), RegistryError> {
    if is_office(ctx) || ctx.role == Role::Ivo {
        Ok(())
    } else {
        Err(deny("read the reports to IVO"))
    }
}

/// Inspections of units and agencies: IVO and the office (which records
/// what IVO sent it).
pub fn record_inspection(ctx: &AuthContext) -> Result<(), RegistryError> {
    if is_office(ctx) || ctx.role == Role::Ivo {
        Ok(())
    } else {
        Err(deny("record an inspection"))
    }
}

/// Objections are made by municipal staff for their own municipality.
pub fn object(ctx: &AuthContext, municipality: &str) -> Result<(), RegistryError> {
    if is_office(ctx) || own_municipality(ctx, municipality) {
        Ok(())
    } else {
        Err(deny_for_municipality(ctx, "object for this municipality"))
    }
}

/// Is `ctx` the child's assigned ombud? `assigned` is the subject of the
/// ombud the ombud service assigned to the child (its feed's latest
/// `ombud.child_assigned`), if any.
pub fn is_assigned_ombud(ctx: &AuthContext, assigned: Option<&str>) -> bool {
    ctx.role == Role::Ombud && !ctx.sub.is_empty() && assigned == Some(ctx.sub.as_str())
}

/// Children: the placing municipality's staff, the office and the child
/// itself (own record), who all must know the child whether protected or
/// not, and the child's assigned ombud (`assigned`: see
/// [`is_assigned_ombud`]). Everyone else gets "not found", as for a child
/// that does not exist.
pub fn read_child(
    ctx: &AuthContext,
    child_id: &str,
    placing: &str,
    assigned: Option<&str>,
) -> Result<(), RegistryError> {
    if is_office(ctx)
        || own_municipality(ctx, placing)
        || (ctx.role == Role::Child && ctx.is_party(child_id))
        || is_assigned_ombud(ctx, assigned)
    {
        Ok(())
    } else if ctx.role.aggregates_only() {
        Err(deny("read a child's record"))
    } else {
        Err(not_found("child", child_id))
    }
}

/// Register or change a child of a municipality; place a child.
pub fn write_child(ctx: &AuthContext, placing: &str) -> Result<(), RegistryError> {
    if is_office(ctx) || own_municipality(ctx, placing) {
        Ok(())
    } else {
        Err(deny_for_municipality(
            ctx,
            "change children of this municipality",
        ))
    }
}

/// A change to an existing child or placement of another municipality is
/// answered as if the record did not exist.
pub fn write_existing_child(
    ctx: &AuthContext,
    what: &str,
    id: &str,
    placing: &str,
) -> Result<(), RegistryError> {
    write_child(ctx, placing).map_err(|_| not_found(what, id))
}

/// Placements are visible to the placing and the receiving municipality, the
/// office, the home the child lives in and the child; ombud as for children
/// (the child's assigned ombud). Others get "not found".
pub fn read_placement(
    ctx: &AuthContext,
    p: &samling_proto::registry::v1::Placement,
    home_protected: bool,
    assigned: Option<&str>,
) -> Result<(), RegistryError> {
    // The receiving municipality would learn that a protected home lies in it.
    let ok = is_office(ctx)
        || own_municipality(ctx, &p.placing_municipality_code)
        || (!home_protected && own_municipality(ctx, &p.receiving_municipality_code))
        || (ctx.role == Role::FamilyHome && !p.home_id.is_empty() && ctx.is_party(&p.home_id))
        || (ctx.role == Role::Child && ctx.is_party(&p.child_id))
        || is_assigned_ombud(ctx, assigned);
    if ok {
        Ok(())
    } else if ctx.role.aggregates_only() {
        Err(deny("read placements"))
    } else {
        Err(not_found("placement", &p.id))
    }
}

/// What of a placement the caller sees: where a protected child lives, and
/// where a protected home is, only for those who must know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlacementView {
    /// Show the home or unit the child lives in.
    pub show_home: bool,
    /// Show the receiving municipality.
    pub show_receiving: bool,
}

pub fn placement_view(
    ctx: &AuthContext,
    p: &samling_proto::registry::v1::Placement,
    child_protected: bool,
    home_protected: bool,
) -> PlacementView {
    let office = is_office(ctx);
    let the_home =
        ctx.role == Role::FamilyHome && !p.home_id.is_empty() && ctx.is_party(&p.home_id);
    let placing = own_municipality(ctx, &p.placing_municipality_code);
    // A protected child's home is known to the office, the placing
    // municipality and the home itself; a protected home's municipality
    // only to the office and the home.
    let show_home = !child_protected || office || placing || the_home;
    let show_receiving = show_home && (!home_protected || office || the_home);
    PlacementView {
        show_home,
        show_receiving,
    }
}

/// Which placements a caller's lists may hold (before [`read_placement`]
/// checks each): the store turns this into its filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacementScope {
    /// The office and services: every placement.
    All,
    /// Nobody's placements.
    Nothing,
    /// An ombud: the placements of the children assigned to them.
    Children(Vec<String>),
    /// A municipality: the placements it made or that are in it.
    Municipality(String),
    /// A family home: the placements in it.
    Home(String),
    /// A child: its own placements.
    Child(String),
}

impl PlacementScope {
    /// Is `p` within the scope?
    pub fn holds(&self, p: &samling_proto::registry::v1::Placement) -> bool {
        match self {
            PlacementScope::All => true,
            PlacementScope::Nothing => false,
            PlacementScope::Municipality(m) => {
                &p.placing_municipality_code == m || &p.receiving_municipality_code == m
            }
            PlacementScope::Home(h) => &p.home_id == h,
            PlacementScope::Child(c) => &p.child_id == c,
            PlacementScope::Children(cs) => cs.contains(&p.child_id),
        }
    }
}

/// The placements `ctx` may list; `assigned` holds the children assigned
/// to `ctx` when it is an ombud (the service looks them up only then).
pub fn placement_scope(
    ctx: &AuthContext,
    assigned: Vec<String>,
) -> Result<PlacementScope, RegistryError> {
    let own = |v: Option<String>| v.unwrap_or_default();
    Ok(match ctx.role {
        Role::RegionalOfficer | Role::Service => PlacementScope::All,
        Role::Ombud if assigned.is_empty() => PlacementScope::Nothing,
        Role::Ombud => PlacementScope::Children(assigned),
        Role::MunicipalityCaseworker | Role::MunicipalityManager => {
            PlacementScope::Municipality(own(ctx
                .municipality
                .as_ref()
                .map(|m| m.as_str().to_string())))
        }
        Role::FamilyHome => PlacementScope::Home(own(ctx.party.clone())),
        Role::Child => PlacementScope::Child(own(ctx.party.clone())),
        _ => return Err(deny("list placements")),
    })
}

/// Listing scope for children/placements/decisions: `Some(code)` restricts a
/// municipal caller to their municipality; the office sees all. Ombud pass
/// here and list only their assigned children (see [`lists_assigned_only`]).
pub fn municipal_scope(
    ctx: &AuthContext,
    requested: &str,
) -> Result<Option<String>, RegistryError> {
    if is_office(ctx) || ctx.role == Role::Ombud {
        return Ok((!requested.is_empty()).then(|| requested.to_string()));
    }
    if ctx.role.is_municipal() {
        let own = ctx
            .municipality
            .as_ref()
            .map(|m| m.as_str().to_string())
            .unwrap_or_default();
        if !requested.is_empty() && requested != own {
            return Err(deny_for_municipality(
                ctx,
                "list another municipality's records",
            ));
        }
        return Ok(Some(own));
    }
    Err(deny("list these records"))
}

/// Ombud list only the children the ombud service assigned to them (and
/// no unexecuted decisions: a child gets an ombud when placed).
pub fn lists_assigned_only(ctx: &AuthContext) -> bool {
    ctx.role == Role::Ombud
}

/// Unexecuted decisions: the municipality reports its own; the office sees all.
pub fn decisions(ctx: &AuthContext, municipality: &str) -> Result<(), RegistryError> {
    if is_office(ctx) || own_municipality(ctx, municipality) {
        Ok(())
    } else {
        Err(deny_for_municipality(
            ctx,
            "handle this municipality's decisions",
        ))
    }
}

/// A decision of another municipality is answered as a missing one.
pub fn existing_decision(
    ctx: &AuthContext,
    id: &str,
    municipality: &str,
) -> Result<(), RegistryError> {
    decisions(ctx, municipality).map_err(|_| not_found("decision", id))
}

/// The quarterly report is aggregate: analysts and the council may read it too.
pub fn quarterly_report(ctx: &AuthContext, municipality: &str) -> Result<(), RegistryError> {
    // The aggregate roles get a region's figures and the nation's, never one
    // municipality's: a third table to difference would give small counts
    // away (the national sum hides what a region hides, ADR 0017).
    if ctx.role.aggregates_only() && !municipality.is_empty() {
        return Err(deny(
            "read one municipality's report; your role sees regional and national figures",
        ));
    }
    if ctx.role.aggregates_only()
        || is_office(ctx)
        || (!municipality.is_empty() && own_municipality(ctx, municipality))
    {
        Ok(())
    } else {
        Err(deny("read this report"))
    }
}

/// Small counts in a report are suppressed for the aggregate-only roles.
pub fn suppress_small_counts(ctx: &AuthContext) -> bool {
    ctx.role.aggregates_only()
}

/// Homes in a search: summaries for those who place children and keep the
/// register; the aggregate-only roles get no individual homes.
pub fn search_homes(ctx: &AuthContext) -> Result<(), RegistryError> {
    match ctx.role {
        Role::Child | Role::FamilyHome | Role::Ombud => Err(deny("search homes")),
        r if r.aggregates_only() => Err(deny(
            "search individual homes; your role sees aggregates only",
        )),
        _ => Ok(()),
    }
}

/// The household's register-check status in a home's summary: the office
/// and municipal staff (who place children and answer for the check), not
/// others (ADR 0031).
pub fn see_record_check_status(ctx: &AuthContext) -> bool {
    is_office(ctx) || ctx.role.is_municipal()
}

/// Overdue homes for a municipal caller: those its children are placed in,
/// its own municipality only (ADR 0031). Everyone else but the office is refused.
pub fn overdue_homes_used_by(ctx: &AuthContext, requested: &str) -> Result<String, RegistryError> {
    match (ctx.role.is_municipal(), ctx.municipality.as_ref()) {
        (true, Some(m)) if requested.is_empty() || requested == m.as_str() => {
            Ok(m.as_str().to_string())
        }
        (true, _) => Err(deny_for_municipality(
            ctx,
            "list another municipality's overdue homes",
        )),
        _ => Err(deny("list overdue homes")),
    }
}

/// A unit's vacancies (issue 24 §8): the office, or the unit's own staff
/// (`unit_staff` whose party is the unit). Another unit's staff, and every
/// other role, is refused. Checked before anything is read or replayed.
pub fn report_vacancies(ctx: &AuthContext, unit_id: &str) -> Result<(), RegistryError> {
    if is_office(ctx) || (ctx.role == Role::UnitStaff && ctx.is_party(unit_id)) {
        Ok(())
    } else if ctx.role == Role::UnitStaff {
        Err(RegistryError::refused(
            Reason::NotOwnRecord,
            "unit_id: a unit reports its own vacancies only",
        ))
    } else {
        Err(deny("report a unit's vacancies"))
    }
}

/// Socialjouren's lookup of a child who ran away (issue 24 §8): the office
/// and municipal staff of any municipality — socialjouren acts where the
/// child is found, which is seldom the placing municipality. The police is
/// no role in Samling: it calls socialjouren. Every other role is refused.
pub fn locate_child(ctx: &AuthContext) -> Result<(), RegistryError> {
    if is_office(ctx) || (ctx.role.is_municipal() && ctx.municipality.is_some()) {
        Ok(())
    } else {
        Err(deny("look up where a child is placed"))
    }
}

/// What a lookup shows of a found child's placement: a protected child's
/// home or unit only to the office and the placing municipality (as
/// [`placement_view`]); a protected home's municipality only to the office.
pub fn locate_view(
    ctx: &AuthContext,
    placing: &str,
    child_protected: bool,
    home_protected: bool,
) -> PlacementView {
    let office = is_office(ctx);
    let show_home = !child_protected || office || own_municipality(ctx, placing);
    PlacementView {
        show_home,
        show_receiving: show_home && (!home_protected || office),
    }
}

/// Agencies and units are public-sector facts; reading them needs no personal-data right.
pub fn read_providers(ctx: &AuthContext) -> Result<(), RegistryError> {
    match ctx.role {
        Role::Child => Err(deny("read providers")),
        _ => Ok(()),
    }
}

/// Audit entries: the office and services.
pub fn read_audit(ctx: &AuthContext) -> Result<(), RegistryError> {
    if is_office(ctx) {
        Ok(())
    } else {
        Err(deny("read the audit log"))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn only_another_regions_register_calls_between_registers() {
        use samling_kit::auth::{AuthContext, Role};
        let peer = AuthContext::new("registry-norr", Role::Service).with_region("norr");
        assert_eq!(
            peer_register(&peer, Some("stockholm-gotland")).unwrap(),
            "norr"
        );
        assert_eq!(peer_register(&peer, None).unwrap(), "norr");
        for (ctx, register) in [
            (peer.clone(), Some("norr")),
            (AuthContext::new("svc", Role::Service), Some("norr")),
            (
                AuthContext::new("o", Role::RegionalOfficer).with_region("norr"),
                Some("norr"),
            ),
            (
                AuthContext::new("cw", Role::MunicipalityCaseworker).with_region("syd"),
                Some("norr"),
            ),
        ] {
            assert!(
                peer_register(&ctx, register).is_err(),
                "{ctx:?} at {register:?}"
            );
        }
    }

    use super::*;
    use samling_proto::registry::v1::{Approval, Home};

    fn ctx(role: Role, m: &str) -> AuthContext {
        let c = AuthContext::new("u", role);
        if m.is_empty() {
            c
        } else {
            c.with_municipality(MunicipalityCode::parse(m).unwrap())
        }
    }

    #[test]
    fn a_caller_lists_only_the_placements_it_may_read() {
        use samling_proto::registry::v1::Placement;
        let p = Placement {
            child_id: "c".into(),
            home_id: "h".into(),
            placing_municipality_code: "0180".into(),
            receiving_municipality_code: "1480".into(),
            ..Default::default()
        };
        let scope = |c: AuthContext| placement_scope(&c, Vec::new()).unwrap();
        assert!(scope(ctx(Role::RegionalOfficer, "")).holds(&p));
        assert!(!scope(ctx(Role::Ombud, "")).holds(&p));
        for m in ["0180", "1480"] {
            assert!(scope(ctx(Role::MunicipalityCaseworker, m)).holds(&p), "{m}");
        }
        assert!(!scope(ctx(Role::MunicipalityManager, "0114")).holds(&p));
        let party = |role, id: &str| ctx(role, "").with_party(id);
        assert!(scope(party(Role::FamilyHome, "h")).holds(&p));
        assert!(!scope(party(Role::FamilyHome, "other")).holds(&p));
        assert!(scope(party(Role::Child, "c")).holds(&p));
        assert!(!scope(party(Role::Child, "h")).holds(&p));
        // Every placement the scope holds is one the caller may read.
        for c in [
            ctx(Role::MunicipalityCaseworker, "0180"),
            party(Role::FamilyHome, "h"),
            party(Role::Child, "c"),
        ] {
            assert!(read_placement(&c, &p, false, None).is_ok(), "{:?}", c.role);
        }
        for role in [Role::NationalAnalyst, Role::CouncilMember] {
            assert!(matches!(
                placement_scope(&ctx(role, ""), Vec::new()),
                Err(RegistryError::Forbidden(_))
            ));
        }
    }

    #[test]
    fn each_refusal_says_why_in_its_reason() {
        use samling_kit::error::ServiceError;
        fn reason<T: std::fmt::Debug>(r: Result<T, RegistryError>) -> Reason {
            r.unwrap_err().reason()
        }
        let stockholm = ctx(Role::MunicipalityCaseworker, "0180");
        let manager = ctx(Role::MunicipalityManager, "0180");
        let analyst = ctx(Role::NationalAnalyst, "");
        // Another municipality's business: a municipal caller named it.
        assert_eq!(
            reason(write_child(&stockholm, "1480")),
            Reason::NotOwnMunicipality
        );
        assert_eq!(
            reason(object(&stockholm, "1480")),
            Reason::NotOwnMunicipality
        );
        assert_eq!(
            reason(decisions(&stockholm, "1480")),
            Reason::NotOwnMunicipality
        );
        assert_eq!(
            reason(municipal_scope(&stockholm, "1480")),
            Reason::NotOwnMunicipality
        );
        assert_eq!(
            reason(record_approval(&manager, "1480")),
            Reason::NotOwnMunicipality
        );
        // The role itself may not.
        assert_eq!(
            reason(record_approval(&stockholm, "0180")),
            Reason::ForbiddenRole
        );
        assert_eq!(reason(write_child(&analyst, "0180")), Reason::ForbiddenRole);
        assert_eq!(reason(manage_register(&stockholm)), Reason::ForbiddenRole);
        // The register of another region, or none named.
        let mut officer = ctx(Role::RegionalOfficer, "");
        assert_eq!(
            reason(bound_to_register(&officer, Some("norr"))),
            Reason::OutOfRegion
        );
        officer.region = Some("stockholm-gotland".into());
        assert_eq!(
            reason(bound_to_register(&officer, Some("norr"))),
            Reason::OutOfRegion
        );
        assert!(bound_to_register(&officer, Some("stockholm-gotland")).is_ok());
        // No link to the home; a record the caller may not know of.
        let home = Home::default();
        assert_eq!(
            reason(approval_link(&manager, &home, "0180")),
            Reason::NoDocumentedLink
        );
        assert_eq!(
            reason(read_child(&stockholm, "c", "1480", None)),
            Reason::NotFound
        );
    }

    #[test]
    fn a_municipality_sees_home_personal_data_only_when_involved() {
        let home = Home {
            id: "h".into(),
            ..Default::default()
        };
        let c = ctx(Role::MunicipalityCaseworker, "0180");
        assert_eq!(
            home_view(&c, &home, &Involvement::default()).unwrap(),
            HomeView::NoPersonalData
        );
        let inv = Involvement {
            active_placing: vec!["0180".into()],
            ever_placing: vec!["0180".into()],
            vouched_placing: vec!["0180".into()],
        };
        assert_eq!(home_view(&c, &home, &inv).unwrap(), HomeView::Full);
        let approved = Home {
            approvals: vec![Approval {
                municipality_code: "0180".into(),
                ..Default::default()
            }],
            ..home.clone()
        };
        assert_eq!(
            home_view(&c, &approved, &Involvement::default()).unwrap(),
            HomeView::Full
        );
    }

    #[test]
    fn a_protected_home_address_needs_an_active_placement() {
        let home = Home {
            id: "h".into(),
            protected_identity: true,
            ..Default::default()
        };
        let c = ctx(Role::MunicipalityManager, "0180");
        let past = Involvement {
            active_placing: vec![],
            ever_placing: vec!["0180".into()],
            vouched_placing: vec!["0180".into()],
        };
        assert_eq!(
            home_view(&c, &home, &past).unwrap(),
            HomeView::AddressWithheld
        );
        // The office's ordinary read withholds the address too (ADR 0017):
        // it takes the explicit reveal, which only the office may make.
        let office = ctx(Role::RegionalOfficer, "");
        assert_eq!(home_view(&office, &home, &past).unwrap(), HomeView::Office);
        let own = AuthContext::new("u", Role::FamilyHome).with_party("h");
        assert_eq!(home_view(&own, &home, &past).unwrap(), HomeView::Full);
        assert!(reveal_protected_address(&office).is_ok());
        for who in [c, own, ctx(Role::MunicipalityCaseworker, "0180")] {
            assert!(reveal_protected_address(&who).is_err());
        }
    }

    #[test]
    fn a_reveal_states_its_reason() {
        assert_eq!(reveal_reason("  visit  ").unwrap(), "visit");
        for bad in ["", "  ", "a\u{7}b"] {
            assert!(
                reveal_reason(bad)
                    .unwrap_err()
                    .to_string()
                    .starts_with("reason")
            );
        }
        assert!(reveal_reason(&"x".repeat(501)).is_err());
    }

    #[test]
    fn analysts_and_council_see_aggregates_only() {
        let home = Home::default();
        for role in [Role::NationalAnalyst, Role::CouncilMember, Role::Child] {
            assert!(home_view(&ctx(role, ""), &home, &Involvement::default()).is_err());
            assert!(read_child(&ctx(role, ""), "c", "0180", None).is_err());
        }
        assert!(quarterly_report(&ctx(Role::NationalAnalyst, ""), "").is_ok());
    }

    #[test]
    fn a_family_home_acts_only_for_itself() {
        let c = AuthContext::new("u", Role::FamilyHome).with_party("h1");
        assert!(act_for_home(&c, "h1").is_ok());
        assert!(act_for_home(&c, "h2").is_err());
        assert!(manage_register(&c).is_err());
    }

    #[test]
    fn a_caseworker_reaches_only_their_own_municipalitys_children() {
        let c = ctx(Role::MunicipalityCaseworker, "0180");
        assert!(read_child(&c, "x", "0180", None).is_ok());
        assert!(matches!(
            read_child(&c, "x", "1480", None),
            Err(RegistryError::NotFound(_))
        ));
        assert!(write_child(&c, "1480").is_err());
        assert_eq!(municipal_scope(&c, "").unwrap().as_deref(), Some("0180"));
        assert!(municipal_scope(&c, "1480").is_err());
    }

    #[test]
    fn only_a_manager_of_the_municipality_records_its_approval() {
        assert!(record_approval(&ctx(Role::MunicipalityManager, "0180"), "0180").is_ok());
        assert!(record_approval(&ctx(Role::MunicipalityCaseworker, "0180"), "0180").is_err());
        assert!(record_approval(&ctx(Role::MunicipalityManager, "1480"), "0180").is_err());
        assert!(record_approval(&ctx(Role::RegionalOfficer, ""), "0180").is_ok());
    }

    #[test]
    fn a_child_reads_only_its_own_record() {
        let c = AuthContext::new("u", Role::Child).with_party("c1");
        assert!(read_child(&c, "c1", "0180", None).is_ok());
        assert!(read_child(&c, "c2", "0180", None).is_err());
    }

    #[test]
    fn a_regional_officer_is_bound_to_its_regions_register() {
        let mut c = ctx(Role::RegionalOfficer, "");
        c.region = Some("norr".into());
        assert!(bound_to_register(&c, Some("stockholm-gotland")).is_err());
        assert!(bound_to_register(&c, Some("norr")).is_ok());
        let mut national = ctx(Role::NationalAnalyst, "");
        national.region = Some("norr".into());
        assert!(bound_to_register(&national, Some("stockholm-gotland")).is_ok());
        assert!(bound_to_register(&national, None).is_ok());
    }

    #[test]
    fn a_regional_officer_without_a_region_is_refused_everywhere() {
        let c = ctx(Role::RegionalOfficer, "");
        assert!(c.region.is_none());
        for register in [Some("stockholm-gotland"), None] {
            let e = bound_to_register(&c, register).unwrap_err();
            assert!(e.to_string().contains("region"), "{e}");
        }
        assert!(bound_to_register(&c.clone().with_region("norr"), None).is_ok());
        assert!(bound_to_register(&ctx(Role::Service, ""), None).is_ok());
    }

    #[test]
    fn an_approval_needs_a_documented_link_to_the_home() {
        let home = Home {
            id: "h".into(),
            municipality_code: "0160".into(),
            ..Default::default()
        };
        let m = ctx(Role::MunicipalityManager, "1480");
        assert!(approval_link(&m, &home, "1480").is_err());
        assert!(approval_link(&ctx(Role::MunicipalityManager, "0160"), &home, "0160").is_ok());
        let approved = Home {
            approvals: vec![Approval {
                municipality_code: "1480".into(),
                ..Default::default()
            }],
            ..home.clone()
        };
        assert!(approval_link(&m, &approved, "1480").is_ok());
        let assigned = Home {
            investigations: vec![samling_proto::registry::v1::InvestigationAssignment {
                municipality_code: "1480".into(),
                ..Default::default()
            }],
            ..home.clone()
        };
        assert!(approval_link(&m, &assigned, "1480").is_ok());
        assert!(assign_investigation(&m).is_err());
        assert!(assign_investigation(&ctx(Role::RegionalOfficer, "")).is_ok());
        assert!(approval_link(&ctx(Role::RegionalOfficer, ""), &home, "1480").is_ok());
        assert!(!approval_restarts_reconfirmation(&m));
    }

    #[test]
    fn a_self_made_placement_does_not_open_a_protected_household() {
        let home = Home {
            id: "h".into(),
            protected_identity: true,
            ..Default::default()
        };
        let c = ctx(Role::MunicipalityCaseworker, "0180");
        let self_made = Involvement {
            active_placing: vec!["0180".into()],
            ever_placing: vec!["0180".into()],
            vouched_placing: vec![],
        };
        assert_eq!(
            home_view(&c, &home, &self_made).unwrap(),
            HomeView::NoPersonalData
        );
        let vouched = Involvement {
            vouched_placing: vec!["0180".into()],
            ..self_made
        };
        assert_eq!(
            home_view(&c, &home, &vouched).unwrap(),
            HomeView::AddressWithheld
        );
    }

    #[test]
    fn a_protected_childs_home_and_a_protected_homes_municipality_are_withheld() {
        use samling_proto::registry::v1::Placement;
        let p = Placement {
            id: "p".into(),
            child_id: "c".into(),
            home_id: "h".into(),
            placing_municipality_code: "0180".into(),
            receiving_municipality_code: "0160".into(),
            ..Default::default()
        };
        let receiving = ctx(Role::MunicipalityCaseworker, "0160");
        assert!(read_placement(&receiving, &p, false, None).is_ok());
        assert!(matches!(
            read_placement(&receiving, &p, true, None),
            Err(RegistryError::NotFound(_))
        ));
        let v = placement_view(&receiving, &p, true, false);
        assert!(!v.show_home && !v.show_receiving);
        let placing = ctx(Role::MunicipalityCaseworker, "0180");
        let v = placement_view(&placing, &p, true, true);
        assert!(v.show_home && !v.show_receiving);
        let office = ctx(Role::RegionalOfficer, "");
        let v = placement_view(&office, &p, true, true);
        assert!(v.show_home && v.show_receiving);
        assert!(matches!(
            read_placement(&ctx(Role::Ombud, ""), &p, false, None),
            Err(RegistryError::NotFound(_))
        ));
    }

    #[test]
    fn an_ombud_reads_exactly_the_children_the_ombud_service_assigned_to_them() {
        use samling_proto::registry::v1::Placement;
        let p = Placement {
            id: "p".into(),
            child_id: "c".into(),
            home_id: "h".into(),
            placing_municipality_code: "0180".into(),
            receiving_municipality_code: "1480".into(),
            ..Default::default()
        };
        let anna = AuthContext::new("ombud-anna", Role::Ombud);
        let bo = AuthContext::new("ombud-bo", Role::Ombud);
        assert!(read_child(&anna, "c", "0180", Some("ombud-anna")).is_ok());
        assert!(read_placement(&anna, &p, true, Some("ombud-anna")).is_ok());
        // Another ombud, an unassigned child, an ombud without a subject,
        // and a caseworker of another municipality naming the ombud: no.
        for (c, assigned) in [
            (&bo, Some("ombud-anna")),
            (&anna, None),
            (&AuthContext::new("", Role::Ombud), Some("")),
        ] {
            assert!(matches!(
                read_child(c, "c", "0180", assigned),
                Err(RegistryError::NotFound(_))
            ));
            assert!(matches!(
                read_placement(c, &p, false, assigned),
                Err(RegistryError::NotFound(_))
            ));
        }
        let other = ctx(Role::MunicipalityCaseworker, "0114");
        let named = other.sub.clone();
        assert!(read_child(&other, "c", "0180", Some(&named)).is_err());
        // The list scope: the assigned children, or nothing.
        let s = placement_scope(&anna, vec!["c".into()]).unwrap();
        assert!(s.holds(&p));
        let s = placement_scope(&anna, vec!["d".into()]).unwrap();
        assert!(!s.holds(&p));
        assert_eq!(
            placement_scope(&anna, Vec::new()).unwrap(),
            PlacementScope::Nothing
        );
        // A protected child's home stays hidden from the ombud.
        let v = placement_view(&anna, &p, true, false);
        assert!(!v.show_home && !v.show_receiving);
    }
}
