//! GDPR withdrawal: the person takes back their inquiry (or their consent).
//! The case ends (status withdrawn; an open case drops out with the reason
//! `consent_withdrawn`), and what identifies or assesses the person is
//! erased. What is kept carries no personal data beyond the case's own id,
//! and each kept field says why.
//!
//! * Always erased: the applicant's names, contact details, language and
//!   message; the household adults (names, birth years); their interests
//!   and household counts; information-meeting attendance; consent to future
//!   contact.
//! * Erased when the basis was consent; kept when it was a public task or a
//!   legal obligation (the authority's documentation of its exercise of
//!   official authority, GDPR art. 17(3)(b), kept and culled under the
//!   archive rules): the investigation's outcomes, references, register
//!   checks and the recommendation.
//! * Kept: the id and reference (to answer "what happened to my inquiry"),
//!   region, municipality, track, route, channel, campaign, received date,
//!   stage history and drop-out (anonymous statistics), the lawful basis,
//!   notice version and the withdrawal's date (proof of lawful processing
//!   and that the withdrawal happened).
//! * Refused for an approved case: the approved home's evidence is the
//!   registry's, where consent is withdrawn (`WithdrawConsent`).
use super::RecruitmentError;
use super::pipeline::close_as_dropped;
use chrono::NaiveDate;
use samling_kit::dates;
use samling_proto::recruitment::v1::{
    Case, CaseStatus, DropOutInitiator, DropOutReason, FieldDisposition, LawfulBasis, StageOutcome,
};

const ALWAYS_ERASED: &[&str] = &[
    "applicant.given_name",
    "applicant.family_name",
    "applicant.email",
    "applicant.phone",
    "applicant.preferred_contact",
    "applicant.language",
    "applicant.message",
    "adults",
    "interests",
    "adults_in_household",
    "children_in_household",
    "info_meeting_ids",
    "consent.future_contact",
];

const ASSESSMENTS: &[&str] = &[
    "investigation",
    "references",
    "register_checks",
    "recommendation",
];

const KEPT: &[(&str, &str)] = &[
    ("id", "the case's own id, no personal data"),
    (
        "reference",
        "lets the person ask what became of the inquiry",
    ),
    ("region_id", "anonymous statistics"),
    ("municipality_code", "anonymous statistics"),
    ("track", "anonymous statistics"),
    ("intake_route", "anonymous statistics"),
    ("channel", "anonymous statistics (yield per channel)"),
    ("campaign_id", "anonymous statistics (yield per campaign)"),
    ("received_on", "anonymous statistics (funnel cohort)"),
    ("stages", "anonymous statistics (days per step), dates only"),
    ("drop_out", "anonymous statistics (drop-out reasons)"),
    ("consent.basis", "proof the data was processed lawfully"),
    (
        "consent.privacy_notice_version",
        "proof the data was processed lawfully",
    ),
    ("consent.withdrawn_at", "proof the withdrawal happened"),
];

const OFFICIAL_RECORD: &str = "documentation of the authority's exercise of official \
authority (GDPR art. 17(3)(b)); kept and culled under the archive rules";

/// The case after withdrawal on `on` (at `now_text`), and what was erased
/// and kept.
pub fn withdraw(
    case: &Case,
    on: NaiveDate,
    now_text: &str,
    today: NaiveDate,
) -> Result<(Case, Vec<FieldDisposition>, Vec<FieldDisposition>), RecruitmentError> {
    match case.status() {
        CaseStatus::Approved => {
            return Err(RecruitmentError::precondition(
                "the case is approved: its evidence is the registry's; withdraw consent there",
            ));
        }
        CaseStatus::Withdrawn => {
            return Err(RecruitmentError::precondition(
                "the case is already withdrawn",
            ));
        }
        _ => {}
    }
    if on > today {
        return Err(RecruitmentError::invalid(
            "withdrawn_on",
            "is in the future",
        ));
    }
    let received = dates::opt_from_proto("received_on", case.received_on.as_ref())?;
    if received.is_some_and(|r| on < r) {
        return Err(RecruitmentError::invalid(
            "withdrawn_on",
            "is before the inquiry arrived",
        ));
    }
    let mut c = if case.status() == CaseStatus::Open {
        let on = latest(case, on);
        close_as_dropped(
            case,
            DropOutReason::ConsentWithdrawn,
            DropOutInitiator::Applicant,
            on,
            StageOutcome::Withdrawn,
        )
    } else {
        // Dropped out before: the real reason stays for the statistics.
        let mut c = case.clone();
        c.status = CaseStatus::Withdrawn as i32;
        c
    };
    let basis = case
        .consent
        .as_ref()
        .map(|c| c.basis())
        .unwrap_or(LawfulBasis::Unspecified);
    let official = matches!(
        basis,
        LawfulBasis::PublicTask | LawfulBasis::LegalObligation
    );

    c.applicant = None;
    c.adults.clear();
    c.interests.clear();
    c.adults_in_household = 0;
    c.children_in_household = 0;
    c.info_meeting_ids.clear();
    if let Some(consent) = c.consent.as_mut() {
        consent.future_contact = false;
        consent.given = false;
        consent.withdrawn_at = now_text.to_string();
    }
    // Owners are officers, not the person; kept in the stage history.
    if !official {
        c.investigation.clear();
        c.references.clear();
        c.register_checks.clear();
        c.recommendation = None;
    } else {
        // Register checks name adults that are erased: keep outcomes only.
        for r in &mut c.register_checks {
            r.adult_id.clear();
        }
    }
    c.personal_data_erased = true;
    c.first_response_overdue = false;
    c.stage_overdue = false;

    let mut erased: Vec<FieldDisposition> = ALWAYS_ERASED
        .iter()
        .map(|f| FieldDisposition {
            field: (*f).into(),
            reason: String::new(),
        })
        .collect();
    let mut kept: Vec<FieldDisposition> = KEPT
        .iter()
        .map(|(f, r)| FieldDisposition {
            field: (*f).into(),
            reason: (*r).into(),
        })
        .collect();
    for f in ASSESSMENTS {
        if official {
            kept.push(FieldDisposition {
                field: (*f).into(),
                reason: OFFICIAL_RECORD.into(),
            });
        } else {
            erased.push(FieldDisposition {
                field: (*f).into(),
                reason: String::new(),
            });
        }
    }
    Ok((c, erased, kept))
}

/// A withdrawal dated before the current stage began closes it that day.
fn latest(case: &Case, on: NaiveDate) -> NaiveDate {
    case.stages
        .iter()
        .filter_map(|e| {
            dates::opt_from_proto("entered_on", e.entered_on.as_ref())
                .ok()
                .flatten()
        })
        .max()
        .map_or(on, |e| e.max(on))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Rules;
    use crate::domain::investigation::record_step;
    use crate::domain::pipeline::drop_out;
    use crate::domain::pipeline::tests::{answered_case, d};
    use samling_proto::recruitment::v1::{
        InvestigationStep, RegisterCheck, Stage, StageEntry, StepOutcome, Track,
    };

    fn investigated(basis: LawfulBasis) -> Case {
        let t = d(2026, 4, 1);
        let mut c = answered_case(Track::Standard, t);
        c.consent.as_mut().unwrap().basis = basis as i32;
        c.consent.as_mut().unwrap().future_contact = true;
        c.stage = Stage::Investigation as i32;
        c.stages.push(StageEntry {
            stage: Stage::Investigation as i32,
            entered_on: Some(dates::to_proto(d(2026, 4, 10))),
            ..Default::default()
        });
        c.info_meeting_ids.push("m".into());
        let mut c = record_step(
            &c,
            InvestigationStep::BraFamScreening,
            StepOutcome::Concerns,
            d(2026, 4, 12),
            d(2026, 4, 12),
            "o",
            "Akt 3",
            &Rules::default(),
        )
        .unwrap();
        c.register_checks.push(RegisterCheck {
            adult_id: c.adults[0].id.clone(),
            register: 1,
            checked_on: None,
            outcome: 1,
        });
        c
    }

    fn fields(v: &[FieldDisposition]) -> Vec<&str> {
        v.iter().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn withdrawing_a_consent_case_erases_everything_personal() {
        let c = investigated(LawfulBasis::Consent);
        let (w, erased, kept) = withdraw(
            &c,
            d(2026, 4, 20),
            "2026-04-20T09:00:00.000000Z",
            d(2026, 4, 20),
        )
        .unwrap();
        assert_eq!(w.status(), CaseStatus::Withdrawn);
        assert!(w.personal_data_erased);
        assert_eq!(
            w.drop_out.as_ref().unwrap().reason(),
            DropOutReason::ConsentWithdrawn
        );
        assert_eq!(
            w.drop_out.as_ref().unwrap().at_stage(),
            Stage::Investigation
        );
        assert_eq!(w.stages.last().unwrap().outcome(), StageOutcome::Withdrawn);
        assert!(w.applicant.is_none() && w.adults.is_empty() && w.interests.is_empty());
        assert!(
            w.investigation.is_empty()
                && w.register_checks.is_empty()
                && w.recommendation.is_none()
        );
        assert!(w.info_meeting_ids.is_empty());
        let consent = w.consent.as_ref().unwrap();
        assert!(!consent.future_contact && !consent.given);
        assert_eq!(consent.withdrawn_at, "2026-04-20T09:00:00.000000Z");
        assert_eq!(consent.basis(), LawfulBasis::Consent);
        // Nothing the person typed survives anywhere in the record.
        let text = format!("{w:?}").to_lowercase();
        for personal in [
            "karin",
            "lindqvist",
            "example.se",
            "0701234567",
            "extra rum",
            "vuxen",
            "testsson",
            "1980",
            "akt 3",
        ] {
            assert!(!text.contains(personal), "{personal} kept: {text}");
        }
        assert!(fields(&erased).contains(&"applicant.email"));
        assert!(fields(&erased).contains(&"register_checks"));
        assert!(fields(&kept).contains(&"stages"));
        assert!(kept.iter().all(|k| !k.reason.is_empty()));
        // What the statistics need is still there.
        assert_eq!(w.received_on, c.received_on);
        assert_eq!(w.channel, c.channel);
        assert_eq!(w.stages.len(), c.stages.len());
        assert_eq!(w.reference, c.reference);
    }

    #[test]
    fn an_official_investigation_keeps_its_outcomes_with_the_reason() {
        let c = investigated(LawfulBasis::PublicTask);
        let (w, erased, kept) = withdraw(&c, d(2026, 4, 20), "now", d(2026, 4, 20)).unwrap();
        assert!(w.applicant.is_none() && w.adults.is_empty());
        assert_eq!(w.investigation.len(), 1);
        assert_eq!(w.register_checks.len(), 1);
        assert!(
            w.register_checks[0].adult_id.is_empty(),
            "no link to an erased adult"
        );
        let k = kept.iter().find(|k| k.field == "investigation").unwrap();
        assert!(k.reason.contains("17(3)(b)"));
        assert!(!fields(&erased).contains(&"investigation"));
    }

    #[test]
    fn a_dropped_out_case_keeps_its_reason_and_approved_cases_are_refused() {
        let t = d(2026, 4, 1);
        let c = answered_case(Track::Standard, t);
        let gone = drop_out(&c, DropOutReason::Housing as i32, 1, t, t).unwrap();
        let (w, _, _) = withdraw(&gone, d(2026, 5, 1), "now", d(2026, 5, 1)).unwrap();
        assert_eq!(w.status(), CaseStatus::Withdrawn);
        assert_eq!(
            w.drop_out.as_ref().unwrap().reason(),
            DropOutReason::Housing
        );
        assert!(w.applicant.is_none());
        assert!(matches!(
            withdraw(&w, d(2026, 5, 2), "now", d(2026, 5, 2)),
            Err(RecruitmentError::Precondition(_))
        ));

        let mut approved = c.clone();
        approved.status = CaseStatus::Approved as i32;
        let e = withdraw(&approved, t, "now", t).unwrap_err();
        assert!(e.to_string().contains("registry"));
        let e = withdraw(&c, d(2026, 4, 2), "now", t).unwrap_err();
        assert_eq!(e.to_string(), "withdrawn_on: is in the future");
        let e = withdraw(&c, d(2026, 3, 1), "now", t).unwrap_err();
        assert_eq!(e.to_string(), "withdrawn_on: is before the inquiry arrived");
    }
}
