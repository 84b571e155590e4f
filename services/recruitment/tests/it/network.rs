//! Network homes: a municipality's placement need, the alternatives looked
//! into, and the network-home track through to the approval.

use crate::common::*;
use crate::stages::*;
use samling_kit::dates;
use samling_kit::error::REASON_METADATA_KEY;
use samling_proto::recruitment::v1::*;
use samling_recruitment::domain::calendar::add_working_days;
use samling_recruitment::domain::{investigation, pipeline};
use samling_recruitment::store;
use tonic::Code;

const CHILD: &str = "0190a0b1-0000-7000-8000-0000000000c1";

fn reason(s: &tonic::Status) -> Option<&str> {
    s.metadata()
        .get(REASON_METADATA_KEY)
        .and_then(|v| v.to_str().ok())
}

fn open_need(req_id: &str, municipality: &str) -> OpenPlacementNeedRequest {
    OpenPlacementNeedRequest {
        request_id: req_id.into(),
        municipality_code: municipality.into(),
        child_id: CHILD.into(),
        needed_by: None,
    }
}

fn alternative(
    req_id: &str,
    need: &str,
    relation: NetworkRelation,
    outcome: AlternativeOutcome,
) -> RecordNetworkAlternativeRequest {
    RecordNetworkAlternativeRequest {
        request_id: req_id.into(),
        placement_need_id: need.into(),
        relation: relation as i32,
        outcome: outcome as i32,
        considered_on: None,
        document_ref: String::new(),
    }
}

#[tokio::test]
async fn the_network_track_runs_from_a_placement_need_to_the_approval() {
    for (h, _b) in harnesses(None).await {
        let today = h.clock.today();
        let rules = h.service.rules.clone();
        let mut worker = h.client(caseworker("0180")).await;
        let need = rpc!(worker, open_placement_need, open_need("n1", "0180"))
            .unwrap_or_else(|e| panic!("[{}] open need: {e}", h.backend));
        assert_eq!(need.status(), PlacementNeedStatus::Open);
        assert_eq!(need.child_id, CHILD);
        let n = rpc!(
            worker,
            record_network_alternative,
            alternative(
                "a1",
                &need.id,
                NetworkRelation::AuntOrUncle,
                AlternativeOutcome::DeclinedByThem
            )
        )
        .unwrap();
        let n = {
            let _ = n;
            rpc!(
                worker,
                record_network_alternative,
                alternative(
                    "a2",
                    &need.id,
                    NetworkRelation::Grandparent,
                    AlternativeOutcome::Considered
                )
            )
            .unwrap()
        };
        assert_eq!(n.alternatives.len(), 2, "[{}]", h.backend);
        let declined = n.alternatives[0].id.clone();
        let grandparent = n.alternatives[1].id.clone();
        let start = |req_id: &str, alt: &str| StartNetworkHomeCaseRequest {
            request_id: req_id.into(),
            placement_need_id: need.id.clone(),
            alternative_id: alt.into(),
            applicant: Some(draft("0180")),
            lawful_basis: LawfulBasis::PublicTask as i32,
        };
        let err = rpc!(worker, start_network_home_case, start("s0", &declined)).unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "[{}]", h.backend);
        let case = rpc!(worker, start_network_home_case, start("s1", &grandparent))
            .unwrap_or_else(|e| panic!("[{}] start: {e}", h.backend));
        assert_eq!(case.track(), Track::NetworkHome);
        assert_eq!(case.stage(), Stage::Inquiry);
        assert_eq!(case.placement_need_id, need.id);
        assert_eq!(case.network_alternative_id, grandparent);
        // The network track's first response: one working day, not five.
        assert_eq!(
            case.first_response_due_on,
            Some(dates::to_proto(add_working_days(today, 1))),
            "[{}]",
            h.backend
        );
        // The municipality sees its case without the applicant's data.
        assert!(case.applicant.is_none() && case.personal_data_redacted);
        let stored = load(&h, &case.id).await;
        assert_eq!(
            stored.applicant.as_ref().map(|a| a.given_name.as_str()),
            Some("Karin")
        );
        let need_now = rpc!(
            worker,
            get_placement_need,
            GetPlacementNeedRequest {
                placement_need_id: need.id.clone()
            }
        )
        .unwrap();
        let pursued = &need_now.alternatives[1];
        assert_eq!(pursued.outcome(), AlternativeOutcome::Pursued);
        assert_eq!(pursued.case_id, case.id);
        let err = rpc!(worker, start_network_home_case, start("s2", &grandparent)).unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "[{}]", h.backend);
        // Nothing personal in the events: ids and codes only.
        for e in h.service.feed.read_after(0, 100).await.unwrap() {
            for word in ["Karin", "Lindqvist", "example.se", "070-123", CHILD] {
                assert!(
                    !e.payload_json.contains(word),
                    "[{}] {} carries {word}",
                    h.backend,
                    e.event_type
                );
            }
        }

        // The track: inquiry → investigation (register checks and the home
        // environment first) → training → recommendation → approved.
        let c = samling_recruitment::domain::inquiry::record_first_response(&stored, today, today)
            .unwrap();
        let (c, adults) = with_carers(&c, today);
        let no_courses = vec![];
        let ctx = pipeline::Context {
            rules: &rules,
            courses: &no_courses,
        };
        let err =
            pipeline::advance(&c, Stage::InfoMeeting, today, today, "officer-1", &ctx).unwrap_err();
        assert!(err.to_string().contains("investigation"), "{err}");
        let c =
            pipeline::advance(&c, Stage::Investigation, today, today, "officer-1", &ctx).unwrap();
        // Other order than the standard track's: BRA-FAM waits for the checks.
        assert!(
            investigation::record_step(
                &c,
                InvestigationStep::BraFamScreening,
                StepOutcome::Satisfactory,
                today,
                today,
                "officer-1",
                "",
                &rules
            )
            .is_err()
        );
        let mut c = c;
        for a in &adults {
            for r in &rules.required_registers {
                c = investigation::record_register_check(
                    &c,
                    a,
                    *r,
                    RegisterCheckOutcome::Clear,
                    today,
                    today,
                    &rules,
                )
                .unwrap();
            }
        }
        for s in [
            InvestigationStep::HomeEnvironment,
            InvestigationStep::BraFamScreening,
            InvestigationStep::FamilyVignettes,
            InvestigationStep::PersonalCircumstances,
            InvestigationStep::Health,
        ] {
            c = investigation::record_step(
                &c,
                s,
                StepOutcome::Satisfactory,
                today,
                today,
                "officer-1",
                "",
                &rules,
            )
            .unwrap_or_else(|e| panic!("{s:?}: {e}"));
        }
        for (i, rel) in [ReferenceRelation::Personal, ReferenceRelation::Employer]
            .into_iter()
            .enumerate()
        {
            c = investigation::record_reference(
                &c,
                Reference {
                    id: format!("0190a0b1-0000-7000-8000-0000000000d{i}"),
                    relation: rel as i32,
                    contacted_on: Some(dates::to_proto(today)),
                    outcome: StepOutcome::Satisfactory as i32,
                    document_ref: String::new(),
                },
                today,
                &rules,
            )
            .unwrap();
        }
        let c = pipeline::advance(&c, Stage::Training, today, today, "officer-1", &ctx).unwrap();
        assert!(
            c.stage_due_on.is_some(),
            "the network track's training has a deadline"
        );
        save(&h, &c, false).await;

        // Training through the service: a basic course, every carer there.
        let mut office = h.client(office()).await;
        let course = rpc!(
            office,
            create_course,
            CreateCourseRequest {
                request_id: "c".into(),
                name: "Ett hem att växa i".into(),
                kind: CourseKind::Basic as i32,
                municipality_code: String::new(),
            }
        )
        .unwrap();
        let course = rpc!(
            office,
            add_course_session,
            AddCourseSessionRequest {
                request_id: "cs".into(),
                course_id: course.id.clone(),
                number: 1,
                held_on: Some(dates::to_proto(today)),
                mandatory: true,
                topic: String::new(),
            }
        )
        .unwrap();
        rpc!(
            office,
            enrol_in_course,
            EnrolInCourseRequest {
                request_id: "ce".into(),
                course_id: course.id.clone(),
                case_id: case.id.clone(),
                home_id: String::new(),
            }
        )
        .unwrap();
        rpc!(
            office,
            record_attendance,
            RecordAttendanceRequest {
                request_id: "ca".into(),
                course_id: course.id.clone(),
                session_id: course.sessions[0].id.clone(),
                case_id: case.id.clone(),
                home_id: String::new(),
                attendee_ids: adults.to_vec(),
            }
        )
        .unwrap();
        let courses = store::courses::of_member(&h.store().read, &case.id)
            .await
            .unwrap();
        let ctx = pipeline::Context {
            rules: &rules,
            courses: &courses,
        };
        let c = load(&h, &case.id).await;
        let c = pipeline::advance(&c, Stage::Recommendation, today, today, "officer-1", &ctx)
            .unwrap_or_else(|e| panic!("[{}] training done: {e}", h.backend));
        let c = pipeline::record_recommendation(
            &c,
            Recommendation {
                kind: RecommendationKind::Approve as i32,
                home_types: vec![samling_proto::registry::v1::HomeType::NetworkHome as i32],
                capacity: 1,
                decided_on: Some(dates::to_proto(today)),
                decided_by: "officer-1".into(),
                document_ref: "Dnr 2026/7".into(),
            },
            today,
        )
        .unwrap();
        let c = pipeline::approve(
            &c,
            ApprovalRecord {
                registry_home_id: "0190a0b1-0000-7000-8000-0000000000f9".into(),
                municipality_code: "0180".into(),
                decision_date: Some(dates::to_proto(today)),
                decision_ref: "SN 2026 §12".into(),
                ..Default::default()
            },
            today,
            &ctx,
        )
        .unwrap_or_else(|e| panic!("[{}] approve: {e}", h.backend));
        assert_eq!(c.status(), CaseStatus::Approved);
    }
}

#[tokio::test]
async fn placement_needs_are_the_own_municipalitys_only() {
    for (h, _b) in harnesses(None).await {
        let mut stockholm = h.client(caseworker("0180")).await;
        let mut solna = h.client(caseworker("0184")).await;
        let need = rpc!(stockholm, open_placement_need, open_need("n1", "0180")).unwrap();

        // Opening a need for another municipality is refused, naming why.
        let err = rpc!(solna, open_placement_need, open_need("n2", "0180")).unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);
        assert_eq!(
            reason(&err),
            Some("NOT_OWN_MUNICIPALITY"),
            "[{}]",
            h.backend
        );
        // Another municipality's need does not exist for Solna.
        let err = rpc!(
            solna,
            get_placement_need,
            GetPlacementNeedRequest {
                placement_need_id: need.id.clone()
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "[{}]", h.backend);
        let err = rpc!(
            solna,
            record_network_alternative,
            alternative(
                "x",
                &need.id,
                NetworkRelation::Grandparent,
                AlternativeOutcome::Considered
            )
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "[{}]", h.backend);
        let err = rpc!(
            solna,
            list_placement_needs,
            ListPlacementNeedsRequest {
                municipality_code: "0180".into(),
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);
        let own = rpc!(
            solna,
            list_placement_needs,
            ListPlacementNeedsRequest::default()
        )
        .unwrap();
        assert!(
            own.needs.is_empty(),
            "[{}] Solna lists its own: none",
            h.backend
        );
        let theirs = rpc!(
            stockholm,
            list_placement_needs,
            ListPlacementNeedsRequest {
                open_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(theirs.needs, vec![need.clone()], "[{}]", h.backend);

        // The aggregate roles see no individual needs.
        for ctx in [analyst(), council_member(), family_home(CHILD)] {
            let mut c = h.client(ctx).await;
            let err = rpc!(
                c,
                get_placement_need,
                GetPlacementNeedRequest {
                    placement_need_id: need.id.clone()
                }
            )
            .unwrap_err();
            assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);
            let err = rpc!(
                c,
                list_placement_needs,
                ListPlacementNeedsRequest::default()
            )
            .unwrap_err();
            assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);
            let err = rpc!(c, open_placement_need, open_need("n9", "0180")).unwrap_err();
            assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);
        }

        // A retried request answers its first answer to its own caller only:
        // the same request id from another caller is a request of its own.
        let mut office = h.client(office()).await;
        let first = rpc!(office, open_placement_need, open_need("same", "0180")).unwrap();
        let again = rpc!(office, open_placement_need, open_need("same", "0180")).unwrap();
        assert_eq!(first, again, "[{}]", h.backend);
        let other = rpc!(stockholm, open_placement_need, open_need("same", "0180")).unwrap();
        assert_ne!(other.id, first.id, "[{}] no first answer leaked", h.backend);
        let err = rpc!(solna, open_placement_need, open_need("same", "0180")).unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);
    }
}

#[tokio::test]
async fn an_office_works_in_its_own_region_only() {
    for (h, _b) in harnesses(Some("stockholm-gotland")).await {
        let mut office = h.client(office_in("stockholm-gotland")).await;
        // Malmö is Skåne's.
        let err = rpc!(office, open_placement_need, open_need("n1", "1280")).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "[{}]", h.backend);
        assert!(err.message().contains("region"), "{}", err.message());
        let err = rpc!(
            office,
            register_mentor_family,
            RegisterMentorFamilyRequest {
                request_id: "m".into(),
                home_id: "0190a0b1-0000-7000-8000-0000000000f1".into(),
                municipality_code: "1280".into(),
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "[{}]", h.backend);
        rpc!(office, open_placement_need, open_need("n2", "0180")).unwrap();
        let mut stranger = h.client(office_in("syd")).await;
        let err = rpc!(
            stranger,
            list_placement_needs,
            ListPlacementNeedsRequest::default()
        )
        .unwrap_err();
        assert_eq!(reason(&err), Some("OUT_OF_REGION"), "[{}]", h.backend);
    }
}
