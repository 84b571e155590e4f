//! Information to the child (issue 22 §4): the caseworker and the ombud
//! record what the child was told and understood; the checklist shows what
//! is still to be told or followed up; who reads it, who may not record it,
//! and that what the child said never reaches an event.

use crate::common::*;
use samling_kit::auth::{AuthContext, Role};
use samling_proto::common::v1::WatchEventsRequest;
use samling_proto::portfolio::v1::*;

fn told(
    child: &str,
    phase: InformationPhase,
    topic: InformationTopic,
    day: u8,
    u: Understanding,
) -> RecordInformationRequest {
    RecordInformationRequest {
        request_id: new_id(),
        child_id: child.to_string(),
        phase: phase as i32,
        topic: topic as i32,
        told_on: date(2026, 11, day as i32),
        understanding: u as i32,
        in_the_childs_words: "Jag bor här tills mamma mår bättre".into(),
        method: "bildstöd".into(),
    }
}

fn item(p: &Portfolio, phase: InformationPhase, topic: InformationTopic) -> ChecklistItem {
    p.information
        .as_ref()
        .expect("information shown")
        .checklist
        .iter()
        .find(|i| i.phase == phase as i32 && i.topic == topic as i32)
        .cloned()
        .expect("a checklist item")
}

#[tokio::test]
async fn what_the_child_was_told_is_recorded_followed_up_and_shown_to_those_who_may_read_it() {
    use InformationPhase as P;
    use InformationTopic as T;
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home, placement) = (new_id(), new_id(), new_id());
        register_child(&h, &child, "2012-01-01", false);
        h.publish(vec![created(
            &placement,
            &child,
            &home,
            "2026-11-01",
            false,
        )])
        .await;
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        rpc!(
            cw,
            set_relations,
            SetRelationsRequest {
                request_id: new_id(),
                child_id: child.clone(),
                relations: Some(Relations {
                    ombud_subjects: vec!["ombud-1".into()],
                    ..Default::default()
                }),
            }
        )
        .unwrap_or_else(|e| panic!("[{bk}] relations: {e}"));

        // Nothing told yet: every item open, no phase complete.
        let p = rpc!(
            cw,
            get_portfolio,
            GetPortfolioRequest {
                child_id: child.clone()
            }
        )
        .unwrap();
        let info = p.information.clone().expect("the caseworker reads it");
        assert!(
            info.records.is_empty() && info.complete_phases.is_empty(),
            "[{bk}]"
        );
        assert!(info.checklist.iter().all(|i| !i.told), "[{bk}]");

        // The caseworker tells why; the child understands partly.
        let p = rpc!(
            cw,
            record_information,
            told(&child, P::Before, T::WhyPlaced, 20, Understanding::Partly)
        )
        .unwrap_or_else(|e| panic!("[{bk}] record: {e}"));
        let i = item(&p, P::Before, T::WhyPlaced);
        assert!(i.told && i.follow_up, "[{bk}] {i:?}");
        let rec = &p.information.as_ref().unwrap().records[0];
        assert_eq!(rec.recorded_by_role, "municipality_caseworker");
        assert!(!rec.id.is_empty() && !rec.recorded_at.is_empty());
        // Told again a week later and understood: the follow-up is done.
        let p = rpc!(
            cw,
            record_information,
            told(
                &child,
                P::Before,
                T::WhyPlaced,
                27,
                Understanding::Understood
            )
        )
        .unwrap();
        let i = item(&p, P::Before, T::WhyPlaced);
        assert!(i.told && !i.follow_up, "[{bk}] {i:?}");
        assert_eq!(i.last_told_on, date(2026, 11, 27));
        // The ombud assigned to the child tells about themself.
        let mut om = h.client(ombud()).await;
        let p = rpc!(
            om,
            record_information,
            told(&child, P::Before, T::MyOmbud, 21, Understanding::Understood)
        )
        .unwrap_or_else(|e| panic!("[{bk}] ombud records: {e}"));
        assert!(item(&p, P::Before, T::MyOmbud).told, "[{bk}]");
        assert_eq!(p.information.as_ref().unwrap().records.len(), 3);

        // Every AFTER item told and understood: that phase is complete.
        for t in [T::WhyEnding, T::AftercareSupport, T::MyRecords] {
            rpc!(
                cw,
                record_information,
                told(&child, P::After, t, 28, Understanding::Understood)
            )
            .unwrap();
        }

        // Who reads it: casework, the home, the ombud, the child of age.
        for (who, ctx) in [
            ("home", family_home(&home)),
            ("ombud", ombud()),
            ("child", child_ctx(&child)),
            ("office", office()),
            ("manager", manager(STOCKHOLM)),
        ] {
            let mut c = h.client(ctx).await;
            let p = rpc!(
                c,
                get_portfolio,
                GetPortfolioRequest {
                    child_id: child.clone()
                }
            )
            .unwrap_or_else(|e| panic!("[{bk}] {who}: {e}"));
            let info = p
                .information
                .unwrap_or_else(|| panic!("[{bk}] {who} reads it"));
            assert_eq!(info.records.len(), 6, "[{bk}] {who}");
            assert_eq!(info.complete_phases, vec![P::After as i32], "[{bk}] {who}");
        }
        // Not guardians, nor care or school units.
        let (hu, su) = (new_id(), new_id());
        rpc!(
            cw,
            set_relations,
            SetRelationsRequest {
                request_id: new_id(),
                child_id: child.clone(),
                relations: Some(Relations {
                    ombud_subjects: vec!["ombud-1".into()],
                    health_units: vec![hu.clone()],
                    school_units: vec![su.clone()],
                    ..Default::default()
                }),
            }
        )
        .unwrap();
        for (who, ctx) in [
            ("guardian", guardian(&child)),
            ("health", health_staff(&hu)),
            ("school", school_staff(&su)),
        ] {
            let mut c = h.client(ctx).await;
            let p = rpc!(
                c,
                get_portfolio,
                GetPortfolioRequest {
                    child_id: child.clone()
                }
            )
            .unwrap_or_else(|e| panic!("[{bk}] {who}: {e}"));
            assert!(p.information.is_none(), "[{bk}] {who} must not read it");
        }

        // The child's access log shows the tellings and the reads.
        let mut kid = h.client(child_ctx(&child)).await;
        let log = rpc!(
            kid,
            list_access_log,
            ListAccessLogRequest {
                child_id: child.clone(),
                page: Some(samling_proto::common::v1::PageRequest {
                    page_size: 500,
                    page_token: String::new(),
                }),
            }
        )
        .unwrap();
        let info_rows: Vec<_> = log
            .entries
            .iter()
            .filter(|e| e.section == "information")
            .collect();
        assert!(
            info_rows
                .iter()
                .any(|e| e.action == "information_recorded" && e.role == "ombud"),
            "[{bk}] {info_rows:?}"
        );
        assert!(
            info_rows
                .iter()
                .any(|e| e.action == "read" && e.role == "family_home"),
            "[{bk}] {info_rows:?}"
        );

        // The events name the phase and topic, never what the child said.
        let mut svc = h.client(AuthContext::new("test", Role::Service)).await;
        let mut stream = rpc!(
            svc,
            watch_events,
            WatchEventsRequest {
                after: 0,
                event_types: vec!["portfolio.information_recorded".into()],
                stop_at_end: true,
            }
        )
        .unwrap();
        let mut seen = 0;
        while let Some(e) = stream.message().await.unwrap() {
            seen += 1;
            assert!(
                e.payload_json.contains("INFORMATION_TOPIC_"),
                "[{bk}] {}",
                e.payload_json
            );
            assert!(
                !e.payload_json.contains("mamma"),
                "[{bk}] {}",
                e.payload_json
            );
            assert!(
                !e.payload_json.contains("bildstöd"),
                "[{bk}] {}",
                e.payload_json
            );
        }
        assert_eq!(seen, 6, "[{bk}]");
        h.stop().await;
    }
}

#[tokio::test]
async fn only_casework_and_the_assigned_ombud_record_and_bad_input_names_its_field() {
    use InformationPhase as P;
    use InformationTopic as T;
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home, placement) = (new_id(), new_id(), new_id());
        register_child(&h, &child, "2012-01-01", false);
        h.publish(vec![created(
            &placement,
            &child,
            &home,
            "2026-11-01",
            false,
        )])
        .await;
        let req = || {
            told(
                &child,
                P::During,
                T::CarePlan,
                20,
                Understanding::Understood,
            )
        };

        // Refused (403): those with a relation but not this duty.
        for (who, ctx) in [
            ("home", family_home(&home)),
            ("child", child_ctx(&child)),
            ("guardian", guardian(&child)),
        ] {
            let mut c = h.client(ctx).await;
            let e = rpc!(c, record_information, req()).unwrap_err();
            assert_eq!(
                code_of(&e),
                tonic::Code::PermissionDenied,
                "[{bk}] {who}: {e}"
            );
        }
        // Told nothing (404): another municipality, an ombud not assigned,
        // another home, the aggregate roles.
        for (who, ctx) in [
            ("other municipality", caseworker(SOLNA)),
            ("other ombud", AuthContext::new("ombud-2", Role::Ombud)),
            ("other home", family_home(&new_id())),
            ("analyst", analyst()),
            ("council", council_member()),
        ] {
            let mut c = h.client(ctx).await;
            let e = rpc!(c, record_information, req()).unwrap_err();
            assert!(
                matches!(
                    code_of(&e),
                    tonic::Code::NotFound | tonic::Code::PermissionDenied
                ),
                "[{bk}] {who}: {e}"
            );
            assert!(!e.message().contains("CarePlan"), "[{bk}] {who}");
        }

        // Bad input: the field named, nothing stored.
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        let bad: Vec<(RecordInformationRequest, &str)> = vec![
            (RecordInformationRequest { phase: 0, ..req() }, "phase"),
            (RecordInformationRequest { topic: 77, ..req() }, "topic"),
            (
                RecordInformationRequest {
                    understanding: 0,
                    ..req()
                },
                "understanding",
            ),
            (
                RecordInformationRequest {
                    told_on: None,
                    ..req()
                },
                "told_on",
            ),
            (
                RecordInformationRequest {
                    told_on: date(2027, 1, 1),
                    ..req()
                },
                "told_on",
            ),
            (
                RecordInformationRequest {
                    in_the_childs_words: "å".repeat(2001),
                    ..req()
                },
                "in_the_childs_words",
            ),
            (
                RecordInformationRequest {
                    child_id: "x".into(),
                    ..req()
                },
                "child_id",
            ),
        ];
        for (r, field) in bad {
            let e = rpc!(cw, record_information, r).unwrap_err();
            assert_eq!(
                code_of(&e),
                tonic::Code::InvalidArgument,
                "[{bk}] {field}: {e}"
            );
            assert_eq!(field_of(&e).as_deref(), Some(field), "[{bk}] {e}");
        }
        let p = rpc!(
            cw,
            get_portfolio,
            GetPortfolioRequest {
                child_id: child.clone()
            }
        )
        .unwrap();
        assert!(
            p.information.unwrap().records.is_empty(),
            "[{bk}] nothing stored"
        );

        // A replay answers the first record once; the same request id from
        // another municipality's caseworker is refused before any replay.
        let first = req();
        let a = rpc!(cw, record_information, first.clone()).unwrap();
        let b = rpc!(cw, record_information, first.clone()).unwrap();
        assert_eq!(a.information.as_ref().unwrap().records.len(), 1, "[{bk}]");
        assert_eq!(b.information, a.information, "[{bk}] the replay");
        let mut other = h.client(caseworker(SOLNA)).await;
        let e = rpc!(other, record_information, first).unwrap_err();
        assert!(
            matches!(
                code_of(&e),
                tonic::Code::NotFound | tonic::Code::PermissionDenied
            ),
            "[{bk}] {e}"
        );
        h.stop().await;
    }
}
