//! The evidence behind an approval (ADR 0028; seed 003 4147, 12645–12655,
//! 12782–12935): completed training, the standard investigation's methods
//! and result, follow-up home visits, and the renewal of the household's
//! register extracts (registerutdrag). Also the inspection rules IVO's
//! records share (ADR 0029).

use super::RegistryError;
use super::home::{check_plain, is_approved};
use chrono::NaiveDate;
use samling_kit::dates;
use samling_proto::registry::v1::{
    ApprovalEvidence, Home, Inspection, InvestigationMethod, MemberRole, Visitor,
};

/// What an approval lacks, as `Home.evidence_missing` names it.
pub const MISSING_TRAINING: &str = "training";
pub const MISSING_INVESTIGATION: &str = "evidence_based_investigation";

/// Recruitment's investigation steps (its `step_name`s) that are the
/// evidence-based methods: BRA-Fam and the family vignettes.
const EVIDENCE_BASED_STEPS: [&str; 2] = ["bra_fam_screening", "family_vignettes"];

/// At most this many findings per inspection or visit, each at most
/// [`FINDING_MAX_CHARS`].
pub const MAX_FINDINGS: usize = 20;
pub const FINDING_MAX_CHARS: usize = 500;

/// Is an investigation made with these methods evidence-based? BRA-Fam and
/// the vignettes are; Kälvesten (no strong scientific support, seed 003
/// 12860–12863) and "other" are not.
pub fn evidence_based(methods: &[InvestigationMethod]) -> bool {
    methods.iter().any(|m| {
        matches!(
            m,
            InvestigationMethod::BraFam | InvestigationMethod::Vignettes
        )
    })
}

/// The methods of a request: at least one, each known, no duplicates.
pub fn methods(raw: &[i32]) -> Result<Vec<InvestigationMethod>, RegistryError> {
    if raw.is_empty() {
        return Err(RegistryError::invalid(
            "methods",
            "at least one is required",
        ));
    }
    let mut out = Vec::with_capacity(raw.len());
    for (i, m) in raw.iter().enumerate() {
        let m = InvestigationMethod::try_from(*m)
            .ok()
            .filter(|m| *m != InvestigationMethod::Unspecified)
            .ok_or_else(|| {
                RegistryError::invalid(format!("methods[{i}]"), "is not a known value")
            })?;
        if !out.contains(&m) {
            out.push(m);
        }
    }
    Ok(out)
}

fn recruitment_trained(e: &ApprovalEvidence) -> bool {
    !e.course_ids.is_empty()
}

fn recruitment_investigated(e: &ApprovalEvidence) -> bool {
    e.investigation_steps
        .iter()
        .any(|s| EVIDENCE_BASED_STEPS.contains(&s.as_str()))
}

/// What the home's approval lacks: completed training, an evidence-based
/// investigation. Recruitment's evidence on an approval counts as much as
/// the records made in the register (nothing is copied between them).
pub fn missing(home: &Home) -> Vec<String> {
    let evidence = || home.approvals.iter().filter_map(|a| a.evidence.as_ref());
    let mut out = Vec::new();
    if home.trainings.is_empty() && !evidence().any(recruitment_trained) {
        out.push(MISSING_TRAINING.to_string());
    }
    if !home.investigation_records.iter().any(|i| i.evidence_based)
        && !evidence().any(recruitment_investigated)
    {
        out.push(MISSING_INVESTIGATION.to_string());
    }
    out
}

/// With `approval_requires_evidence`, an approval (already added to
/// `home`) must rest on completed training and an evidence-based
/// investigation, recorded in the register or in recruitment's evidence.
pub fn check_approval(home: &Home, rules: &super::Rules) -> Result<(), RegistryError> {
    if !rules.approval_requires_evidence {
        return Ok(());
    }
    let m = missing(home);
    if m.is_empty() {
        Ok(())
    } else {
        Err(RegistryError::precondition(format!(
            "the approval lacks {}: record the household's completed training and an \
             evidence-based investigation (BRA-Fam, vignettes) first",
            m.join(" and ")
        )))
    }
}

/// A date given for something done: not in the future.
pub fn done_on(
    field: &str,
    d: Option<&samling_proto::common::v1::Date>,
    today: NaiveDate,
) -> Result<NaiveDate, RegistryError> {
    let on = dates::from_proto(field, d)?;
    if on > today {
        return Err(RegistryError::invalid(field, "must not be in the future"));
    }
    Ok(on)
}

/// Findings: short plain lines without personal data, at most
/// [`MAX_FINDINGS`]; empty lines dropped.
pub fn findings(raw: &[String]) -> Result<Vec<String>, RegistryError> {
    if raw.len() > MAX_FINDINGS {
        return Err(RegistryError::invalid(
            "findings",
            format!("at most {MAX_FINDINGS} findings"),
        ));
    }
    let mut out = Vec::new();
    for (i, f) in raw.iter().enumerate() {
        let f = f.trim();
        if f.is_empty() {
            continue;
        }
        let field = format!("findings[{i}]");
        if f.chars().count() > FINDING_MAX_CHARS {
            return Err(RegistryError::invalid(
                field,
                format!("is longer than {FINDING_MAX_CHARS} characters"),
            ));
        }
        check_plain(&field, f)?;
        out.push(f.to_string());
    }
    Ok(out)
}

/// A short free-text field (course name, authority, report reference).
pub fn short_text(field: &str, s: &str, max: usize) -> Result<String, RegistryError> {
    let s = s.trim();
    if s.chars().count() > max {
        return Err(RegistryError::invalid(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    check_plain(field, s)?;
    Ok(s.to_string())
}

/// When the household adults' register extracts are next due: for each
/// adult (carer or other adult) the latest check plus `months`, the
/// earliest of those; an adult never checked is due from `registered` (the
/// home's registration). `None` for a household without adults.
pub fn record_checks_due(home: &Home, months: u32, registered: NaiveDate) -> Option<NaiveDate> {
    home.members
        .iter()
        .filter(|m| m.role != MemberRole::Child as i32)
        .map(|m| {
            m.record_checks
                .iter()
                .filter_map(|c| {
                    dates::opt_from_proto("", c.checked_on.as_ref())
                        .ok()
                        .flatten()
                })
                .max()
                .map_or(registered, |last| dates::add_months(last, months))
        })
        .min()
}

/// The one definition of "register extracts overdue": an approved home
/// whose extracts were due before `on`. `GetHome`'s flag and
/// `ListRecordChecksOverdue` ask this (the store's filter narrows to it).
pub fn record_checks_overdue(home: &Home, on: NaiveDate) -> bool {
    is_approved(home)
        && dates::opt_from_proto("", home.record_checks_due_on.as_ref())
            .ok()
            .flatten()
            .is_some_and(|d| d < on)
}

/// The date part of a stored instant ("2026-11-23T…"), for a home's
/// registration.
pub fn date_of(instant: &str, fallback: NaiveDate) -> NaiveDate {
    instant
        .get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or(fallback)
}

/// Refresh what the evidence rules derive on a home being written:
/// the extracts' due date and what the approval lacks.
pub fn refresh(home: &mut Home, months: u32, today: NaiveDate) {
    let registered = date_of(&home.created_at, today);
    home.record_checks_due_on = record_checks_due(home, months, registered).map(dates::to_proto);
    home.evidence_missing = missing(home);
}

/// Did the latest of these inspections (by date; the later recorded of
/// one day) find remarks?
pub fn latest_remarks(inspections: &[Inspection]) -> bool {
    inspections
        .iter()
        .enumerate()
        .max_by_key(|(i, x)| {
            (
                dates::opt_from_proto("", x.inspected_on.as_ref())
                    .ok()
                    .flatten(),
                *i,
            )
        })
        .is_some_and(|(_, x)| x.remarks)
}

/// Did IVO's latest visit to the home find remarks?
pub fn home_inspection_remarks(home: &Home) -> bool {
    home.visits
        .iter()
        .enumerate()
        .filter(|(_, v)| v.visitor == Visitor::Ivo as i32)
        .max_by_key(|(i, v)| {
            (
                dates::opt_from_proto("", v.visited_on.as_ref())
                    .ok()
                    .flatten(),
                *i,
            )
        })
        .is_some_and(|(_, v)| v.remarks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_proto::registry::v1::{
        Approval, HouseholdMember, InvestigationRecord, RecordCheck, TrainingRecord,
    };

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn kalvesten_alone_is_not_evidence_based() {
        use InvestigationMethod::*;
        assert!(!evidence_based(&[Kalvesten]));
        assert!(!evidence_based(&[Kalvesten, Other]));
        assert!(evidence_based(&[Kalvesten, BraFam]));
        assert!(evidence_based(&[Vignettes]));
        assert!(methods(&[]).is_err());
        assert!(methods(&[0]).is_err());
        assert_eq!(methods(&[1, 1, 2]).unwrap(), vec![BraFam, Vignettes]);
    }

    #[test]
    fn recruitments_evidence_counts_as_much_as_the_registers_records() {
        let mut h = Home::default();
        assert_eq!(missing(&h), vec![MISSING_TRAINING, MISSING_INVESTIGATION]);
        h.approvals.push(Approval {
            evidence: Some(ApprovalEvidence {
                course_ids: vec!["c1".into()],
                investigation_steps: vec!["health".into()],
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(missing(&h), vec![MISSING_INVESTIGATION]);
        h.investigation_records.push(InvestigationRecord {
            evidence_based: false,
            ..Default::default()
        });
        assert_eq!(
            missing(&h),
            vec![MISSING_INVESTIGATION],
            "Kälvesten does not count"
        );
        h.approvals[0]
            .evidence
            .as_mut()
            .unwrap()
            .investigation_steps = vec!["family_vignettes".into()];
        assert!(missing(&h).is_empty());
        let h2 = Home {
            trainings: vec![TrainingRecord::default()],
            investigation_records: vec![InvestigationRecord {
                evidence_based: true,
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(missing(&h2).is_empty());
    }

    #[test]
    fn the_rule_refuses_an_approval_without_evidence_only_when_configured() {
        let mut rules = super::super::Rules::default();
        assert!(
            !rules.approval_requires_evidence,
            "off for in-process registers (the served default is on: config.rs)"
        );
        assert_eq!(rules.record_check_renewal_months, 12);
        let bare = Home::default();
        assert!(check_approval(&bare, &rules).is_ok());
        rules.approval_requires_evidence = true;
        let e = check_approval(&bare, &rules).unwrap_err();
        assert!(
            e.to_string()
                .contains("training and evidence_based_investigation"),
            "{e}"
        );
        let evidenced = Home {
            trainings: vec![TrainingRecord::default()],
            investigation_records: vec![InvestigationRecord {
                evidence_based: true,
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(check_approval(&evidenced, &rules).is_ok());
    }

    #[test]
    fn extracts_are_due_from_the_oldest_adults_latest_check() {
        let check = |on: NaiveDate| RecordCheck {
            checked_on: Some(dates::to_proto(on)),
            register: "belastningsregistret".into(),
            outcome: 1,
        };
        let mut h = Home {
            members: vec![
                HouseholdMember {
                    role: MemberRole::Carer as i32,
                    record_checks: vec![check(d(2025, 1, 10)), check(d(2026, 2, 1))],
                    ..Default::default()
                },
                HouseholdMember {
                    role: MemberRole::OtherAdult as i32,
                    record_checks: vec![check(d(2025, 6, 1))],
                    ..Default::default()
                },
                HouseholdMember {
                    role: MemberRole::Child as i32,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        assert_eq!(
            record_checks_due(&h, 12, d(2024, 1, 1)),
            Some(d(2026, 6, 1))
        );
        h.members[1].record_checks.clear();
        assert_eq!(
            record_checks_due(&h, 12, d(2024, 1, 1)),
            Some(d(2024, 1, 1)),
            "an adult never checked is due from the registration"
        );
        h.members.retain(|m| m.role == MemberRole::Child as i32);
        assert_eq!(record_checks_due(&h, 12, d(2024, 1, 1)), None);
    }

    #[test]
    fn overdue_needs_an_approved_home_and_a_date_passed() {
        let mut h = Home {
            status: samling_proto::registry::v1::HomeStatus::Approved as i32,
            record_checks_due_on: Some(dates::to_proto(d(2026, 6, 1))),
            ..Default::default()
        };
        assert!(
            !record_checks_overdue(&h, d(2026, 6, 1)),
            "due that day is not overdue"
        );
        assert!(record_checks_overdue(&h, d(2026, 6, 2)));
        h.status = samling_proto::registry::v1::HomeStatus::Applicant as i32;
        assert!(!record_checks_overdue(&h, d(2026, 6, 2)));
    }

    #[test]
    fn findings_are_short_plain_lines() {
        assert_eq!(
            findings(&[" a ".into(), "".into(), "b".into()]).unwrap(),
            vec!["a", "b"]
        );
        assert!(findings(&vec!["x".to_string(); 21]).is_err());
        let e = findings(&["ok".into(), "y".repeat(501)]).unwrap_err();
        assert!(e.to_string().starts_with("findings[1]"), "{e}");
    }

    #[test]
    fn the_latest_inspection_decides_the_remarks_flag() {
        let i = |on: NaiveDate, remarks| Inspection {
            inspected_on: Some(dates::to_proto(on)),
            remarks,
            ..Default::default()
        };
        assert!(!latest_remarks(&[]));
        assert!(latest_remarks(&[
            i(d(2026, 1, 1), false),
            i(d(2026, 3, 1), true)
        ]));
        assert!(!latest_remarks(&[
            i(d(2026, 3, 1), false),
            i(d(2026, 1, 1), true)
        ]));
    }
}
