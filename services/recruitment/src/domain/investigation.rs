//! The standard investigation (SOSFS 2012:11 ch. 4; seed 003 lines
//! 12782–12935): BRA-Fam screening, family vignettes, personal
//! circumstances, home environment, health, references and register checks
//! of every adult in the household. Outcomes and document references only:
//! the assessments' text stays in the case file.
//!
//! Order: the standard track starts with the BRA-Fam screening; the
//! network-home track (a child is often already there, or waiting) starts
//! with the register checks of every adult and the home environment. Other
//! steps are refused until the track's first steps are done.
use super::pipeline::stage_name;
use super::text::{id, line};
use super::{RecruitmentError, Rules};
use chrono::NaiveDate;
use samling_kit::dates;
use samling_proto::recruitment::v1::{
    AdultRole, Case, CaseStatus, InvestigationStep, InvestigationStepResult, Reference,
    ReferenceRelation, Register, RegisterCheck, RegisterCheckOutcome, Stage, StepOutcome, Track,
};

/// The steps recorded with RecordInvestigationStep, all required.
pub const ASSESSMENTS: [InvestigationStep; 5] = [
    InvestigationStep::BraFamScreening,
    InvestigationStep::FamilyVignettes,
    InvestigationStep::PersonalCircumstances,
    InvestigationStep::HomeEnvironment,
    InvestigationStep::Health,
];

pub fn step_name(step: InvestigationStep) -> &'static str {
    match step {
        InvestigationStep::Unspecified => "unspecified",
        InvestigationStep::BraFamScreening => "bra_fam_screening",
        InvestigationStep::FamilyVignettes => "family_vignettes",
        InvestigationStep::PersonalCircumstances => "personal_circumstances",
        InvestigationStep::HomeEnvironment => "home_environment",
        InvestigationStep::Health => "health",
        InvestigationStep::References => "references",
        InvestigationStep::RegisterChecks => "register_checks",
    }
}

pub fn register_name(r: Register) -> &'static str {
    match r {
        Register::Unspecified => "unspecified",
        Register::CriminalRecords => "criminal_records",
        Register::Suspicions => "suspicions",
        Register::SocialServices => "social_services",
        Register::Enforcement => "enforcement",
    }
}

/// The steps a track does first.
pub fn first_steps(track: Track) -> &'static [InvestigationStep] {
    match track {
        Track::NetworkHome => &[
            InvestigationStep::RegisterChecks,
            InvestigationStep::HomeEnvironment,
        ],
        _ => &[InvestigationStep::BraFamScreening],
    }
}

/// The register checks still missing: every adult, every required register.
fn register_checks_missing(case: &Case, rules: &Rules) -> Vec<String> {
    let mut m = Vec::new();
    if case.adults.is_empty() {
        m.push("a household adult to check".into());
    }
    for a in &case.adults {
        for r in &rules.required_registers {
            if !case
                .register_checks
                .iter()
                .any(|c| c.adult_id == a.id && c.register == *r as i32)
            {
                m.push(format!(
                    "register check {} of adult {}",
                    register_name(*r),
                    a.id
                ));
            }
        }
    }
    m
}

fn step_missing(case: &Case, step: InvestigationStep, rules: &Rules) -> Vec<String> {
    match step {
        InvestigationStep::RegisterChecks => register_checks_missing(case, rules),
        InvestigationStep::References => {
            let n = case.references.len() as u32;
            if n < rules.required_references {
                vec![format!("references ({n} of {})", rules.required_references)]
            } else {
                vec![]
            }
        }
        s => {
            if case.investigation.iter().any(|r| r.step == s as i32) {
                vec![]
            } else {
                vec![step_name(s).to_string()]
            }
        }
    }
}

/// What the investigation still needs before the case may leave it.
pub fn investigation_missing(case: &Case, rules: &Rules) -> Vec<String> {
    let mut m = Vec::new();
    if !case.adults.iter().any(|a| a.role() == AdultRole::Carer) {
        m.push("a carer among the household adults".into());
    }
    for s in ASSESSMENTS {
        m.extend(step_missing(case, s, rules));
    }
    m.extend(step_missing(case, InvestigationStep::References, rules));
    m.extend(step_missing(case, InvestigationStep::RegisterChecks, rules));
    m
}

/// May `step` be recorded now? Open case, in the investigation, and the
/// track's first steps done unless `step` is one of them.
pub fn check_order(
    case: &Case,
    step: InvestigationStep,
    rules: &Rules,
) -> Result<(), RecruitmentError> {
    if case.status() != CaseStatus::Open {
        return Err(RecruitmentError::precondition("the case is closed"));
    }
    if case.stage() != Stage::Investigation {
        return Err(RecruitmentError::precondition(format!(
            "investigation records are made in the investigation stage; the case is in {}",
            stage_name(case.stage())
        )));
    }
    let first = first_steps(case.track());
    if first.contains(&step) {
        return Ok(());
    }
    let missing: Vec<String> = first
        .iter()
        .flat_map(|s| step_missing(case, *s, rules))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(RecruitmentError::precondition(format!(
            "on the {} track {} comes first: missing {}",
            super::pipeline::track_name(case.track()),
            first
                .iter()
                .map(|s| step_name(*s))
                .collect::<Vec<_>>()
                .join(" and "),
            missing.join("; ")
        )))
    }
}

fn check_date(
    field: &str,
    case: &Case,
    on: NaiveDate,
    today: NaiveDate,
) -> Result<(), RecruitmentError> {
    if on > today {
        return Err(RecruitmentError::invalid(field, "is in the future"));
    }
    let received = dates::opt_from_proto("received_on", case.received_on.as_ref())?;
    if received.is_some_and(|r| on < r) {
        return Err(RecruitmentError::invalid(
            field,
            "is before the inquiry arrived",
        ));
    }
    Ok(())
}

fn outcome(o: i32) -> Result<StepOutcome, RecruitmentError> {
    StepOutcome::try_from(o)
        .ok()
        .filter(|o| *o != StepOutcome::Unspecified)
        .ok_or_else(|| RecruitmentError::invalid("outcome", "is required"))
}

/// One assessment's outcome; a later one replaces an earlier one of the
/// same step (the history is in the case's versions and the audit log).
#[allow(clippy::too_many_arguments)]
pub fn record_step(
    case: &Case,
    step: InvestigationStep,
    result: StepOutcome,
    on: NaiveDate,
    today: NaiveDate,
    assessed_by: &str,
    document_ref: &str,
    rules: &Rules,
) -> Result<Case, RecruitmentError> {
    if !ASSESSMENTS.contains(&step) {
        return Err(RecruitmentError::invalid(
            "step",
            "must be an assessment step (references and register checks have their own calls)",
        ));
    }
    let result = outcome(result as i32)?;
    let document_ref = line("document_ref", document_ref, false, 100)?;
    check_date("completed_on", case, on, today)?;
    check_order(case, step, rules)?;
    let mut c = case.clone();
    c.investigation.retain(|r| r.step != step as i32);
    c.investigation.push(InvestigationStepResult {
        step: step as i32,
        completed_on: Some(dates::to_proto(on)),
        outcome: result as i32,
        assessed_by: assessed_by.to_string(),
        document_ref,
    });
    Ok(c)
}

/// A reference taken (the referee's name and account stay in the case file).
pub fn record_reference(
    case: &Case,
    r: Reference,
    today: NaiveDate,
    rules: &Rules,
) -> Result<Case, RecruitmentError> {
    let ref_id = id("reference_id", &r.id)?;
    let relation = ReferenceRelation::try_from(r.relation)
        .ok()
        .filter(|x| *x != ReferenceRelation::Unspecified)
        .ok_or_else(|| RecruitmentError::invalid("relation", "is required"))?;
    let result = outcome(r.outcome)?;
    let on = dates::opt_from_proto("contacted_on", r.contacted_on.as_ref())?.unwrap_or(today);
    check_date("contacted_on", case, on, today)?;
    let document_ref = line("document_ref", &r.document_ref, false, 100)?;
    check_order(case, InvestigationStep::References, rules)?;
    let mut c = case.clone();
    c.references.push(Reference {
        id: ref_id,
        relation: relation as i32,
        contacted_on: Some(dates::to_proto(on)),
        outcome: result as i32,
        document_ref,
    });
    Ok(c)
}

/// One register check of one adult; a later check of the same register
/// replaces the earlier.
pub fn record_register_check(
    case: &Case,
    adult_id: &str,
    register: Register,
    result: RegisterCheckOutcome,
    on: NaiveDate,
    today: NaiveDate,
    rules: &Rules,
) -> Result<Case, RecruitmentError> {
    let adult_id = id("adult_id", adult_id)?;
    if register == Register::Unspecified {
        return Err(RecruitmentError::invalid("register", "is required"));
    }
    if result == RegisterCheckOutcome::Unspecified {
        return Err(RecruitmentError::invalid("outcome", "is required"));
    }
    check_date("checked_on", case, on, today)?;
    if !case.adults.iter().any(|a| a.id == adult_id) {
        return Err(RecruitmentError::invalid(
            "adult_id",
            "is not an adult of this household",
        ));
    }
    check_order(case, InvestigationStep::RegisterChecks, rules)?;
    let mut c = case.clone();
    c.register_checks
        .retain(|x| !(x.adult_id == adult_id && x.register == register as i32));
    c.register_checks.push(RegisterCheck {
        adult_id,
        register: register as i32,
        checked_on: Some(dates::to_proto(on)),
        outcome: result as i32,
    });
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::pipeline::tests::{ADULT_C, CARER_A, CARER_B, adult, answered_case, d};
    use crate::domain::pipeline::{Context, add_adult, advance};

    fn in_investigation(track: Track) -> Case {
        let rules = Rules::default();
        let t = d(2026, 4, 1);
        let mut c = answered_case(track, t);
        if track == Track::NetworkHome {
            c = advance(
                &c,
                Stage::Investigation,
                t,
                t,
                "o",
                &Context {
                    rules: &rules,
                    courses: &[],
                },
            )
            .unwrap();
        } else {
            c.stage = Stage::Investigation as i32;
            c.stages.push(samling_proto::recruitment::v1::StageEntry {
                stage: Stage::Investigation as i32,
                entered_on: Some(dates::to_proto(t)),
                ..Default::default()
            });
        }
        c
    }

    #[test]
    fn register_checks_are_needed_for_every_adult_and_every_register() {
        let rules = Rules::default();
        let t = d(2026, 4, 2);
        let c = in_investigation(Track::Standard);
        let c = add_adult(&c, adult(ADULT_C, AdultRole::OtherAdult), t).unwrap();
        let missing = register_checks_missing(&c, &rules);
        assert_eq!(missing.len(), 6, "3 adults × 2 registers: {missing:?}");
        let c = record_step(
            &c,
            InvestigationStep::BraFamScreening,
            StepOutcome::Satisfactory,
            t,
            t,
            "o",
            "",
            &rules,
        )
        .unwrap();
        let mut c2 = c.clone();
        for a in [CARER_A, CARER_B] {
            for r in [Register::CriminalRecords, Register::SocialServices] {
                c2 = record_register_check(&c2, a, r, RegisterCheckOutcome::Clear, t, t, &rules)
                    .unwrap();
            }
        }
        // The adult child living at home is not checked yet.
        let missing = register_checks_missing(&c2, &rules);
        assert_eq!(
            missing,
            vec![
                format!("register check criminal_records of adult {ADULT_C}"),
                format!("register check social_services of adult {ADULT_C}"),
            ]
        );
        assert!(
            investigation_missing(&c2, &rules)
                .iter()
                .any(|m| m.contains(ADULT_C))
        );
        // A remark is recorded (the recommendation weighs it), and a recheck replaces.
        let c3 = record_register_check(
            &c2,
            ADULT_C,
            Register::CriminalRecords,
            RegisterCheckOutcome::Remark,
            t,
            t,
            &rules,
        )
        .unwrap();
        let c3 = record_register_check(
            &c3,
            ADULT_C,
            Register::CriminalRecords,
            RegisterCheckOutcome::Clear,
            t,
            t,
            &rules,
        )
        .unwrap();
        assert_eq!(
            c3.register_checks
                .iter()
                .filter(|r| r.adult_id == ADULT_C)
                .count(),
            1
        );
        // Unknown adults and empty values are named.
        let e = record_register_check(
            &c2,
            "0190a0b1-0000-7000-8000-000000000099",
            Register::CriminalRecords,
            RegisterCheckOutcome::Clear,
            t,
            t,
            &rules,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "adult_id: is not an adult of this household");
        let e = record_register_check(
            &c2,
            CARER_A,
            Register::Unspecified,
            RegisterCheckOutcome::Clear,
            t,
            t,
            &rules,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "register: is required");
        // Configurable: with the suspicion register required too, more is missing.
        let strict = Rules {
            required_registers: vec![
                Register::CriminalRecords,
                Register::SocialServices,
                Register::Suspicions,
            ],
            ..Rules::default()
        };
        // (the adult child's social-services check, and everyone's suspicions).
        assert_eq!(register_checks_missing(&c3, &strict).len(), 4);
    }

    #[test]
    fn the_standard_track_starts_with_bra_fam() {
        let rules = Rules::default();
        let t = d(2026, 4, 2);
        let c = in_investigation(Track::Standard);
        let e = record_step(
            &c,
            InvestigationStep::FamilyVignettes,
            StepOutcome::Satisfactory,
            t,
            t,
            "o",
            "",
            &rules,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "on the standard track bra_fam_screening comes first: missing bra_fam_screening"
        );
        let e = record_register_check(
            &c,
            CARER_A,
            Register::CriminalRecords,
            RegisterCheckOutcome::Clear,
            t,
            t,
            &rules,
        )
        .unwrap_err();
        assert!(matches!(e, RecruitmentError::Precondition(_)));
        let c = record_step(
            &c,
            InvestigationStep::BraFamScreening,
            StepOutcome::Concerns,
            t,
            t,
            "o",
            "Akt 12",
            &rules,
        )
        .unwrap();
        assert!(
            record_step(
                &c,
                InvestigationStep::FamilyVignettes,
                StepOutcome::Satisfactory,
                t,
                t,
                "o",
                "",
                &rules
            )
            .is_ok()
        );
    }

    #[test]
    fn the_network_track_starts_with_register_checks_and_home_environment() {
        let rules = Rules::default();
        let t = d(2026, 4, 2);
        let c = in_investigation(Track::NetworkHome);
        let e = record_step(
            &c,
            InvestigationStep::BraFamScreening,
            StepOutcome::Satisfactory,
            t,
            t,
            "o",
            "",
            &rules,
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with(
                "on the network_home track register_checks and home_environment comes first"
            ),
            "{msg}"
        );
        assert!(
            msg.contains(CARER_A) && msg.contains("home_environment"),
            "{msg}"
        );
        // The first steps themselves are open.
        let mut c = record_step(
            &c,
            InvestigationStep::HomeEnvironment,
            StepOutcome::Satisfactory,
            t,
            t,
            "o",
            "",
            &rules,
        )
        .unwrap();
        for a in [CARER_A, CARER_B] {
            for r in [Register::CriminalRecords, Register::SocialServices] {
                c = record_register_check(&c, a, r, RegisterCheckOutcome::Clear, t, t, &rules)
                    .unwrap();
            }
        }
        assert!(
            record_step(
                &c,
                InvestigationStep::BraFamScreening,
                StepOutcome::Satisfactory,
                t,
                t,
                "o",
                "",
                &rules
            )
            .is_ok()
        );
        let r = Reference {
            id: "0190a0b1-0000-7000-8000-0000000000d0".into(),
            relation: ReferenceRelation::School as i32,
            contacted_on: None,
            outcome: StepOutcome::Satisfactory as i32,
            document_ref: String::new(),
        };
        let c = record_reference(&c, r, t, &rules).unwrap();
        assert_eq!(c.references[0].contacted_on, Some(dates::to_proto(t)));
    }

    #[test]
    fn investigation_records_need_the_investigation_stage_and_real_values() {
        let rules = Rules::default();
        let t = d(2026, 4, 2);
        let early = answered_case(Track::Standard, d(2026, 4, 1));
        let e = record_step(
            &early,
            InvestigationStep::BraFamScreening,
            StepOutcome::Satisfactory,
            t,
            t,
            "o",
            "",
            &rules,
        )
        .unwrap_err();
        assert!(e.to_string().contains("the case is in inquiry"), "{e}");
        let c = in_investigation(Track::Standard);
        let e = record_step(
            &c,
            InvestigationStep::References,
            StepOutcome::Satisfactory,
            t,
            t,
            "o",
            "",
            &rules,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("step:"));
        let e = record_step(
            &c,
            InvestigationStep::BraFamScreening,
            StepOutcome::Unspecified,
            t,
            t,
            "o",
            "",
            &rules,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "outcome: is required");
        let e = record_step(
            &c,
            InvestigationStep::BraFamScreening,
            StepOutcome::Satisfactory,
            d(2026, 4, 3),
            t,
            "o",
            "",
            &rules,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "completed_on: is in the future");
        let e = record_step(
            &c,
            InvestigationStep::BraFamScreening,
            StepOutcome::Satisfactory,
            d(2026, 3, 1),
            t,
            "o",
            "",
            &rules,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "completed_on: is before the inquiry arrived");
        let c = record_step(
            &c,
            InvestigationStep::BraFamScreening,
            StepOutcome::Satisfactory,
            t,
            t,
            "o",
            "",
            &rules,
        )
        .unwrap();
        let bad_ref = Reference {
            id: "x".into(),
            relation: 1,
            outcome: 1,
            ..Default::default()
        };
        assert!(
            record_reference(&c, bad_ref, t, &rules)
                .unwrap_err()
                .to_string()
                .starts_with("reference_id:")
        );
        let no_rel = Reference {
            id: "0190a0b1-0000-7000-8000-0000000000d0".into(),
            relation: 0,
            outcome: 1,
            ..Default::default()
        };
        assert_eq!(
            record_reference(&c, no_rel, t, &rules)
                .unwrap_err()
                .to_string(),
            "relation: is required"
        );
        // References count up to the required number.
        let missing = investigation_missing(&c, &rules);
        assert!(
            missing.contains(&"references (0 of 2)".to_string()),
            "{missing:?}"
        );
    }
}
