//! The pipeline: the stages of each track, the allowed transitions, what a
//! stage needs before a case may leave it, drop-outs from any open stage,
//! the approval, and the deadlines (with an injectable "today").
//!
//! * Standard: inquiry → info meeting → training → investigation →
//!   recommendation → approved.
//! * Network home (nätverkshem), started from a placement need: inquiry →
//!   investigation → training → recommendation → approved. The same checks,
//!   in another order (the investigation starts with register checks and the
//!   home environment, see [`super::investigation`]), with shorter deadlines
//!   ([`Rules::stage_working_days`]).
use super::calendar::Deadline;
use super::investigation::investigation_missing;
use super::text::{id, line};
use super::training::training_missing;
use super::{RecruitmentError, Rules};
use chrono::{Datelike, NaiveDate};
use samling_kit::dates;
use samling_kit::reference::MunicipalityCode;
use samling_proto::recruitment::v1::{
    AdultRole, ApprovalRecord, Case, CaseStatus, Consent, Course, DropOut, DropOutInitiator,
    DropOutReason, HouseholdAdult, LawfulBasis, Recommendation, RecommendationKind, Stage,
    StageEntry, StageOutcome, Track,
};
use samling_proto::registry::v1::HomeType;

const STANDARD: &[Stage] = &[
    Stage::Inquiry,
    Stage::InfoMeeting,
    Stage::Training,
    Stage::Investigation,
    Stage::Recommendation,
    Stage::Approved,
];
const NETWORK_HOME: &[Stage] = &[
    Stage::Inquiry,
    Stage::Investigation,
    Stage::Training,
    Stage::Recommendation,
    Stage::Approved,
];

pub const MAX_ADULTS: usize = 10;

/// The stages of a track, in order.
pub fn stages_of(track: Track) -> &'static [Stage] {
    match track {
        Track::NetworkHome => NETWORK_HOME,
        _ => STANDARD,
    }
}

/// The stage after `stage` on `track` (`None` after approval).
pub fn next_stage(track: Track, stage: Stage) -> Option<Stage> {
    let s = stages_of(track);
    s.iter()
        .position(|x| *x == stage)
        .and_then(|i| s.get(i + 1))
        .copied()
}

pub fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Unspecified => "unspecified",
        Stage::Inquiry => "inquiry",
        Stage::InfoMeeting => "info_meeting",
        Stage::Training => "training",
        Stage::Investigation => "investigation",
        Stage::Recommendation => "recommendation",
        Stage::Approved => "approved",
    }
}

pub fn track_name(track: Track) -> &'static str {
    match track {
        Track::NetworkHome => "network_home",
        _ => "standard",
    }
}

/// External facts a stage's requirements read: the courses the case is
/// enrolled in (and any basic course where it made up a session).
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub rules: &'a Rules,
    pub courses: &'a [Course],
}

fn open(case: &Case) -> Result<(), RecruitmentError> {
    match case.status() {
        CaseStatus::Open => Ok(()),
        CaseStatus::Approved => Err(RecruitmentError::precondition("the case is approved")),
        CaseStatus::DroppedOut => Err(RecruitmentError::precondition("the case has dropped out")),
        CaseStatus::Withdrawn | CaseStatus::Unspecified => {
            Err(RecruitmentError::precondition("the case was withdrawn"))
        }
    }
}

/// The version check of an update (0 = skip).
pub fn check_version(case: &Case, expected: i64) -> Result<(), RecruitmentError> {
    if expected != 0 && expected != case.version {
        return Err(RecruitmentError::Conflict(format!(
            "the case is at version {}, not {expected}: read it again",
            case.version
        )));
    }
    Ok(())
}

fn consent_missing(consent: Option<&Consent>) -> Option<String> {
    let Some(c) = consent else {
        return Some("the lawful basis (GDPR) recorded".into());
    };
    match LawfulBasis::try_from(c.basis) {
        Ok(LawfulBasis::Consent) if !c.given || !c.withdrawn_at.is_empty() => {
            Some("consent given and not withdrawn".into())
        }
        Ok(LawfulBasis::Unspecified) | Err(_) => Some("the lawful basis (GDPR) recorded".into()),
        Ok(_) => None,
    }
}

/// What the case still needs before it may leave its current stage (empty
/// when it may). Items are codes and ids, never personal data.
pub fn missing_to_leave(case: &Case, ctx: &Context) -> Vec<String> {
    match case.stage() {
        Stage::Inquiry => {
            let mut m = Vec::new();
            if case.first_responded_on.is_none() {
                m.push("the first response recorded".into());
            }
            m.extend(consent_missing(case.consent.as_ref()));
            m
        }
        Stage::InfoMeeting => {
            if case.info_meeting_ids.is_empty() {
                vec!["attendance at an information meeting".into()]
            } else {
                vec![]
            }
        }
        Stage::Training => training_missing(case, ctx.courses),
        Stage::Investigation => investigation_missing(case, ctx.rules),
        Stage::Recommendation => match case.recommendation.as_ref().map(|r| r.kind()) {
            Some(RecommendationKind::Approve) => vec![],
            Some(RecommendationKind::DoNotApprove) => {
                vec!["a recommendation to approve (the recommendation is not to approve)".into()]
            }
            _ => vec!["the recommendation recorded".into()],
        },
        Stage::Approved | Stage::Unspecified => vec!["an open stage".into()],
    }
}

fn current_entry(case: &mut Case) -> Option<&mut StageEntry> {
    let stage = case.stage;
    case.stages
        .iter_mut()
        .rev()
        .find(|e| e.stage == stage && e.left_on.is_none())
}

fn entered_on(case: &Case) -> Option<NaiveDate> {
    case.stages
        .iter()
        .rev()
        .find(|e| e.stage == case.stage)
        .and_then(|e| {
            dates::opt_from_proto("entered_on", e.entered_on.as_ref())
                .ok()
                .flatten()
        })
}

/// A date a change happened on: not in the future, not before the current
/// stage began.
fn check_on(
    field: &str,
    case: &Case,
    on: NaiveDate,
    today: NaiveDate,
) -> Result<(), RecruitmentError> {
    if on > today {
        return Err(RecruitmentError::invalid(field, "is in the future"));
    }
    if entered_on(case).is_some_and(|e| on < e) {
        return Err(RecruitmentError::invalid(
            field,
            "is before the case entered its current stage",
        ));
    }
    Ok(())
}

/// Moves the case to `to` on `on`: the next stage of its track, once the
/// current stage's requirements are met. The current stage closes as
/// passed; the new one opens with its deadline and owner (the case's owner,
/// or the officer acting when it has none).
pub fn advance(
    case: &Case,
    to: Stage,
    on: NaiveDate,
    today: NaiveDate,
    actor: &str,
    ctx: &Context,
) -> Result<Case, RecruitmentError> {
    open(case)?;
    if matches!(to, Stage::Unspecified | Stage::Inquiry | Stage::Approved) {
        return Err(RecruitmentError::invalid(
            "to_stage",
            if to == Stage::Approved {
                "approval is recorded with RecordApproval"
            } else {
                "is not a stage a case moves to"
            },
        ));
    }
    let track = case.track();
    let expected = next_stage(track, case.stage());
    if expected != Some(to) {
        return Err(RecruitmentError::precondition(format!(
            "a {} case moves from {} to {}, not to {}",
            track_name(track),
            stage_name(case.stage()),
            expected.map(stage_name).unwrap_or("nothing"),
            stage_name(to)
        )));
    }
    check_on("on", case, on, today)?;
    let missing = missing_to_leave(case, ctx);
    if !missing.is_empty() {
        return Err(RecruitmentError::RequirementsNotMet {
            stage: stage_name(case.stage()),
            missing,
        });
    }
    let mut c = case.clone();
    if c.owner.is_empty() {
        c.owner = actor.to_string();
    }
    if let Some(e) = current_entry(&mut c) {
        e.left_on = Some(dates::to_proto(on));
        e.outcome = StageOutcome::Passed as i32;
    }
    let due = ctx
        .rules
        .stage_working_days(track, to)
        .map(|n| Deadline::working_days_after(on, n).due_on);
    c.stages.push(StageEntry {
        stage: to as i32,
        entered_on: Some(dates::to_proto(on)),
        owner: c.owner.clone(),
        due_on: dates::opt_to_proto(due),
        ..Default::default()
    });
    c.stage = to as i32;
    c.stage_due_on = dates::opt_to_proto(due);
    Ok(refresh_deadlines(c, today))
}

/// Ends the case at its current (open) stage with a reason code.
pub fn drop_out(
    case: &Case,
    reason: i32,
    initiated_by: i32,
    on: NaiveDate,
    today: NaiveDate,
) -> Result<Case, RecruitmentError> {
    let reason = DropOutReason::try_from(reason)
        .ok()
        .filter(|r| {
            !matches!(
                r,
                DropOutReason::Unspecified | DropOutReason::ConsentWithdrawn
            )
        })
        .ok_or_else(|| {
            RecruitmentError::invalid(
                "reason",
                "is required (a withdrawal of consent is WithdrawCase's)",
            )
        })?;
    let initiated_by = DropOutInitiator::try_from(initiated_by)
        .ok()
        .filter(|i| *i != DropOutInitiator::Unspecified)
        .ok_or_else(|| RecruitmentError::invalid("initiated_by", "is required"))?;
    open(case)?;
    check_on("on", case, on, today)?;
    Ok(close_as_dropped(
        case,
        reason,
        initiated_by,
        on,
        StageOutcome::DroppedOut,
    ))
}

/// Closes an open case at its stage (drop-out or withdrawal).
pub(crate) fn close_as_dropped(
    case: &Case,
    reason: DropOutReason,
    initiated_by: DropOutInitiator,
    on: NaiveDate,
    outcome: StageOutcome,
) -> Case {
    let mut c = case.clone();
    if let Some(e) = current_entry(&mut c) {
        e.left_on = Some(dates::to_proto(on));
        e.outcome = outcome as i32;
    }
    c.drop_out = Some(DropOut {
        reason: reason as i32,
        at_stage: case.stage,
        on: Some(dates::to_proto(on)),
        initiated_by: initiated_by as i32,
    });
    c.status = if outcome == StageOutcome::Withdrawn {
        CaseStatus::Withdrawn
    } else {
        CaseStatus::DroppedOut
    } as i32;
    c.stage_due_on = None;
    c.stage_overdue = false;
    c.first_response_overdue = false;
    c
}

/// The recommendation, recorded in the recommendation stage. To approve it
/// names the home types (a network home on that track) and a capacity.
pub fn record_recommendation(
    case: &Case,
    rec: Recommendation,
    today: NaiveDate,
) -> Result<Case, RecruitmentError> {
    let kind = RecommendationKind::try_from(rec.kind)
        .ok()
        .filter(|k| *k != RecommendationKind::Unspecified)
        .ok_or_else(|| RecruitmentError::invalid("kind", "is required"))?;
    open(case)?;
    if case.stage() != Stage::Recommendation {
        return Err(RecruitmentError::precondition(format!(
            "a recommendation is made in the recommendation stage; the case is in {}",
            stage_name(case.stage())
        )));
    }
    let decided_on = dates::opt_from_proto("decided_on", rec.decided_on.as_ref())?.unwrap_or(today);
    check_on("decided_on", case, decided_on, today)?;
    let mut types = Vec::new();
    for &t in &rec.home_types {
        let t = HomeType::try_from(t)
            .ok()
            .filter(|t| !matches!(t, HomeType::Unspecified | HomeType::MentorFamily))
            .filter(|t| (*t == HomeType::NetworkHome) == (case.track() == Track::NetworkHome))
            .ok_or_else(|| {
                RecruitmentError::invalid(
                    "home_types",
                    if case.track() == Track::NetworkHome {
                        "must be network home on the network-home track"
                    } else {
                        "must be a home type other than network home or mentor family"
                    },
                )
            })?;
        if !types.contains(&(t as i32)) {
            types.push(t as i32);
        }
    }
    if kind == RecommendationKind::Approve {
        if types.is_empty() {
            return Err(RecruitmentError::invalid(
                "home_types",
                "is required to recommend approval",
            ));
        }
        if !(1..=10).contains(&rec.capacity) {
            return Err(RecruitmentError::invalid(
                "capacity",
                "must be 1–10 to recommend approval",
            ));
        }
    }
    let mut c = case.clone();
    c.recommendation = Some(Recommendation {
        kind: kind as i32,
        home_types: types,
        capacity: if kind == RecommendationKind::Approve {
            rec.capacity
        } else {
            0
        },
        decided_on: Some(dates::to_proto(decided_on)),
        decided_by: rec.decided_by,
        document_ref: line("document_ref", &rec.document_ref, false, 100)?,
    });
    Ok(c)
}

/// The nämnd's approval: from the recommendation stage, on a recommendation
/// to approve, for a home in the registry. The registry is told the ids,
/// the decision's date and reference, nothing else.
pub fn approve(
    case: &Case,
    approval: ApprovalRecord,
    today: NaiveDate,
    ctx: &Context,
) -> Result<Case, RecruitmentError> {
    let home = id("registry_home_id", &approval.registry_home_id)?;
    let municipality =
        MunicipalityCode::parse(approval.municipality_code.trim()).map_err(|_| {
            RecruitmentError::invalid("municipality_code", "is not a Swedish municipality code")
        })?;
    let decision_date = dates::from_proto("decision_date", approval.decision_date.as_ref())?;
    let decision_ref = line("decision_ref", &approval.decision_ref, true, 100)?;
    open(case)?;
    if case.stage() != Stage::Recommendation {
        return Err(RecruitmentError::precondition(format!(
            "a case is approved from the recommendation stage; it is in {}",
            stage_name(case.stage())
        )));
    }
    let missing = missing_to_leave(case, ctx);
    if !missing.is_empty() {
        return Err(RecruitmentError::RequirementsNotMet {
            stage: stage_name(case.stage()),
            missing,
        });
    }
    let recommended = case.recommendation.as_ref().and_then(|r| {
        dates::opt_from_proto("decided_on", r.decided_on.as_ref())
            .ok()
            .flatten()
    });
    if recommended.is_some_and(|r| decision_date < r) {
        return Err(RecruitmentError::invalid(
            "decision_date",
            "is before the recommendation",
        ));
    }
    check_on("decision_date", case, decision_date, today)?;
    let mut c = case.clone();
    if let Some(e) = current_entry(&mut c) {
        e.left_on = Some(dates::to_proto(decision_date));
        e.outcome = StageOutcome::Passed as i32;
    }
    c.stages.push(StageEntry {
        stage: Stage::Approved as i32,
        entered_on: Some(dates::to_proto(decision_date)),
        owner: c.owner.clone(),
        ..Default::default()
    });
    c.stage = Stage::Approved as i32;
    c.status = CaseStatus::Approved as i32;
    c.stage_due_on = None;
    c.stage_overdue = false;
    c.approval = Some(ApprovalRecord {
        registry_home_id: home,
        municipality_code: municipality.as_str().to_string(),
        decision_date: Some(dates::to_proto(decision_date)),
        decision_ref,
        recorded_at: approval.recorded_at,
        recorded_by: approval.recorded_by,
    });
    Ok(c)
}

/// Sets the overdue flags as of `today`: the first response while not
/// given, the current stage's deadline while the case is open.
pub fn refresh_deadlines(mut case: Case, today: NaiveDate) -> Case {
    let open = case.status() == CaseStatus::Open;
    let past = |d: Option<&samling_proto::common::v1::Date>| {
        dates::opt_from_proto("due", d)
            .ok()
            .flatten()
            .is_some_and(|due| today > due)
    };
    case.first_response_overdue =
        open && case.first_responded_on.is_none() && past(case.first_response_due_on.as_ref());
    case.stage_overdue = open
        && past(case.stage_due_on.as_ref())
        && !(case.stage() == Stage::Inquiry && case.first_responded_on.is_some());
    case
}

/// An adult of the household (for training attendance and register
/// checks): 18 or older by birth year.
pub fn add_adult(
    case: &Case,
    adult: HouseholdAdult,
    today: NaiveDate,
) -> Result<Case, RecruitmentError> {
    let given_name = line("given_name", &adult.given_name, true, 100)?;
    let family_name = line("family_name", &adult.family_name, true, 100)?;
    if adult.birth_year < today.year() - 120 || adult.birth_year > today.year() - 18 {
        return Err(RecruitmentError::invalid(
            "birth_year",
            "must be the birth year of an adult (18 or older)",
        ));
    }
    let role = AdultRole::try_from(adult.role)
        .ok()
        .filter(|r| *r != AdultRole::Unspecified)
        .ok_or_else(|| RecruitmentError::invalid("role", "is required"))?;
    let member = super::text::opt_id("registry_member_id", &adult.registry_member_id)?;
    let adult_id = id("adult_id", &adult.id)?;
    open(case)?;
    if case.adults.len() >= MAX_ADULTS {
        return Err(RecruitmentError::precondition(format!(
            "a household has at most {MAX_ADULTS} adults"
        )));
    }
    let mut c = case.clone();
    c.adults.push(HouseholdAdult {
        id: adult_id,
        given_name,
        family_name,
        birth_year: adult.birth_year,
        role: role as i32,
        registry_member_id: member.unwrap_or_default(),
    });
    Ok(c)
}

/// An adult who left the household: their register checks go with them.
pub fn remove_adult(case: &Case, adult_id: &str) -> Result<Case, RecruitmentError> {
    let adult_id = id("adult_id", adult_id)?;
    open(case)?;
    if !case.adults.iter().any(|a| a.id == adult_id) {
        return Err(RecruitmentError::not_found("adult"));
    }
    let mut c = case.clone();
    c.adults.retain(|a| a.id != adult_id);
    c.register_checks.retain(|r| r.adult_id != adult_id);
    Ok(c)
}

/// The household attended an information meeting (standard track, before
/// training).
pub fn attend_info_meeting(case: &Case, meeting_id: &str) -> Result<Case, RecruitmentError> {
    open(case)?;
    if case.track() != Track::Standard
        || !matches!(case.stage(), Stage::Inquiry | Stage::InfoMeeting)
    {
        return Err(RecruitmentError::precondition(format!(
            "case {} is not at an information-meeting stage",
            case.id
        )));
    }
    let mut c = case.clone();
    if !c.info_meeting_ids.iter().any(|m| m == meeting_id) {
        c.info_meeting_ids.push(meeting_id.to_string());
    }
    Ok(c)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::inquiry::tests::{draft, new_case};
    use crate::domain::inquiry::{open_case, record_first_response, validate};
    use crate::domain::investigation::{record_reference, record_register_check, record_step};
    use crate::domain::training::tests::{attend_all, basic_course};
    use samling_proto::recruitment::v1::{
        IntakeRoute, InvestigationStep, Reference, ReferenceRelation, RegisterCheckOutcome,
        StepOutcome,
    };

    pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    pub const CARER_A: &str = "0190a0b1-0000-7000-8000-00000000000a";
    pub const CARER_B: &str = "0190a0b1-0000-7000-8000-00000000000b";
    pub const ADULT_C: &str = "0190a0b1-0000-7000-8000-00000000000c";
    pub const MEETING: &str = "0190a0b1-0000-7000-8000-0000000000e1";
    const HOME: &str = "0190a0b1-0000-7000-8000-0000000000f1";

    pub fn adult(id: &str, role: AdultRole) -> HouseholdAdult {
        HouseholdAdult {
            id: id.into(),
            given_name: "Vuxen".into(),
            family_name: "Testsson".into(),
            birth_year: 1980,
            role: role as i32,
            registry_member_id: String::new(),
        }
    }

    /// A fresh case received on `on`, answered the same day, two carers.
    pub fn answered_case(track: Track, on: NaiveDate) -> Case {
        let mut dr = draft();
        let route = if track == Track::NetworkHome {
            dr.interests.clear();
            IntakeRoute::PlacementNeed
        } else {
            IntakeRoute::PublicForm
        };
        let v = validate("inquiry", &dr, route).unwrap();
        let c = open_case(v, new_case(on, track), &Rules::default());
        let c = record_first_response(&c, on, on).unwrap();
        let c = add_adult(&c, adult(CARER_A, AdultRole::Carer), on).unwrap();
        add_adult(&c, adult(CARER_B, AdultRole::Carer), on).unwrap()
    }

    /// Every investigation record a complete investigation needs, in the
    /// order the track allows.
    pub fn investigate(case: &Case, on: NaiveDate, rules: &Rules) -> Case {
        let mut c = case.clone();
        let first: Vec<InvestigationStep> = if case.track() == Track::NetworkHome {
            vec![InvestigationStep::HomeEnvironment]
        } else {
            vec![InvestigationStep::BraFamScreening]
        };
        if case.track() == Track::NetworkHome {
            c = check_all_registers(&c, on, rules);
        }
        for s in first {
            c = record_step(
                &c,
                s,
                StepOutcome::Satisfactory,
                on,
                on,
                "officer",
                "",
                rules,
            )
            .unwrap();
        }
        for s in [
            InvestigationStep::BraFamScreening,
            InvestigationStep::FamilyVignettes,
            InvestigationStep::PersonalCircumstances,
            InvestigationStep::HomeEnvironment,
            InvestigationStep::Health,
        ] {
            c = record_step(
                &c,
                s,
                StepOutcome::Satisfactory,
                on,
                on,
                "officer",
                "",
                rules,
            )
            .unwrap();
        }
        for (i, rel) in [ReferenceRelation::Personal, ReferenceRelation::Employer]
            .into_iter()
            .enumerate()
        {
            c = record_reference(
                &c,
                Reference {
                    id: format!("0190a0b1-0000-7000-8000-0000000000d{i}"),
                    relation: rel as i32,
                    contacted_on: Some(dates::to_proto(on)),
                    outcome: StepOutcome::Satisfactory as i32,
                    document_ref: String::new(),
                },
                on,
                rules,
            )
            .unwrap();
        }
        if case.track() != Track::NetworkHome {
            c = check_all_registers(&c, on, rules);
        }
        c
    }

    fn check_all_registers(case: &Case, on: NaiveDate, rules: &Rules) -> Case {
        let mut c = case.clone();
        let adults: Vec<String> = c.adults.iter().map(|a| a.id.clone()).collect();
        for a in adults {
            for r in &rules.required_registers {
                c = record_register_check(&c, &a, *r, RegisterCheckOutcome::Clear, on, on, rules)
                    .unwrap();
            }
        }
        c
    }

    fn ctx<'a>(rules: &'a Rules, courses: &'a [Course]) -> Context<'a> {
        Context { rules, courses }
    }

    fn not_met(e: RecruitmentError) -> (String, Vec<String>) {
        match e {
            RecruitmentError::RequirementsNotMet { stage, missing } => (stage.to_string(), missing),
            other => panic!("{other:?}"),
        }
    }

    fn recommend(case: &Case, on: NaiveDate) -> Case {
        let t = if case.track() == Track::NetworkHome {
            HomeType::NetworkHome
        } else {
            HomeType::FamilyHome
        };
        record_recommendation(
            case,
            Recommendation {
                kind: RecommendationKind::Approve as i32,
                home_types: vec![t as i32],
                capacity: 2,
                decided_on: Some(dates::to_proto(on)),
                decided_by: "officer".into(),
                document_ref: "Dnr 2026/114".into(),
            },
            on,
        )
        .unwrap()
    }

    fn approval(on: NaiveDate) -> ApprovalRecord {
        ApprovalRecord {
            registry_home_id: HOME.into(),
            municipality_code: "2480".into(),
            decision_date: Some(dates::to_proto(on)),
            decision_ref: "SN 2026-05-20 § 14".into(),
            recorded_at: "2026-05-20T10:00:00.000000Z".into(),
            recorded_by: "officer".into(),
        }
    }

    #[test]
    fn the_tracks_order_the_same_stages_differently() {
        assert_eq!(
            next_stage(Track::Standard, Stage::Inquiry),
            Some(Stage::InfoMeeting)
        );
        assert_eq!(
            next_stage(Track::Standard, Stage::Training),
            Some(Stage::Investigation)
        );
        assert_eq!(
            next_stage(Track::NetworkHome, Stage::Inquiry),
            Some(Stage::Investigation)
        );
        assert_eq!(
            next_stage(Track::NetworkHome, Stage::Investigation),
            Some(Stage::Training)
        );
        assert_eq!(
            next_stage(Track::NetworkHome, Stage::Training),
            Some(Stage::Recommendation)
        );
        assert_eq!(next_stage(Track::Standard, Stage::Approved), None);
        assert_eq!(next_stage(Track::NetworkHome, Stage::InfoMeeting), None);
    }

    #[test]
    fn a_standard_case_goes_from_inquiry_to_approval_with_each_requirement() {
        let rules = Rules::default();
        let t0 = d(2026, 3, 2);
        let courses_none: Vec<Course> = vec![];
        // Inquiry: the first response and the lawful basis.
        let mut dr = draft();
        dr.interests.truncate(1);
        let v = validate("inquiry", &dr, IntakeRoute::PublicForm).unwrap();
        let fresh = open_case(v, new_case(t0, Track::Standard), &rules);
        let (stage, missing) = not_met(
            advance(
                &fresh,
                Stage::InfoMeeting,
                t0,
                t0,
                "officer",
                &ctx(&rules, &courses_none),
            )
            .unwrap_err(),
        );
        assert_eq!(stage, "inquiry");
        assert_eq!(missing, vec!["the first response recorded"]);

        let c = answered_case(Track::Standard, t0);
        // Skipping a stage is refused, naming the order.
        let e = advance(
            &c,
            Stage::Training,
            t0,
            t0,
            "officer",
            &ctx(&rules, &courses_none),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "a standard case moves from inquiry to info_meeting, not to training"
        );
        let c = advance(
            &c,
            Stage::InfoMeeting,
            t0,
            t0,
            "officer",
            &ctx(&rules, &courses_none),
        )
        .unwrap();
        assert_eq!(c.owner, "officer");
        assert_eq!(c.stages[0].outcome(), StageOutcome::Passed);
        assert_eq!(c.stages[0].left_on, Some(dates::to_proto(t0)));

        // Info meeting: attendance.
        let t1 = d(2026, 3, 10);
        let (_, missing) = not_met(
            advance(
                &c,
                Stage::Training,
                t1,
                t1,
                "officer",
                &ctx(&rules, &courses_none),
            )
            .unwrap_err(),
        );
        assert_eq!(missing, vec!["attendance at an information meeting"]);
        let c = attend_info_meeting(&c, MEETING).unwrap();
        let c = advance(
            &c,
            Stage::Training,
            t1,
            t1,
            "officer",
            &ctx(&rules, &courses_none),
        )
        .unwrap();
        assert_eq!(
            c.stage_due_on, None,
            "the standard track's training follows the course"
        );

        // Training: every carer at every mandatory session.
        let t2 = d(2026, 4, 20);
        let course = basic_course(&c.id, d(2026, 3, 16));
        let half = attend_all(&course, &c.id, &[CARER_A]);
        let (stage, missing) = not_met(
            advance(
                &c,
                Stage::Investigation,
                t2,
                t2,
                "officer",
                &ctx(&rules, &[half]),
            )
            .unwrap_err(),
        );
        assert_eq!(stage, "training");
        assert!(missing.iter().all(|m| m.contains(CARER_B)), "{missing:?}");
        let full = attend_all(&course, &c.id, &[CARER_A, CARER_B]);
        let c = advance(
            &c,
            Stage::Investigation,
            t2,
            t2,
            "officer",
            &ctx(&rules, &[full]),
        )
        .unwrap();
        // The investigation's deadline: 80 working days.
        assert_eq!(
            c.stage_due_on,
            Some(dates::to_proto(crate::domain::calendar::add_working_days(
                t2, 80
            )))
        );

        // Investigation: everything, then the recommendation.
        let t3 = d(2026, 5, 4);
        let (_, missing) = not_met(
            advance(
                &c,
                Stage::Recommendation,
                t3,
                t3,
                "officer",
                &ctx(&rules, &[]),
            )
            .unwrap_err(),
        );
        assert!(
            missing.contains(&"bra_fam_screening".to_string()),
            "{missing:?}"
        );
        let c = investigate(&c, t3, &rules);
        let c = advance(
            &c,
            Stage::Recommendation,
            t3,
            t3,
            "officer",
            &ctx(&rules, &[]),
        )
        .unwrap();

        // Approval: only through RecordApproval, only on a recommendation to approve.
        let e = advance(&c, Stage::Approved, t3, t3, "officer", &ctx(&rules, &[])).unwrap_err();
        assert!(e.to_string().starts_with("to_stage: approval is recorded"));
        let t4 = d(2026, 5, 20);
        let (_, missing) = not_met(approve(&c, approval(t4), t4, &ctx(&rules, &[])).unwrap_err());
        assert_eq!(missing, vec!["the recommendation recorded"]);
        let c = recommend(&c, d(2026, 5, 11));
        let e = approve(&c, approval(d(2026, 5, 8)), t4, &ctx(&rules, &[])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("decision_date: is before the recommendation"),
            "{e}"
        );
        let c = approve(&c, approval(t4), t4, &ctx(&rules, &[])).unwrap();
        assert_eq!(c.status(), CaseStatus::Approved);
        assert_eq!(c.stage(), Stage::Approved);
        assert_eq!(c.approval.as_ref().unwrap().registry_home_id, HOME);
        let stages: Vec<Stage> = c.stages.iter().map(|e| e.stage()).collect();
        assert_eq!(stages, STANDARD);
        assert!(
            c.stages[..5]
                .iter()
                .all(|e| e.outcome() == StageOutcome::Passed && e.left_on.is_some())
        );
        // Closed: nothing moves it any more.
        assert!(matches!(
            drop_out(
                &c,
                DropOutReason::ChangedMind as i32,
                DropOutInitiator::Applicant as i32,
                t4,
                t4
            ),
            Err(RecruitmentError::Precondition(_))
        ));
    }

    #[test]
    fn a_recommendation_not_to_approve_blocks_the_approval() {
        let rules = Rules::default();
        let t = d(2026, 5, 4);
        let mut c = answered_case(Track::Standard, t);
        c.stage = Stage::Recommendation as i32;
        c.stages.push(StageEntry {
            stage: Stage::Recommendation as i32,
            entered_on: Some(dates::to_proto(t)),
            ..Default::default()
        });
        let no = record_recommendation(
            &c,
            Recommendation {
                kind: RecommendationKind::DoNotApprove as i32,
                decided_on: Some(dates::to_proto(t)),
                ..Default::default()
            },
            t,
        )
        .unwrap();
        let (_, missing) = not_met(approve(&no, approval(t), t, &ctx(&rules, &[])).unwrap_err());
        assert!(missing[0].contains("not to approve"));
        // Approving needs types and a capacity.
        let e = record_recommendation(
            &c,
            Recommendation {
                kind: RecommendationKind::Approve as i32,
                home_types: vec![HomeType::FamilyHome as i32],
                capacity: 0,
                ..Default::default()
            },
            t,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("capacity:"));
        let e = record_recommendation(
            &c,
            Recommendation {
                kind: RecommendationKind::Approve as i32,
                home_types: vec![HomeType::NetworkHome as i32],
                capacity: 1,
                ..Default::default()
            },
            t,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("home_types:"));
    }

    #[test]
    fn the_network_track_investigates_before_training_with_shorter_deadlines() {
        let rules = Rules::default();
        let t0 = d(2026, 4, 1);
        let c = answered_case(Track::NetworkHome, t0);
        assert_eq!(
            c.first_response_due_on,
            Some(dates::to_proto(d(2026, 4, 2)))
        );
        let e = advance(&c, Stage::InfoMeeting, t0, t0, "officer", &ctx(&rules, &[])).unwrap_err();
        assert!(
            e.to_string()
                .contains("network_home case moves from inquiry to investigation"),
            "{e}"
        );
        let c = advance(
            &c,
            Stage::Investigation,
            t0,
            t0,
            "officer",
            &ctx(&rules, &[]),
        )
        .unwrap();
        // 20 working days from 1 April 2026, Easter and 1 May in between: 4 May.
        assert_eq!(c.stage_due_on, Some(dates::to_proto(d(2026, 5, 4))));
        let c = investigate(&c, d(2026, 4, 8), &rules);
        let c = advance(
            &c,
            Stage::Training,
            d(2026, 4, 9),
            d(2026, 4, 9),
            "officer",
            &ctx(&rules, &[]),
        )
        .unwrap();
        assert!(c.stage_due_on.is_some(), "network training has a deadline");
        let course = basic_course(&c.id, d(2026, 4, 13));
        let done = attend_all(&course, &c.id, &[CARER_A, CARER_B]);
        let t = d(2026, 5, 25);
        let c = advance(
            &c,
            Stage::Recommendation,
            t,
            t,
            "officer",
            &ctx(&rules, &[done]),
        )
        .unwrap();
        let c = recommend(&c, t);
        assert_eq!(
            c.recommendation.as_ref().unwrap().home_types,
            vec![HomeType::NetworkHome as i32]
        );
        let c = approve(&c, approval(t), t, &ctx(&rules, &[])).unwrap();
        let stages: Vec<Stage> = c.stages.iter().map(|e| e.stage()).collect();
        assert_eq!(stages, NETWORK_HOME);
    }

    #[test]
    fn a_case_may_drop_out_from_every_open_stage_with_a_reason() {
        let rules = Rules::default();
        let t = d(2026, 3, 2);
        let mut c = answered_case(Track::Standard, t);
        let mut at = Vec::new();
        for next in [
            Stage::InfoMeeting,
            Stage::Training,
            Stage::Investigation,
            Stage::Recommendation,
        ] {
            at.push(c.clone());
            // Force the stage (requirements are tested above).
            let mut n = c.clone();
            n.stage = next as i32;
            n.stages.push(StageEntry {
                stage: next as i32,
                entered_on: Some(dates::to_proto(t)),
                ..Default::default()
            });
            c = n;
        }
        at.push(c);
        for case in at {
            let out = drop_out(
                &case,
                DropOutReason::LifeCircumstances as i32,
                DropOutInitiator::Applicant as i32,
                t,
                t,
            )
            .unwrap();
            assert_eq!(out.status(), CaseStatus::DroppedOut);
            let dr = out.drop_out.as_ref().unwrap();
            assert_eq!(dr.at_stage, case.stage);
            assert_eq!(dr.reason(), DropOutReason::LifeCircumstances);
            assert_eq!(
                out.stages.last().unwrap().outcome(),
                StageOutcome::DroppedOut
            );
            // And nothing after it.
            let e = advance(&out, Stage::Training, t, t, "x", &ctx(&rules, &[])).unwrap_err();
            assert_eq!(e.to_string(), "the case has dropped out");
        }
        let c = answered_case(Track::Standard, t);
        for (reason, by, field) in [
            (0, 1, "reason"),
            (DropOutReason::ConsentWithdrawn as i32, 1, "reason"),
            (99, 1, "reason"),
            (DropOutReason::Housing as i32, 0, "initiated_by"),
        ] {
            match drop_out(&c, reason, by, t, t).unwrap_err() {
                RecruitmentError::Invalid { field: f, .. } => assert_eq!(f, field),
                other => panic!("{other:?}"),
            }
        }
        let e = drop_out(&c, 1, 1, d(2026, 3, 1), t).unwrap_err();
        assert!(e.to_string().starts_with("on: is before"), "{e}");
        let e = drop_out(&c, 1, 1, d(2026, 3, 3), t).unwrap_err();
        assert_eq!(e.to_string(), "on: is in the future");
    }

    #[test]
    fn deadlines_are_overdue_as_of_an_injected_today() {
        let rules = Rules::default();
        let v = validate("inquiry", &draft(), IntakeRoute::PublicForm).unwrap();
        // Received Thursday 18 June 2026, due 5 working days later:
        // midsummer eve is off, so Monday 22 to Friday 26 June.
        let c = open_case(v, new_case(d(2026, 6, 18), Track::Standard), &rules);
        assert_eq!(
            c.first_response_due_on,
            Some(dates::to_proto(d(2026, 6, 26)))
        );
        let on_time = refresh_deadlines(c.clone(), d(2026, 6, 26));
        assert!(!on_time.first_response_overdue && !on_time.stage_overdue);
        let late = refresh_deadlines(c.clone(), d(2026, 6, 27));
        assert!(late.first_response_overdue && late.stage_overdue);
        let answered = record_first_response(&c, d(2026, 6, 29), d(2026, 6, 29)).unwrap();
        let later = refresh_deadlines(answered, d(2026, 7, 10));
        assert!(!later.first_response_overdue && !later.stage_overdue);
        // A closed case is never overdue.
        let gone = drop_out(&c, 5, 2, d(2026, 6, 18), d(2026, 6, 18)).unwrap();
        assert!(!refresh_deadlines(gone, d(2026, 9, 1)).first_response_overdue);
    }

    #[test]
    fn versions_are_checked_and_adults_validated() {
        let t = d(2026, 3, 2);
        let mut c = answered_case(Track::Standard, t);
        c.version = 4;
        assert!(check_version(&c, 0).is_ok());
        assert!(check_version(&c, 4).is_ok());
        assert!(matches!(
            check_version(&c, 3),
            Err(RecruitmentError::Conflict(_))
        ));

        let mut young = adult(ADULT_C, AdultRole::OtherAdult);
        young.birth_year = 2010;
        let e = add_adult(&c, young, t).unwrap_err();
        assert!(e.to_string().starts_with("birth_year:"));
        let mut bad = adult(ADULT_C, AdultRole::Unspecified);
        bad.birth_year = 1990;
        assert!(
            add_adult(&c, bad, t)
                .unwrap_err()
                .to_string()
                .starts_with("role:")
        );
        let c = add_adult(&c, adult(ADULT_C, AdultRole::OtherAdult), t).unwrap();
        assert_eq!(c.adults.len(), 3);
        let c = remove_adult(&c, ADULT_C).unwrap();
        assert_eq!(c.adults.len(), 2);
        assert!(matches!(
            remove_adult(&c, ADULT_C),
            Err(RecruitmentError::NotFound(_))
        ));
    }
}
