//! Cases through the pipeline: each transition with its requirements and
//! deadlines (the injectable clock), the investigation, drop-outs at every
//! stage, owner and household adults.

use crate::common::*;
use crate::intake::{date, field, inquiry};
use chrono::NaiveDate;
use samling_kit::dates;
use samling_proto::recruitment::v1::*;
use samling_proto::registry::v1::HomeType;
use samling_recruitment::domain::Rules;
use samling_recruitment::domain::calendar::add_working_days;
use tonic::Code;

/// Moves a case into `stage` on `on` in the store, as the parts that are
/// not this file's would (the information meeting's attendance and the
/// training are recorded by service/training.rs): the current stage passed,
/// the new one open with its deadline.
pub async fn put_in_stage(h: &Harness, case_id: &str, stage: Stage, on: NaiveDate) -> Case {
    let mut conn = h.store().write.acquire().await.unwrap();
    let mut c = samling_recruitment::store::cases::must_get(&mut *conn, case_id)
        .await
        .unwrap();
    for e in c.stages.iter_mut().filter(|e| e.left_on.is_none()) {
        e.left_on = Some(dates::to_proto(on));
        e.outcome = StageOutcome::Passed as i32;
    }
    let due = Rules::default()
        .stage_working_days(c.track(), stage)
        .map(|n| dates::to_proto(add_working_days(on, n)));
    c.stages.push(StageEntry {
        stage: stage as i32,
        entered_on: Some(dates::to_proto(on)),
        owner: c.owner.clone(),
        due_on: due,
        ..Default::default()
    });
    c.stage = stage as i32;
    c.stage_due_on = due;
    if c.first_responded_on.is_none() {
        c.first_responded_on = Some(dates::to_proto(on));
    }
    c.version += 1;
    samling_recruitment::store::cases::save(&mut conn, &c, false)
        .await
        .unwrap();
    c
}

async fn advance(client: &mut Client, case_id: &str, to: Stage) -> Result<Case, tonic::Status> {
    rpc!(
        *client,
        advance_case,
        AdvanceCaseRequest {
            case_id: case_id.into(),
            to_stage: to as i32,
            ..Default::default()
        }
    )
}

/// A standard-track case through the investigation (over this service's
/// RPCs) and recommended for approval as a family home for 2 children.
pub async fn ready_for_approval(h: &Harness) -> Case {
    let b = h.backend;
    let mut office = h.client(office()).await;
    let c = inquiry(h, "0180").await;
    let today = h.clock.today();
    put_in_stage(h, &c.id, Stage::Investigation, today).await;
    let adult = rpc!(
        office,
        add_household_adult,
        AddHouseholdAdultRequest {
            case_id: c.id.clone(),
            given_name: "Ingrid".into(),
            family_name: "Sjöholm".into(),
            birth_year: 1980,
            role: AdultRole::Carer as i32,
            ..Default::default()
        }
    )
    .unwrap_or_else(|e| panic!("[{b}] adult: {e}"))
    .adults
    .remove(0);
    investigate(&mut office, b, &c.id, std::slice::from_ref(&adult.id)).await;
    advance(&mut office, &c.id, Stage::Recommendation)
        .await
        .unwrap_or_else(|e| panic!("[{b}] to recommendation: {e}"));
    rpc!(
        office,
        record_recommendation,
        RecordRecommendationRequest {
            case_id: c.id.clone(),
            kind: RecommendationKind::Approve as i32,
            home_types: vec![HomeType::FamilyHome as i32],
            capacity: 2,
            ..Default::default()
        }
    )
    .unwrap_or_else(|e| panic!("[{b}] recommendation: {e}"))
}

/// The standard investigation recorded over the RPCs: every step
/// satisfactory (BRA-Fam first), two references, every adult checked in the
/// registers.
pub async fn investigate(officer: &mut Client, b: &str, case_id: &str, adults: &[String]) {
    for step in [
        InvestigationStep::BraFamScreening,
        InvestigationStep::FamilyVignettes,
        InvestigationStep::PersonalCircumstances,
        InvestigationStep::HomeEnvironment,
        InvestigationStep::Health,
    ] {
        rpc!(
            *officer,
            record_investigation_step,
            RecordInvestigationStepRequest {
                case_id: case_id.into(),
                step: step as i32,
                outcome: StepOutcome::Satisfactory as i32,
                document_ref: format!("akt {}", step as i32),
                ..Default::default()
            }
        )
        .unwrap_or_else(|e| panic!("[{b}] step {step:?}: {e}"));
    }
    for relation in [ReferenceRelation::Employer, ReferenceRelation::Personal] {
        rpc!(
            *officer,
            record_reference,
            RecordReferenceRequest {
                case_id: case_id.into(),
                relation: relation as i32,
                outcome: StepOutcome::Satisfactory as i32,
                ..Default::default()
            }
        )
        .unwrap_or_else(|e| panic!("[{b}] reference: {e}"));
    }
    for adult in adults {
        for register in [Register::CriminalRecords, Register::SocialServices] {
            rpc!(
                *officer,
                record_register_check,
                RecordRegisterCheckRequest {
                    case_id: case_id.into(),
                    adult_id: adult.clone(),
                    register: register as i32,
                    outcome: RegisterCheckOutcome::Clear as i32,
                    ..Default::default()
                }
            )
            .unwrap_or_else(|e| panic!("[{b}] register check: {e}"));
        }
    }
}

#[tokio::test]
async fn each_stage_opens_once_the_last_ones_requirements_are_met_with_its_deadline() {
    for (h, _b) in harnesses(Some(REGION)).await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        let c = inquiry(&h, "0180").await;
        assert_eq!(c.stage, Stage::Inquiry as i32, "[{b}]");

        // Not before the first response; never skipping a stage.
        let e = advance(&mut office, &c.id, Stage::InfoMeeting)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "[{b}]");
        assert!(
            e.message().contains("the first response recorded"),
            "[{b}] {}",
            e.message()
        );
        let e = advance(&mut office, &c.id, Stage::Training)
            .await
            .unwrap_err();
        assert!(
            e.message().contains("not to training"),
            "[{b}] {}",
            e.message()
        );
        let e = advance(&mut office, &c.id, Stage::Approved)
            .await
            .unwrap_err();
        assert_eq!(field(&e), Some("to_stage"), "[{b}]");

        h.clock.set(crate::intake::at(2026, 12, 3));
        let r = rpc!(
            office,
            record_first_response,
            RecordFirstResponseRequest {
                case_id: c.id.clone(),
                ..Default::default()
            }
        )
        .unwrap();
        // A stale version is refused.
        let e = rpc!(
            office,
            advance_case,
            AdvanceCaseRequest {
                case_id: c.id.clone(),
                to_stage: Stage::InfoMeeting as i32,
                expected_version: c.version,
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::Aborted, "[{b}]");
        let met = rpc!(
            office,
            advance_case,
            AdvanceCaseRequest {
                case_id: c.id.clone(),
                to_stage: Stage::InfoMeeting as i32,
                expected_version: r.version,
                ..Default::default()
            }
        )
        .unwrap_or_else(|e| panic!("[{b}] to info meeting: {e}"));
        assert_eq!(met.stage, Stage::InfoMeeting as i32, "[{b}]");
        assert_eq!(met.stages.len(), 2, "[{b}]");
        assert_eq!(met.stages[0].left_on, Some(date(2026, 12, 3)), "[{b}]");
        assert_eq!(met.stages[0].outcome, StageOutcome::Passed as i32, "[{b}]");
        assert_eq!(met.stages[1].entered_on, Some(date(2026, 12, 3)), "[{b}]");
        assert_eq!(met.stage_due_on, None, "[{b}] the meeting has no deadline");
        assert_eq!(met.owner, OFFICER, "[{b}]");
        let e = advance(&mut office, &c.id, Stage::Training)
            .await
            .unwrap_err();
        assert!(
            e.message().contains("attendance at an information meeting"),
            "[{b}] {}",
            e.message()
        );

        // In the investigation (after the meeting and training): 80 working days.
        let inv = put_in_stage(
            &h,
            &c.id,
            Stage::Investigation,
            NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
        )
        .await;
        let due = add_working_days(NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(), 80);
        assert_eq!(inv.stage_due_on, Some(dates::to_proto(due)), "[{b}]");
        let e = advance(&mut office, &c.id, Stage::Recommendation)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "[{b}]");
        for missing in [
            "bra_fam_screening",
            "health",
            "references (0 of 2)",
            "a household adult to check",
        ] {
            assert!(
                e.message().contains(missing),
                "[{b}] {missing}: {}",
                e.message()
            );
        }
        // The standard track begins with the BRA-Fam screening.
        let e = rpc!(
            office,
            record_investigation_step,
            RecordInvestigationStepRequest {
                case_id: c.id.clone(),
                step: InvestigationStep::Health as i32,
                outcome: StepOutcome::Satisfactory as i32,
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "[{b}] {e:?}");

        // Overdue after its deadline: listed with overdue_only.
        let overdue = || ListCasesRequest {
            overdue_only: true,
            ..Default::default()
        };
        let listed = rpc!(office, list_cases, overdue()).unwrap();
        assert!(listed.cases.is_empty(), "[{b}] {:?}", listed.cases);
        h.clock.set(
            due.succ_opt()
                .unwrap()
                .and_hms_opt(9, 0, 0)
                .unwrap()
                .and_utc(),
        );
        let listed = rpc!(office, list_cases, overdue()).unwrap();
        assert_eq!(listed.cases.len(), 1, "[{b}]");
        assert!(listed.cases[0].stage_overdue, "[{b}]");
        let by_stage = rpc!(
            office,
            list_cases,
            ListCasesRequest {
                stage: Stage::Investigation as i32,
                status: CaseStatus::Open as i32,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(by_stage.cases.len(), 1, "[{b}]");
        let by_other = rpc!(
            office,
            list_cases,
            ListCasesRequest {
                stage: Stage::Training as i32,
                ..Default::default()
            }
        )
        .unwrap();
        assert!(by_other.cases.is_empty(), "[{b}]");
    }
}

#[tokio::test]
async fn the_investigation_recorded_step_by_step_leads_to_the_recommendation() {
    for (h, _b) in harnesses(Some(REGION)).await {
        let b = h.backend;
        let c = ready_for_approval(&h).await;
        assert_eq!(c.stage, Stage::Recommendation as i32, "[{b}]");
        assert_eq!(c.investigation.len(), 5, "[{b}]");
        assert_eq!(c.references.len(), 2, "[{b}]");
        assert_eq!(c.register_checks.len(), 2, "[{b}]");
        let rec = c.recommendation.as_ref().unwrap();
        assert_eq!(rec.kind, RecommendationKind::Approve as i32, "[{b}]");
        assert_eq!(rec.capacity, 2, "[{b}]");
        // A municipality sees the progress, not the assessments.
        let mut cw = h.client(caseworker("0180")).await;
        let seen = rpc!(
            cw,
            get_case,
            GetCaseRequest {
                case_id: c.id.clone()
            }
        )
        .unwrap();
        assert_eq!(seen.stage, Stage::Recommendation as i32, "[{b}]");
        assert!(
            seen.investigation.is_empty() && seen.register_checks.is_empty(),
            "[{b}]"
        );
        assert!(
            seen.adults
                .iter()
                .all(|a| a.given_name.is_empty() && a.birth_year == 0),
            "[{b}]"
        );
        // Nothing of the investigation in the events: ids and codes.
        for e in crate::intake::events(&h).await {
            for p in ["CLEAR", "REMARK", "SATISFACTORY", "akt ", "Ingrid", "1980"] {
                assert!(
                    !e.payload_json.contains(p),
                    "[{b}] {p} in {}",
                    e.payload_json
                );
            }
        }
    }
}

#[tokio::test]
async fn a_case_drops_out_at_any_stage_with_a_reason_code() {
    for (h, _b) in harnesses(Some(REGION)).await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        let today = h.clock.today();
        for stage in [
            Stage::Inquiry,
            Stage::InfoMeeting,
            Stage::Training,
            Stage::Investigation,
            Stage::Recommendation,
        ] {
            let c = inquiry(&h, "0180").await;
            if stage != Stage::Inquiry {
                put_in_stage(&h, &c.id, stage, today).await;
            }
            let e = rpc!(
                office,
                drop_out,
                DropOutRequest {
                    case_id: c.id.clone(),
                    reason: DropOutReason::ConsentWithdrawn as i32,
                    initiated_by: DropOutInitiator::Applicant as i32,
                    ..Default::default()
                }
            )
            .unwrap_err();
            assert_eq!(field(&e), Some("reason"), "[{b}] {stage:?}");
            let d = rpc!(
                office,
                drop_out,
                DropOutRequest {
                    case_id: c.id.clone(),
                    reason: DropOutReason::LifeCircumstances as i32,
                    initiated_by: DropOutInitiator::Applicant as i32,
                    ..Default::default()
                }
            )
            .unwrap_or_else(|e| panic!("[{b}] drop out at {stage:?}: {e}"));
            assert_eq!(d.status, CaseStatus::DroppedOut as i32, "[{b}]");
            let out = d.drop_out.as_ref().unwrap();
            assert_eq!(out.at_stage, stage as i32, "[{b}]");
            assert_eq!(out.reason, DropOutReason::LifeCircumstances as i32, "[{b}]");
            assert_eq!(
                d.stages.last().unwrap().outcome,
                StageOutcome::DroppedOut as i32,
                "[{b}] {stage:?}"
            );
            let e = rpc!(
                office,
                drop_out,
                DropOutRequest {
                    case_id: c.id.clone(),
                    reason: DropOutReason::Other as i32,
                    initiated_by: DropOutInitiator::Authority as i32,
                    ..Default::default()
                }
            )
            .unwrap_err();
            assert_eq!(e.code(), Code::FailedPrecondition, "[{b}]");
        }
        let dropped: Vec<_> = crate::intake::events(&h)
            .await
            .into_iter()
            .filter(|e| e.event_type == "recruitment.case_dropped_out")
            .collect();
        assert_eq!(dropped.len(), 5, "[{b}]");
        assert!(
            dropped[0]
                .payload_json
                .contains("DROP_OUT_REASON_LIFE_CIRCUMSTANCES"),
            "[{b}]"
        );
        let listed = rpc!(
            office,
            list_cases,
            ListCasesRequest {
                status: CaseStatus::DroppedOut as i32,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(listed.cases.len(), 5, "[{b}]");
    }
}

#[tokio::test]
async fn the_owner_and_the_household_adults_are_the_offices_to_change() {
    for (h, _b) in harnesses(Some(REGION)).await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        let c = inquiry(&h, "0180").await;
        let owned = rpc!(
            office,
            assign_case_owner,
            AssignCaseOwnerRequest {
                case_id: c.id.clone(),
                owner: "officer-7".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(owned.owner, "officer-7", "[{b}]");
        assert_eq!(owned.stages[0].owner, "officer-7", "[{b}]");
        let mine = rpc!(
            office,
            list_cases,
            ListCasesRequest {
                owner: "officer-7".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(mine.cases.len(), 1, "[{b}]");

        let add = |year: i32| AddHouseholdAdultRequest {
            case_id: c.id.clone(),
            given_name: "Per".into(),
            family_name: "Sjöholm".into(),
            birth_year: year,
            role: AdultRole::OtherAdult as i32,
            ..Default::default()
        };
        let e = rpc!(office, add_household_adult, add(2015)).unwrap_err();
        assert_eq!(field(&e), Some("birth_year"), "[{b}]");
        let with = rpc!(office, add_household_adult, add(1975)).unwrap();
        assert_eq!(with.adults.len(), 1, "[{b}]");
        let adult_id = with.adults[0].id.clone();
        let without = rpc!(
            office,
            remove_household_adult,
            RemoveHouseholdAdultRequest {
                case_id: c.id.clone(),
                adult_id: adult_id.clone(),
                ..Default::default()
            }
        )
        .unwrap();
        assert!(without.adults.is_empty(), "[{b}]");
        let e = rpc!(
            office,
            remove_household_adult,
            RemoveHouseholdAdultRequest {
                case_id: c.id.clone(),
                adult_id,
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{b}]");

        // A municipality reads its cases but changes nothing in them.
        let mut m = h.client(manager("0180")).await;
        let e = rpc!(m, add_household_adult, add(1975)).unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{b}]");
        let e = rpc!(
            m,
            assign_case_owner,
            AssignCaseOwnerRequest {
                case_id: c.id.clone(),
                owner: "x".into(),
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{b}]");
    }
}
