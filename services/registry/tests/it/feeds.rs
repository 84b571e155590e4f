//! The registry's feeds over gRPC: the outbox served by `WatchEvents` (every
//! change, in order, ids only, resumable) and the hash-chained audit log.

use crate::common;

use common::*;
use samling_proto::common::v1::{ListAuditRequest, WatchEventsRequest};
use samling_proto::registry::v1::*;
use std::time::Duration;
use tokio_stream::StreamExt;
use tonic::Code;

/// A short history touching a home, a child and a placement.
async fn a_run_of_operations(
    h: &Harness,
    home_draft: HomeDraft,
    child_personnummer: &str,
) -> (Home, Child, Placement) {
    let home = h.approved_home(home_draft, "0180", days_ago(30)).await;
    let child = h.register_child("0180", child_personnummer).await;
    let p = h
        .place(caseworker("0180"), &child.id, &home.id, days_ago(3))
        .await
        .unwrap()
        .placement
        .unwrap();
    rpc!(
        h.client(caseworker("0180")).await,
        end_placement,
        EndPlacementRequest {
            placement_id: p.id.clone(),
            end_date: Some(date(today())),
            end_reason: EndReason::Planned as i32,
            ..Default::default()
        }
    )
    .unwrap();
    (home, child, p)
}

#[tokio::test]
async fn every_change_appends_its_events_in_order_without_personal_data() {
    for_each_backend(|h| async move {
        let carer = adult(121);
        let kid = child_pnr(8, 410);
        let (home, child, p) = a_run_of_operations(&h, draft("Storgatan 1", &carer), &kid).await;

        let events = h.events().await;
        assert_eq!(
            event_types(&events),
            vec![
                "registry.home_created",
                "registry.home_status_changed",
                "registry.home_approved",
                "registry.child_registered",
                "registry.home_placement_added",
                "registry.placement_created",
                "registry.home_placement_ended",
                "registry.placement_ended",
            ]
        );
        assert!(events.windows(2).all(|w| w[0].seq < w[1].seq), "seq grows");
        assert_eq!(events[0].seq, 1);
        assert_eq!(
            (
                events[0].aggregate_type.as_str(),
                events[0].aggregate_id.as_str()
            ),
            ("home", home.id.as_str())
        );
        assert_eq!(
            (
                events[3].aggregate_type.as_str(),
                events[3].aggregate_id.as_str()
            ),
            ("child", child.id.as_str())
        );
        assert_eq!(
            (
                events[5].aggregate_type.as_str(),
                events[5].aggregate_id.as_str()
            ),
            ("placement", p.id.as_str())
        );
        let created: serde_json::Value = serde_json::from_str(&events[5].payload_json).unwrap();
        assert_eq!(created["child_id"], child.id.as_str());
        assert_eq!(created["home_id"], home.id.as_str());
        assert_eq!(created["legal_basis"], "LEGAL_BASIS_SOL_VOLUNTARY");

        // Ids and codes only: never a personnummer, a name or an address.
        let secrets = [
            canonical(&carer),
            canonical(&kid),
            carer.clone(),
            kid.clone(),
            carer[2..].replace('-', ""),
            kid[2..].replace('-', ""),
        ];
        for e in &events {
            serde_json::from_str::<serde_json::Value>(&e.payload_json).expect("payload is JSON");
            for s in &secrets {
                assert!(
                    !e.payload_json.contains(s.as_str()),
                    "{} leaks a personnummer: {}",
                    e.event_type,
                    e.payload_json
                );
            }
            for word in ["Storgatan", "111 22", "Stockholm", "Anna", "Kim", "Lind"] {
                assert!(
                    !e.payload_json.contains(word),
                    "{} leaks {word}: {}",
                    e.event_type,
                    e.payload_json
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_protected_homes_events_do_not_say_where_it_is() {
    for_each_backend(|h| async move {
        let mut d = draft("Hemliga vägen 9", &adult(121));
        d.protected_identity = true;
        let (home, _, _) = a_run_of_operations(&h, d, &child_pnr(8, 412)).await;
        let events = h.events().await;
        let about_home: Vec<_> = events
            .iter()
            .filter(|e| e.aggregate_id == home.id)
            .collect();
        assert!(about_home.len() >= 5, "{about_home:?}");
        for e in about_home {
            assert!(
                !e.payload_json.contains("municipality_code"),
                "{}: {}",
                e.event_type,
                e.payload_json
            );
            assert!(
                !e.payload_json.contains("Hemliga"),
                "{}: {}",
                e.event_type,
                e.payload_json
            );
        }
    })
    .await;
}

#[tokio::test]
async fn watching_from_a_cursor_resumes_after_it_and_follows_new_events() {
    for_each_backend(|h| async move {
        a_run_of_operations(&h, draft("Storgatan 1", &adult(121)), &child_pnr(8, 414)).await;
        let all = h.events().await;
        let cursor = all[2].seq;
        let rest = h.events_after(cursor).await;
        assert_eq!(
            rest,
            all[3..].to_vec(),
            "resuming after a seq delivers exactly what followed"
        );
        assert!(h.events_after(all.last().unwrap().seq).await.is_empty());

        // Filter by type.
        let mut office = h.office().await;
        let req = office.request(WatchEventsRequest {
            after: 0,
            event_types: vec!["registry.home_approved".into()],
            stop_at_end: true,
        });
        let approved: Vec<_> = office
            .raw()
            .watch_events(req)
            .await
            .unwrap()
            .into_inner()
            .collect::<Vec<_>>()
            .await;
        assert_eq!(approved.len(), 1);

        // A follower (not stop_at_end) receives a change committed after it caught up.
        let req = office.request(WatchEventsRequest {
            after: all.last().unwrap().seq,
            event_types: vec![],
            stop_at_end: false,
        });
        let mut follow = office.raw().watch_events(req).await.unwrap().into_inner();
        let home = h.create_home(draft("Lillgatan 2", &adult(123))).await;
        let next = tokio::time::timeout(Duration::from_secs(10), follow.next())
            .await
            .expect("delivered in time")
            .unwrap()
            .unwrap();
        assert_eq!(next.event_type, "registry.home_created");
        assert_eq!(next.aggregate_id, home.id);
        assert_eq!(next.seq, all.last().unwrap().seq + 1);
    })
    .await;
}

#[tokio::test]
async fn a_refused_request_writes_no_event_and_a_retry_writes_none_twice() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let d = draft("Storgatan 1", &adult(121));
        rpc!(
            office,
            create_home,
            CreateHomeRequest {
                request_id: "same".into(),
                draft: Some(d.clone())
            }
        )
        .unwrap();
        rpc!(
            office,
            create_home,
            CreateHomeRequest {
                request_id: "same".into(),
                draft: Some(d)
            }
        )
        .unwrap();
        let mut bad = draft("Storgatan 1", &adult(121));
        bad.capacity = 99;
        assert!(
            rpc!(
                office,
                create_home,
                CreateHomeRequest {
                    request_id: String::new(),
                    draft: Some(bad)
                }
            )
            .is_err()
        );
        assert_eq!(
            event_types(&h.events().await),
            vec!["registry.home_created"]
        );
    })
    .await;
}

#[tokio::test]
async fn reading_a_home_appends_a_read_entry_to_the_audit_log() {
    for_each_backend(|h| async move {
        let home = h.create_home(draft("Storgatan 1", &adult(121))).await;
        let mut office = h.client(office().with_purpose("annual follow-up")).await;
        office.get_home(&home.id).await.unwrap();

        let log = rpc!(
            office,
            list_audit,
            ListAuditRequest {
                record_id: home.id.clone(),
                page: None
            }
        )
        .unwrap();
        let actions: Vec<(&str, &str, &str)> = log
            .entries
            .iter()
            .map(|e| {
                (
                    e.action.as_str(),
                    e.subject.as_str(),
                    e.record_type.as_str(),
                )
            })
            .collect();
        // The answer to the creation shows personal data: a read, as GetHome.
        assert_eq!(
            actions,
            vec![
                ("home_created", OFFICER, "home"),
                ("read", OFFICER, "home"),
                ("read", OFFICER, "home")
            ]
        );
        let read = &log.entries[2];
        assert_eq!(read.role, "regional_officer");
        assert_eq!(read.purpose, "annual follow-up");
        assert_eq!(
            read.prev_hash, log.entries[1].hash,
            "each entry links to the one before"
        );

        // A caller shown no personal data has read none; a child's record read is logged.
        let before = rpc!(
            office,
            list_audit,
            ListAuditRequest {
                record_id: home.id.clone(),
                page: None
            }
        )
        .unwrap()
        .entries
        .len();
        let redacted = h
            .client(caseworker("1280"))
            .await
            .get_home(&home.id)
            .await
            .unwrap();
        assert!(redacted.personal_data_redacted);
        assert_eq!(
            rpc!(
                office,
                list_audit,
                ListAuditRequest {
                    record_id: home.id.clone(),
                    page: None
                }
            )
            .unwrap()
            .entries
            .len(),
            before
        );
        let child = h.register_child("0180", &child_pnr(8, 416)).await;
        rpc!(
            h.client(caseworker("0180")).await,
            get_child,
            GetChildRequest {
                child_id: child.id.clone()
            }
        )
        .unwrap();
        let child_log = rpc!(
            office,
            list_audit,
            ListAuditRequest {
                record_id: child.id.clone(),
                page: None
            }
        )
        .unwrap();
        assert_eq!(
            child_log
                .entries
                .iter()
                .map(|e| (e.action.as_str(), e.subject.as_str()))
                .collect::<Vec<_>>(),
            vec![
                ("child_registered", OFFICER),
                ("read", OFFICER),
                ("read", "caseworker-0180")
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn the_audit_chain_verifies_and_a_tampered_entry_is_found() {
    for_each_backend(|h| async move {
        a_run_of_operations(&h, draft("Storgatan 1", &adult(121)), &child_pnr(8, 418)).await;
        let home = h.create_home(draft("Lillgatan 2", &adult(123))).await;
        h.get_home(&home.id).await;
        rpc!(
            h.client(service()).await,
            list_placements,
            ListPlacementsRequest::default()
        )
        .unwrap();

        let report = samling_kit::audit::verify(h.store()).await.unwrap();
        assert!(report.ok(), "{report:?}");
        let all = rpc!(h.office().await, list_audit, ListAuditRequest::default()).unwrap();
        assert_eq!(report.entries, all.entries.len() as u64);
        assert!(report.entries >= 10, "{report:?}");

        sqlx::query("UPDATE audit_log SET purpose = 'x' WHERE seq = 2")
            .execute(&h.store().write)
            .await
            .unwrap();
        let broken = samling_kit::audit::verify(h.store()).await.unwrap();
        assert_eq!(broken.first_broken_seq, Some(2));
        assert!(!broken.ok());
        expect_code(
            rpc!(
                h.client(caseworker("0180")).await,
                list_audit,
                ListAuditRequest::default()
            ),
            Code::PermissionDenied,
        );
    })
    .await;
}
