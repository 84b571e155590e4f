//! The whole journey, over the services' RPCs only (no store shortcuts): a
//! person fills in the public form, is met, trained, investigated,
//! recommended and approved; the home appears in the registry with its
//! evidence (the course taken, the investigation's steps) and the funnel
//! counts it approved.

use crate::approval::registry_home;
use crate::cases::investigate;
use crate::common::*;
use crate::intake::{at, campaign, date, public, submission};
use samling_proto::recruitment::v1::*;
use samling_proto::registry::v1 as reg;

#[tokio::test]
async fn a_public_inquiry_is_trained_investigated_approved_and_counted() {
    for (h, _b) in harnesses_with_registry(Some(REGION)).await {
        let b = h.backend;
        // In October: the registry checks decision dates against the real today.
        h.clock.set(at(2026, 10, 1));
        let mut officer = h.client(office()).await;
        let campaign = campaign(&mut officer, b, date(2026, 9, 1)).await;

        // 1 October: the public form (no login), filled in for 30 s.
        let mut form = h.client(public()).await;
        let token = rpc!(
            form,
            issue_inquiry_form_token,
            IssueInquiryFormTokenRequest {}
        )
        .unwrap_or_else(|e| panic!("[{b}] token: {e}"));
        h.clock.advance(chrono::Duration::seconds(30));
        let receipt = rpc!(form, submit_public_inquiry, submission(&token.token))
            .unwrap_or_else(|e| panic!("[{b}] submit: {e}"));
        let listed = rpc!(officer, list_cases, ListCasesRequest::default()).unwrap();
        assert_eq!(listed.cases.len(), 1, "[{b}]");
        let case = listed.cases[0].clone();
        assert_eq!(case.reference, receipt.reference, "[{b}]");
        assert_eq!(case.intake_route, IntakeRoute::PublicForm as i32, "[{b}]");
        let id = case.id.clone();
        let advance = |to: Stage| AdvanceCaseRequest {
            case_id: id.clone(),
            to_stage: to as i32,
            ..Default::default()
        };

        // 5 October: answered within the deadline, then the information meeting.
        h.clock.set(at(2026, 10, 5));
        rpc!(
            officer,
            record_first_response,
            RecordFirstResponseRequest {
                case_id: id.clone(),
                ..Default::default()
            }
        )
        .unwrap_or_else(|e| panic!("[{b}] first response: {e}"));
        rpc!(officer, advance_case, advance(Stage::InfoMeeting))
            .unwrap_or_else(|e| panic!("[{b}] to info meeting: {e}"));
        let meeting = rpc!(
            officer,
            create_info_meeting,
            CreateInfoMeetingRequest {
                request_id: "j-m1".into(),
                municipality_code: "0180".into(),
                held_on: Some(date(2026, 10, 5)),
                format: MeetingFormat::InPerson as i32,
                place: "Stadshuset".into(),
                capacity: 30,
            }
        )
        .unwrap_or_else(|e| panic!("[{b}] meeting: {e}"));
        rpc!(
            officer,
            record_info_meeting_attendance,
            RecordInfoMeetingAttendanceRequest {
                request_id: "j-att".into(),
                meeting_id: meeting.id.clone(),
                case_ids: vec![id.clone()],
            }
        )
        .unwrap_or_else(|e| panic!("[{b}] attendance: {e}"));
        rpc!(officer, advance_case, advance(Stage::Training))
            .unwrap_or_else(|e| panic!("[{b}] to training: {e}"));

        // The household's two adults take "Ett hem att växa i".
        let mut adults = Vec::new();
        for (given, year) in [("Ingrid", 1980), ("Johan", 1978)] {
            let c = rpc!(
                officer,
                add_household_adult,
                AddHouseholdAdultRequest {
                    case_id: id.clone(),
                    given_name: given.into(),
                    family_name: "Sjöholm".into(),
                    birth_year: year,
                    role: AdultRole::Carer as i32,
                    ..Default::default()
                }
            )
            .unwrap_or_else(|e| panic!("[{b}] adult {given}: {e}"));
            adults = c.adults.iter().map(|a| a.id.clone()).collect();
        }
        assert_eq!(adults.len(), 2, "[{b}]");
        let course = rpc!(
            officer,
            create_course,
            CreateCourseRequest {
                request_id: "j-c1".into(),
                name: "Ett hem att växa i, vinter".into(),
                kind: CourseKind::Basic as i32,
                municipality_code: "0180".into(),
            }
        )
        .unwrap_or_else(|e| panic!("[{b}] course: {e}"));
        let mut course = course;
        for (n, day) in [(1u32, 12u32), (2, 19)] {
            course = rpc!(
                officer,
                add_course_session,
                AddCourseSessionRequest {
                    request_id: format!("j-s{n}"),
                    course_id: course.id.clone(),
                    number: n,
                    held_on: Some(date(2026, 10, day)),
                    mandatory: true,
                    topic: String::new(),
                }
            )
            .unwrap_or_else(|e| panic!("[{b}] session {n}: {e}"));
        }
        rpc!(
            officer,
            enrol_in_course,
            EnrolInCourseRequest {
                request_id: "j-e1".into(),
                course_id: course.id.clone(),
                case_id: id.clone(),
                home_id: String::new(),
            }
        )
        .unwrap_or_else(|e| panic!("[{b}] enrol: {e}"));
        // Not trained yet: the investigation may not open.
        let e = rpc!(officer, advance_case, advance(Stage::Investigation)).unwrap_err();
        assert_eq!(e.code(), tonic::Code::FailedPrecondition, "[{b}] {e:?}");
        h.clock.set(at(2026, 10, 20));
        for s in &course.sessions {
            rpc!(
                officer,
                record_attendance,
                RecordAttendanceRequest {
                    request_id: format!("j-a{}", s.number),
                    course_id: course.id.clone(),
                    session_id: s.id.clone(),
                    case_id: id.clone(),
                    home_id: String::new(),
                    attendee_ids: adults.clone(),
                }
            )
            .unwrap_or_else(|e| panic!("[{b}] attendance {}: {e}", s.number));
        }
        rpc!(officer, advance_case, advance(Stage::Investigation))
            .unwrap_or_else(|e| panic!("[{b}] to investigation: {e}"));

        // The standard investigation: BRA-Fam first, references, every adult checked.
        investigate(&mut officer, b, &id, &adults).await;
        rpc!(officer, advance_case, advance(Stage::Recommendation))
            .unwrap_or_else(|e| panic!("[{b}] to recommendation: {e}"));
        rpc!(
            officer,
            record_recommendation,
            RecordRecommendationRequest {
                case_id: id.clone(),
                kind: RecommendationKind::Approve as i32,
                home_types: vec![reg::HomeType::FamilyHome as i32],
                capacity: 2,
                ..Default::default()
            }
        )
        .unwrap_or_else(|e| panic!("[{b}] recommendation: {e}"));

        // The nämnd decides; the approval goes to the registry first.
        h.clock.set(at(2026, 10, 27));
        let home = registry_home(&h, true).await;
        let approved = rpc!(
            officer,
            record_approval,
            RecordApprovalRequest {
                request_id: "j-ap".into(),
                case_id: id.clone(),
                registry_home_id: home.id.clone(),
                municipality_code: "0180".into(),
                decision_date: Some(date(2026, 10, 26)),
                decision_ref: "SN 2026/400 §2".into(),
            }
        )
        .unwrap_or_else(|e| panic!("[{b}] approval: {e}"));
        assert_eq!(approved.status, CaseStatus::Approved as i32, "[{b}]");

        let mut r = h.registry_client(office()).await;
        let got = rpc!(
            r,
            get_home,
            reg::GetHomeRequest {
                home_id: home.id.clone()
            }
        )
        .unwrap();
        assert_eq!(got.status, reg::HomeStatus::Approved as i32, "[{b}]");
        let ev = got.approvals[0].evidence.as_ref().expect("evidence");
        assert_eq!(ev.recruitment_case_id, id, "[{b}]");
        assert_eq!(ev.course_ids, vec![course.id.clone()], "[{b}] the course");
        for step in ["bra_fam_screening", "family_vignettes", "register_checks"] {
            assert!(
                ev.investigation_steps.iter().any(|s| s == step),
                "[{b}] {step}: {ev:?}"
            );
        }

        // The funnel: this October's cohort, one inquiry through every step.
        let funnel = rpc!(
            officer,
            get_funnel_statistics,
            GetFunnelStatisticsRequest {
                municipality_code: "0180".into(),
                from: Some(date(2026, 10, 1)),
                to: Some(date(2026, 10, 31)),
                track: Track::Unspecified as i32,
            }
        )
        .unwrap_or_else(|e| panic!("[{b}] funnel: {e}"));
        for step in [
            FunnelStep::Inquired,
            FunnelStep::Met,
            FunnelStep::Trained,
            FunnelStep::Investigated,
            FunnelStep::Approved,
        ] {
            let f = funnel
                .steps
                .iter()
                .find(|f| f.step == step as i32)
                .unwrap_or_else(|| panic!("[{b}] {step:?} missing: {funnel:?}"));
            assert_eq!(f.count, 1, "[{b}] {step:?}");
        }
        let yielded = funnel
            .campaigns
            .iter()
            .find(|c| c.campaign_id == campaign.id)
            .unwrap_or_else(|| panic!("[{b}] the campaign's yield: {funnel:?}"));
        assert_eq!((yielded.inquiries, yielded.approved), (1, 1), "[{b}]");
    }
}
