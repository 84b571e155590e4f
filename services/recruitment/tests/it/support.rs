//! Support after approval: mentor families and their cap, support plans
//! (evening and weekend support in the first year and its extension),
//! sessions and relief; a home sees its own only.

use crate::common::*;
use crate::stages::*;
use samling_kit::error::FIELD_METADATA_KEY;
use samling_proto::recruitment::v1::*;
use tonic::Code;

const HOME: &str = "0190a0b1-0000-7000-8000-0000000000f1";
const OTHER: &str = "0190a0b1-0000-7000-8000-0000000000f2";

fn home(n: u32) -> String {
    format!("0190a0b1-0000-7000-8000-{:012x}", 0xa000 + n)
}

/// A case recruitment approved for registry home `home_id` on `on`.
async fn approved_home(h: &Harness, home_id: &str, on: chrono::NaiveDate) {
    let (c, _) = standard_case(h, "0180", on - chrono::Duration::days(200)).await;
    let mut c = c;
    c.stage = Stage::Approved as i32;
    c.status = CaseStatus::Approved as i32;
    c.approval = Some(ApprovalRecord {
        registry_home_id: home_id.into(),
        municipality_code: "0180".into(),
        decision_date: Some(samling_kit::dates::to_proto(on)),
        decision_ref: "SN §1".into(),
        ..Default::default()
    });
    save(h, &c, false).await;
}

#[tokio::test]
async fn a_mentor_family_at_its_cap_is_refused_and_an_ended_assignment_frees_a_place() {
    for (h, _b) in harnesses(None).await {
        let mut office = h.client(office()).await;
        let family = rpc!(
            office,
            register_mentor_family,
            RegisterMentorFamilyRequest {
                request_id: "r".into(),
                home_id: home(0),
                municipality_code: "0180".into(),
                cap: 0,
                languages: vec!["sv".into(), "ar".into()],
            }
        )
        .unwrap_or_else(|e| panic!("[{}] register: {e}", h.backend));
        assert_eq!(family.effective_cap, 10, "[{}] the default cap", h.backend);
        let assign = |n: u32, req: &str| AssignMentorFamilyRequest {
            request_id: req.into(),
            mentor_family_id: family.id.clone(),
            home_id: home(n),
            from: None,
        };
        let mut last = family.clone();
        for n in 1..=10 {
            last = rpc!(office, assign_mentor_family, assign(n, &format!("a{n}")))
                .unwrap_or_else(|e| panic!("[{}] home {n}: {e}", h.backend));
        }
        assert_eq!(last.active_assignments, 10);
        let err = rpc!(office, assign_mentor_family, assign(11, "a11")).unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "[{}]", h.backend);
        assert!(err.message().contains("cap of 10"), "{}", err.message());
        assert_eq!(
            err.metadata()
                .get(FIELD_METADATA_KEY)
                .and_then(|v| v.to_str().ok()),
            Some("mentor_family_id")
        );
        let free = rpc!(
            office,
            list_mentor_families,
            ListMentorFamiliesRequest {
                with_free_places_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert!(free.families.is_empty(), "[{}] no free place", h.backend);
        // A home has one mentor family at a time, never itself.
        let err = rpc!(office, assign_mentor_family, assign(1, "dup")).unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "[{}]", h.backend);
        let err = rpc!(office, assign_mentor_family, assign(0, "self")).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "[{}]", h.backend);

        let first = last.assignments[0].clone();
        let ended = rpc!(
            office,
            end_mentor_assignment,
            EndMentorAssignmentRequest {
                request_id: "end".into(),
                mentor_family_id: family.id.clone(),
                assignment_id: first.id.clone(),
                until: None,
            }
        )
        .unwrap();
        assert_eq!(ended.active_assignments, 9, "[{}]", h.backend);
        let free = rpc!(
            office,
            list_mentor_families,
            ListMentorFamiliesRequest {
                with_free_places_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(free.families.len(), 1, "[{}] one free place", h.backend);
        let now = rpc!(office, assign_mentor_family, assign(11, "a11b"))
            .unwrap_or_else(|e| panic!("[{}] the freed place: {e}", h.backend));
        assert_eq!(now.active_assignments, 10);
        // The home whose assignment ended may get another mentor family.
        assert!(
            samling_recruitment::store::mentors::active_mentor_of(&h.store().read, &home(1))
                .await
                .unwrap()
                .is_none()
        );

        let mut worker = h.client(caseworker("0180")).await;
        let err = rpc!(worker, assign_mentor_family, assign(12, "w")).unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);
    }
}

#[tokio::test]
async fn a_support_plan_has_out_of_hours_support_through_the_first_year_and_its_extension() {
    for (h, _b) in harnesses(None).await {
        let approved_on = d(2026, 3, 2);
        approved_home(&h, HOME, approved_on).await;
        let mut office = h.client(office()).await;
        for (i, (kind, homes)) in [
            (SupportKind::HandledningIndividual, vec![HOME]),
            (SupportKind::HandledningIndividual, vec![HOME]),
            (SupportKind::HandledningGroup, vec![HOME, OTHER]),
            (SupportKind::CrisisSupport, vec![HOME]),
        ]
        .into_iter()
        .enumerate()
        {
            rpc!(
                office,
                record_support_session,
                RecordSupportSessionRequest {
                    request_id: format!("s{i}"),
                    kind: kind as i32,
                    home_ids: homes.iter().map(|s| s.to_string()).collect(),
                    held_on: Some(day(2026, 11, 2 + i as u32)),
                    duration_minutes: 60,
                    out_of_hours: false,
                    course_id: String::new(),
                }
            )
            .unwrap_or_else(|e| panic!("[{}] session {i}: {e}", h.backend));
        }
        let err = rpc!(
            office,
            record_support_session,
            RecordSupportSessionRequest {
                request_id: "bad".into(),
                kind: SupportKind::HandledningGroup as i32,
                home_ids: vec![HOME.into()],
                held_on: Some(day(2026, 11, 2)),
                duration_minutes: 60,
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(
            err.metadata()
                .get(FIELD_METADATA_KEY)
                .and_then(|v| v.to_str().ok()),
            Some("home_ids")
        );
        let err = rpc!(
            office,
            record_support_session,
            RecordSupportSessionRequest {
                request_id: "ft".into(),
                kind: SupportKind::FurtherTraining as i32,
                home_ids: vec![HOME.into()],
                held_on: Some(day(2026, 11, 2)),
                duration_minutes: 120,
                course_id: "0190a0b1-0000-7000-8000-00000000c0c0".into(),
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(
            err.metadata()
                .get(FIELD_METADATA_KEY)
                .and_then(|v| v.to_str().ok()),
            Some("course_id"),
            "[{}] further training names a course that exists",
            h.backend
        );
        rpc!(
            office,
            record_relief_arrangement,
            RecordReliefArrangementRequest {
                request_id: "r".into(),
                home_id: HOME.into(),
                provider: ReliefProvider::Network as i32,
                days_per_month: 2,
                from: Some(day(2026, 6, 1)),
                until: None,
            }
        )
        .unwrap();

        let get = |as_of: Option<samling_proto::common::v1::Date>| GetSupportPlanRequest {
            home_id: HOME.into(),
            as_of,
        };
        let plan = rpc!(office, get_support_plan, get(None)).unwrap();
        assert_eq!(plan.approved_on, Some(day(2026, 3, 2)));
        assert_eq!(plan.first_year_ends_on, Some(day(2027, 3, 2)));
        assert!(
            plan.first_year && plan.out_of_hours_support,
            "[{}]",
            h.backend
        );
        assert_eq!(plan.handledning_last_12_months, 3, "[{}]", h.backend);
        assert_eq!(plan.relief.len(), 1);
        assert!(!plan.network_home);

        // After the first year: no evening and weekend support unless extended.
        h.clock.set("2027-04-06T09:00:00Z".parse().unwrap());
        let plan = rpc!(office, get_support_plan, get(None)).unwrap();
        assert!(
            !plan.first_year && !plan.out_of_hours_support,
            "[{}]",
            h.backend
        );
        let ooh = rpc!(
            office,
            list_support_plans,
            ListSupportPlansRequest {
                out_of_hours_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert!(ooh.plans.is_empty(), "[{}]", h.backend);
        let plan = rpc!(
            office,
            set_out_of_hours_support,
            SetOutOfHoursSupportRequest {
                request_id: "x".into(),
                home_id: HOME.into(),
                until: Some(day(2027, 9, 30)),
            }
        )
        .unwrap();
        assert!(plan.out_of_hours_support, "[{}] extended", h.backend);
        assert_eq!(plan.out_of_hours_support_until, Some(day(2027, 9, 30)));
        let ooh = rpc!(
            office,
            list_support_plans,
            ListSupportPlansRequest {
                out_of_hours_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(ooh.plans.len(), 1, "[{}]", h.backend);
        assert_eq!(ooh.plans[0].home_id, HOME);
        let first_year = rpc!(
            office,
            list_support_plans,
            ListSupportPlansRequest {
                first_year_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert!(first_year.plans.is_empty(), "[{}]", h.backend);
        // Back to the first year only.
        let plan = rpc!(
            office,
            set_out_of_hours_support,
            SetOutOfHoursSupportRequest {
                request_id: "y".into(),
                home_id: HOME.into(),
                until: None,
            }
        )
        .unwrap();
        assert!(!plan.out_of_hours_support, "[{}]", h.backend);
        // A home recruitment did not approve has no plan here.
        let err = rpc!(
            office,
            get_support_plan,
            GetSupportPlanRequest {
                home_id: OTHER.into(),
                as_of: None
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "[{}]", h.backend);
    }
}

#[tokio::test]
async fn a_family_home_sees_its_own_support_only() {
    for (h, _b) in harnesses(None).await {
        approved_home(&h, HOME, d(2026, 3, 2)).await;
        approved_home(&h, OTHER, d(2026, 4, 1)).await;
        let mut office = h.client(office()).await;
        rpc!(
            office,
            record_support_session,
            RecordSupportSessionRequest {
                request_id: "s".into(),
                kind: SupportKind::HandledningIndividual as i32,
                home_ids: vec![OTHER.into()],
                held_on: Some(day(2026, 11, 2)),
                duration_minutes: 45,
                ..Default::default()
            }
        )
        .unwrap();
        let mut me = h.client(family_home(HOME)).await;
        let own = rpc!(
            me,
            get_support_plan,
            GetSupportPlanRequest {
                home_id: HOME.into(),
                as_of: None
            }
        )
        .unwrap();
        assert_eq!(own.home_id, HOME);
        let err = rpc!(
            me,
            get_support_plan,
            GetSupportPlanRequest {
                home_id: OTHER.into(),
                as_of: None
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "[{}]", h.backend);
        let err = rpc!(
            me,
            list_support_sessions,
            ListSupportSessionsRequest {
                home_id: OTHER.into(),
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "[{}]", h.backend);
        let mine = rpc!(
            me,
            list_support_sessions,
            ListSupportSessionsRequest {
                home_id: HOME.into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert!(mine.sessions.is_empty(), "[{}]", h.backend);
        let theirs = rpc!(
            office,
            list_support_sessions,
            ListSupportSessionsRequest {
                home_id: OTHER.into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(theirs.sessions.len(), 1, "[{}]", h.backend);
        // Writing is the office's; the aggregate roles and municipalities
        // read no plan.
        let err = rpc!(
            me,
            set_out_of_hours_support,
            SetOutOfHoursSupportRequest {
                request_id: "z".into(),
                home_id: HOME.into(),
                until: Some(day(2027, 9, 30)),
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);
        for ctx in [analyst(), caseworker("0180"), manager("0180")] {
            let mut c = h.client(ctx).await;
            let err = rpc!(
                c,
                get_support_plan,
                GetSupportPlanRequest {
                    home_id: HOME.into(),
                    as_of: None
                }
            )
            .unwrap_err();
            assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);
            let err = rpc!(c, list_support_plans, ListSupportPlansRequest::default()).unwrap_err();
            assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);
        }
    }
}
