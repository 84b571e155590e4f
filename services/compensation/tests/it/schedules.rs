//! Fee schedules over gRPC: versions in order, the yearly indexation,
//! reads for every signed-in caller, writes for finance only, replays.

use crate::common::*;
use samling_compensation::domain::Rules;
use samling_proto::compensation::v1::*;
use tonic::Code;

#[tokio::test]
async fn versions_are_created_in_order_and_read_back() {
    for (h, _b) in harnesses().await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        let v1 = create_schedule(&mut office, "national", date(2026, 1, 1)).await;
        assert_eq!(
            (v1.version, v1.arvode.len(), v1.omkostnad.len()),
            (1, 8, 9),
            "[{b}]"
        );
        assert_eq!(v1.created_by, OFFICER, "[{b}]");

        // Not after version 1: refused, naming the field.
        let (arvode, omkostnad) = rates();
        let err = rpc!(
            office,
            create_fee_schedule,
            CreateFeeScheduleRequest {
                request_id: new_id(),
                code: "national".into(),
                effective_from: date(2026, 1, 1),
                arvode: arvode.clone(),
                omkostnad: omkostnad.clone(),
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "[{b}]");
        assert_eq!(field_of(&err).as_deref(), Some("effective_from"), "[{b}]");

        // An incomplete schedule names what is missing.
        let err = rpc!(
            office,
            create_fee_schedule,
            CreateFeeScheduleRequest {
                request_id: new_id(),
                code: "national".into(),
                effective_from: date(2027, 1, 1),
                arvode: arvode[..7].to_vec(),
                omkostnad: omkostnad.clone(),
            }
        )
        .unwrap_err();
        assert_eq!(field_of(&err).as_deref(), Some("arvode"), "[{b}]");
        assert!(
            err.message().contains("CARE_LEVEL_EXTENSIVE"),
            "[{b}] {}",
            err.message()
        );

        let v2 = create_schedule(&mut office, "national", date(2027, 1, 1)).await;
        assert_eq!(v2.version, 2, "[{b}]");
        let other = create_schedule(&mut office, "gotland-pilot", date(2026, 7, 1)).await;
        assert_eq!(other.version, 1, "[{b}]");

        // Anyone signed in reads the published rates.
        let mut worker = h.client(caseworker("0180")).await;
        let newest = rpc!(
            worker,
            get_fee_schedule,
            GetFeeScheduleRequest {
                code: "national".into(),
                version: 0
            }
        )
        .unwrap();
        assert_eq!(newest.id, v2.id, "[{b}]");
        let first = rpc!(
            worker,
            get_fee_schedule,
            GetFeeScheduleRequest {
                code: "national".into(),
                version: 1
            }
        )
        .unwrap();
        assert_eq!(first, v1, "[{b}]");
        let err = rpc!(
            worker,
            get_fee_schedule,
            GetFeeScheduleRequest {
                code: "national".into(),
                version: 7
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "[{b}]");

        // Listed by code, then version, a page at a time.
        let page1 = rpc!(
            worker,
            list_fee_schedules,
            ListFeeSchedulesRequest {
                code: String::new(),
                page: Some(samling_proto::common::v1::PageRequest {
                    page_size: 2,
                    page_token: String::new()
                }),
            }
        )
        .unwrap();
        let keys: Vec<_> = page1
            .schedules
            .iter()
            .map(|s| (s.code.clone(), s.version))
            .collect();
        assert_eq!(
            keys,
            vec![("gotland-pilot".into(), 1), ("national".into(), 1)],
            "[{b}]"
        );
        let token = page1.page.unwrap().next_page_token;
        assert!(!token.is_empty(), "[{b}]");
        let page2 = rpc!(
            worker,
            list_fee_schedules,
            ListFeeSchedulesRequest {
                code: String::new(),
                page: Some(samling_proto::common::v1::PageRequest {
                    page_size: 2,
                    page_token: token
                }),
            }
        )
        .unwrap();
        assert_eq!(page2.schedules.len(), 1, "[{b}]");
        assert_eq!(page2.schedules[0].version, 2, "[{b}]");
        assert!(page2.page.unwrap().next_page_token.is_empty(), "[{b}]");

        // Only finance writes schedules.
        let (arvode, omkostnad) = rates();
        for caller in [caseworker("0180"), family_home(&new_id()), analyst()] {
            let mut c = h.client(caller).await;
            let err = rpc!(
                c,
                create_fee_schedule,
                CreateFeeScheduleRequest {
                    request_id: new_id(),
                    code: "national".into(),
                    effective_from: date(2030, 1, 1),
                    arvode: arvode.clone(),
                    omkostnad: omkostnad.clone(),
                }
            )
            .unwrap_err();
            assert_eq!(err.code(), Code::PermissionDenied, "[{b}]");
        }
        // Another region's officer is refused at the door.
        let mut stranger = h.client(office_in("syd")).await;
        let err = rpc!(
            stranger,
            get_fee_schedule,
            GetFeeScheduleRequest {
                code: "national".into(),
                version: 0
            }
        )
        .unwrap_err();
        assert_eq!(reason_of(&err).as_deref(), Some("OUT_OF_REGION"), "[{b}]");
    }
}

#[tokio::test]
async fn a_retried_create_answers_the_first_version_and_writes_nothing_more() {
    for (h, _b) in harnesses().await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        let (arvode, omkostnad) = rates();
        let req = CreateFeeScheduleRequest {
            request_id: new_id(),
            code: "national".into(),
            effective_from: date(2026, 1, 1),
            arvode,
            omkostnad,
        };
        let first = rpc!(office, create_fee_schedule, req.clone()).unwrap();
        let again = rpc!(office, create_fee_schedule, req.clone()).unwrap();
        assert_eq!(first, again, "[{b}]");
        let all = rpc!(
            office,
            list_fee_schedules,
            ListFeeSchedulesRequest {
                code: "national".into(),
                page: None
            }
        )
        .unwrap();
        assert_eq!(all.schedules.len(), 1, "[{b}]");
        // The same request id for another request is refused.
        let mut other = req.clone();
        other.effective_from = date(2028, 1, 1);
        let err = rpc!(office, create_fee_schedule, other).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "[{b}]");
        assert_eq!(
            reason_of(&err).as_deref(),
            Some("IDEMPOTENCY_KEY_REUSED"),
            "[{b}]"
        );
    }
}

#[tokio::test]
async fn indexation_makes_the_next_version_with_arvode_raised_to_whole_kronor() {
    let rules = Rules {
        indexation_basis_points: Some(275),
        ..Rules::default()
    };
    for (h, _b) in harnesses_with(rules).await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        let v1 = create_schedule(&mut office, "national", date(2026, 1, 1)).await;
        // The configured 2.75 %.
        let v2 = rpc!(
            office,
            index_fee_schedule,
            IndexFeeScheduleRequest {
                request_id: new_id(),
                code: "national".into(),
                effective_from: date(2027, 1, 1),
                basis_points: None,
            }
        )
        .unwrap();
        assert_eq!(
            (v2.version, v2.indexed_from_version, v2.index_basis_points),
            (2, 1, 275),
            "[{b}]"
        );
        let amounts = |s: &FeeSchedule| s.arvode.iter().map(|a| a.monthly_ore).collect::<Vec<_>>();
        // 12 000 → 12 330; 10 000 → 10 275; 22 000 → 22 605; 20 000 → 20 550;
        // 32 000 → 32 880; 30 000 → 30 825; 42 000 → 43 155; 40 000 → 41 100.
        assert_eq!(
            amounts(&v2),
            vec![
                1_233_000, 1_027_500, 2_260_500, 2_055_000, 3_288_000, 3_082_500, 4_315_500,
                4_110_000
            ],
            "[{b}]"
        );
        assert_eq!(v2.omkostnad, v1.omkostnad, "[{b}]");
        // An explicit 3.33 % on top: 12 330 × 1.0333 = 12 740.589 → 12 741 kr.
        let v3 = rpc!(
            office,
            index_fee_schedule,
            IndexFeeScheduleRequest {
                request_id: new_id(),
                code: "national".into(),
                effective_from: date(2028, 1, 1),
                basis_points: Some(333),
            }
        )
        .unwrap();
        assert_eq!(v3.arvode[0].monthly_ore, 1_274_100, "[{b}]");
        assert!(v3.arvode.iter().all(|a| a.monthly_ore % 100 == 0), "[{b}]");
        // Not before the newest version; not of a schedule that does not exist.
        let err = rpc!(
            office,
            index_fee_schedule,
            IndexFeeScheduleRequest {
                request_id: new_id(),
                code: "national".into(),
                effective_from: date(2027, 6, 1),
                basis_points: Some(100),
            }
        )
        .unwrap_err();
        assert_eq!(field_of(&err).as_deref(), Some("effective_from"), "[{b}]");
        let err = rpc!(
            office,
            index_fee_schedule,
            IndexFeeScheduleRequest {
                request_id: new_id(),
                code: "nowhere".into(),
                effective_from: date(2029, 1, 1),
                basis_points: Some(100),
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "[{b}]");
        let err = rpc!(
            office,
            index_fee_schedule,
            IndexFeeScheduleRequest {
                request_id: new_id(),
                code: "national".into(),
                effective_from: date(2029, 1, 1),
                basis_points: Some(9000),
            }
        )
        .unwrap_err();
        assert_eq!(field_of(&err).as_deref(), Some("basis_points"), "[{b}]");
        // The event names the version and the percentage only.
        let events = h.service.feed.read_after(0, 100).await.unwrap();
        let indexed: Vec<_> = events
            .iter()
            .filter(|e| e.event_type == "compensation.fee_schedule_indexed")
            .collect();
        assert_eq!(indexed.len(), 2, "[{b}]");
        assert!(
            indexed[0]
                .payload_json
                .contains("\"index_basis_points\":275"),
            "[{b}] {}",
            indexed[0].payload_json
        );
    }
}

#[tokio::test]
async fn without_a_configured_percentage_the_request_must_name_one() {
    for (h, _b) in harnesses().await {
        let mut office = h.client(office()).await;
        create_schedule(&mut office, "national", date(2026, 1, 1)).await;
        let err = rpc!(
            office,
            index_fee_schedule,
            IndexFeeScheduleRequest {
                request_id: new_id(),
                code: "national".into(),
                effective_from: date(2027, 1, 1),
                basis_points: None,
            }
        )
        .unwrap_err();
        assert_eq!(
            field_of(&err).as_deref(),
            Some("basis_points"),
            "[{}]",
            h.backend
        );
    }
}
