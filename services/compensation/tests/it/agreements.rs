//! Agreements over gRPC: made on a schedule version, one per placement,
//! deviations with reasons, read by finance, the home itself and the paying
//! municipality only, and what a month pays (prorated, indexed).

use crate::common::*;
use samling_proto::compensation::v1::*;
use tonic::Code;

/// A change that spoils one field of a request.
type Edit = Box<dyn Fn(&mut CreateAgreementRequest)>;

#[tokio::test]
async fn an_agreement_is_made_on_the_version_in_effect_and_once_per_placement() {
    for (h, _b) in harnesses().await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        create_schedule(&mut office, "national", date(2026, 1, 1)).await;
        create_schedule(&mut office, "national", date(2027, 1, 1)).await;
        let home = new_id();
        let a = rpc!(
            office,
            create_agreement,
            agreement_request(&home, date(2026, 3, 17))
        )
        .unwrap();
        assert_eq!((a.schedule_version, a.version), (1, 1), "[{b}]");
        let later = rpc!(
            office,
            create_agreement,
            agreement_request(&home, date(2027, 2, 1))
        )
        .unwrap();
        assert_eq!(later.schedule_version, 2, "[{b}]");

        // The same placement again: refused, nothing changed.
        let mut again = agreement_request(&home, date(2026, 4, 1));
        again.placement_id = a.placement_id.clone();
        let err = rpc!(office, create_agreement, again).unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "[{b}]");

        // Before any version is in effect, or a version that does not exist.
        let err = rpc!(
            office,
            create_agreement,
            agreement_request(&home, date(2025, 12, 31))
        )
        .unwrap_err();
        assert_eq!(field_of(&err).as_deref(), Some("schedule_code"), "[{b}]");
        let mut r = agreement_request(&home, date(2026, 3, 1));
        r.schedule_version = 9;
        let err = rpc!(office, create_agreement, r).unwrap_err();
        assert_eq!(field_of(&err).as_deref(), Some("schedule_version"), "[{b}]");

        // Bad input names the field.
        let cases: Vec<(&str, Edit)> = vec![
            ("placement_id", Box::new(|r| r.placement_id = "p-1".into())),
            ("home_id", Box::new(|r| r.home_id = String::new())),
            (
                "municipality_code",
                Box::new(|r| r.municipality_code = "9999".into()),
            ),
            ("level", Box::new(|r| r.level = 0)),
            ("household", Box::new(|r| r.household = 7)),
            ("zone", Box::new(|r| r.zone = 0)),
            (
                "child_birth_date",
                Box::new(|r| r.child_birth_date = date(2027, 1, 1)),
            ),
            ("starts_on", Box::new(|r| r.starts_on = date(2026, 2, 30))),
            ("ends_on", Box::new(|r| r.ends_on = date(2026, 1, 1))),
            (
                "schedule_code",
                Box::new(|r| r.schedule_code = "Bad Code".into()),
            ),
        ];
        for (field, edit) in cases {
            let mut r = agreement_request(&home, date(2026, 3, 1));
            edit(&mut r);
            let err = rpc!(office, create_agreement, r).unwrap_err();
            assert_eq!(
                err.code(),
                Code::InvalidArgument,
                "[{b}] {field}: {}",
                err.message()
            );
            assert_eq!(
                field_of(&err).as_deref(),
                Some(field),
                "[{b}] {}",
                err.message()
            );
        }

        // The event holds ids and codes: never the child's birth date.
        let events = h.service.feed.read_after(0, 100).await.unwrap();
        let created: Vec<_> = events
            .iter()
            .filter(|e| e.event_type == "compensation.agreement_created")
            .collect();
        assert_eq!(created.len(), 2, "[{b}]");
        for e in created {
            assert!(
                !e.payload_json.contains("2016-06-01"),
                "[{b}] {}",
                e.payload_json
            );
            assert!(
                !e.payload_json.contains("birth"),
                "[{b}] {}",
                e.payload_json
            );
        }
    }
}

#[tokio::test]
async fn the_home_and_the_paying_municipality_see_theirs_and_nobody_elses() {
    for (h, _b) in harnesses().await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        create_schedule(&mut office, "national", date(2026, 1, 1)).await;
        let home = new_id();
        let other_home = new_id();
        let a = rpc!(
            office,
            create_agreement,
            agreement_request(&home, date(2026, 3, 1))
        )
        .unwrap();
        let mut r = agreement_request(&other_home, date(2026, 3, 1));
        r.municipality_code = "0114".into();
        let theirs = rpc!(office, create_agreement, r).unwrap();

        let get = |id: &str| GetAgreementRequest {
            agreement_id: id.into(),
        };
        // The home reads its own; another home's is not found (not refused:
        // its existence is not disclosed).
        let mut me = h.client(family_home(&home)).await;
        assert_eq!(
            rpc!(me, get_agreement, get(&a.id)).unwrap().id,
            a.id,
            "[{b}]"
        );
        let err = rpc!(me, get_agreement, get(&theirs.id)).unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "[{b}]");
        let err = rpc!(
            me,
            quote_month,
            QuoteMonthRequest {
                agreement_id: theirs.id.clone(),
                year: 2026,
                month: 4
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "[{b}]");
        // Its list is its own; asking for another home's is refused.
        let mine = rpc!(me, list_agreements, ListAgreementsRequest::default()).unwrap();
        assert_eq!(
            mine.agreements
                .iter()
                .map(|x| x.id.clone())
                .collect::<Vec<_>>(),
            vec![a.id.clone()],
            "[{b}]"
        );
        let err = rpc!(
            me,
            list_agreements,
            ListAgreementsRequest {
                home_id: other_home.clone(),
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(reason_of(&err).as_deref(), Some("NOT_OWN_RECORD"), "[{b}]");
        // A home cannot write.
        let err = rpc!(
            me,
            create_agreement,
            agreement_request(&home, date(2026, 3, 1))
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{b}]");

        // The paying municipality reads its own; another's is not found.
        let mut stockholm = h.client(caseworker("0180")).await;
        assert_eq!(
            rpc!(stockholm, get_agreement, get(&a.id)).unwrap().id,
            a.id,
            "[{b}]"
        );
        let err = rpc!(stockholm, get_agreement, get(&theirs.id)).unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "[{b}]");
        let listed = rpc!(stockholm, list_agreements, ListAgreementsRequest::default()).unwrap();
        assert_eq!(listed.agreements.len(), 1, "[{b}]");
        let err = rpc!(
            stockholm,
            list_agreements,
            ListAgreementsRequest {
                municipality_code: "0114".into(),
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(
            reason_of(&err).as_deref(),
            Some("NOT_OWN_MUNICIPALITY"),
            "[{b}]"
        );

        // Roles with no part in a placement's pay are refused.
        for caller in [ombud(), council_member(), child_ctx(&new_id())] {
            let mut c = h.client(caller).await;
            let err = rpc!(c, get_agreement, get(&a.id)).unwrap_err();
            assert_eq!(err.code(), Code::PermissionDenied, "[{b}]");
        }
        // Finance sees all.
        let all = rpc!(office, list_agreements, ListAgreementsRequest::default()).unwrap();
        assert_eq!(all.agreements.len(), 2, "[{b}]");
    }
}

#[tokio::test]
async fn deviations_with_reasons_change_the_months_pay_and_quotes_follow_indexation() {
    for (h, _b) in harnesses().await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        create_schedule(&mut office, "national", date(2026, 1, 1)).await;
        let home = new_id();
        let a = rpc!(
            office,
            create_agreement,
            agreement_request(&home, date(2026, 3, 17))
        )
        .unwrap();
        let mut pinned_req = agreement_request(&home, date(2026, 3, 17));
        pinned_req.follow_indexation = false;
        let pinned = rpc!(office, create_agreement, pinned_req).unwrap();

        let quote = |id: &str, y, m| QuoteMonthRequest {
            agreement_id: id.into(),
            year: y,
            month: m,
        };
        // March: booked from the 17th, 15 of 31 days.
        let march = rpc!(office, quote_month, quote(&a.id, 2026, 3)).unwrap();
        assert_eq!((march.days_in_month, march.paid_days), (31, 15), "[{b}]");
        let arvode = |q: &MonthQuote| {
            q.lines
                .iter()
                .find(|l| l.component == Component::Arvode as i32)
                .unwrap()
                .amount_ore
        };
        let omk = |q: &MonthQuote| {
            q.lines
                .iter()
                .find(|l| l.component == Component::Omkostnad as i32)
                .unwrap()
                .amount_ore
        };
        assert_eq!((arvode(&march), omk(&march)), (967_742, 314_516), "[{b}]");
        assert_eq!(march.total_ore, 967_742 + 314_516, "[{b}]");

        // A deviation from 16 April: +3 000 kr arvode.
        let add = AddDeviationRequest {
            request_id: new_id(),
            agreement_id: a.id.clone(),
            component: Component::Arvode as i32,
            monthly_adjustment_ore: 300_000,
            reason: DeviationReason::ExtraCareNeeds as i32,
            note: "nämnd decision 2026-04-12 §14".into(),
            valid_from: date(2026, 4, 16),
            valid_to: None,
            expected_version: 1,
        };
        let a2 = rpc!(office, add_deviation, add.clone()).unwrap();
        assert_eq!((a2.version, a2.deviations.len()), (2, 1), "[{b}]");
        assert_eq!(a2.deviations[0].decided_by, OFFICER, "[{b}]");
        // Replayed: the same answer, no second deviation.
        let replay = rpc!(office, add_deviation, add.clone()).unwrap();
        assert_eq!(replay.deviations.len(), 1, "[{b}]");
        // A stale version is a conflict.
        let mut stale = add.clone();
        stale.request_id = new_id();
        let err = rpc!(office, add_deviation, stale).unwrap_err();
        assert_eq!(err.code(), Code::Aborted, "[{b}]");
        // No reason note: refused, naming it.
        let mut bare = add.clone();
        bare.request_id = new_id();
        bare.expected_version = 0;
        bare.note = "  ".into();
        let err = rpc!(office, add_deviation, bare).unwrap_err();
        assert_eq!(field_of(&err).as_deref(), Some("note"), "[{b}]");

        let april = rpc!(office, quote_month, quote(&a.id, 2026, 4)).unwrap();
        assert_eq!(arvode(&april), 2_150_000, "[{b}]");

        // Indexed 3.50 % from 2027: the following agreement gets it, the
        // pinned one does not.
        rpc!(
            office,
            index_fee_schedule,
            IndexFeeScheduleRequest {
                request_id: new_id(),
                code: "national".into(),
                effective_from: date(2027, 1, 1),
                basis_points: Some(350),
            }
        )
        .unwrap();
        let jan = rpc!(office, quote_month, quote(&a.id, 2027, 1)).unwrap();
        assert_eq!(jan.schedule_version, 2, "[{b}]");
        // 20 000 kr + 3.50 % = 20 700 kr, + 3 000 kr deviation.
        assert_eq!(arvode(&jan), 2_370_000, "[{b}]");
        let dec = rpc!(office, quote_month, quote(&a.id, 2026, 12)).unwrap();
        assert_eq!(
            (dec.schedule_version, arvode(&dec)),
            (1, 2_300_000),
            "[{b}]"
        );
        let pinned_jan = rpc!(office, quote_month, quote(&pinned.id, 2027, 1)).unwrap();
        assert_eq!(
            (pinned_jan.schedule_version, arvode(&pinned_jan)),
            (1, 2_000_000),
            "[{b}]"
        );

        // The home reads its own month.
        let mut me = h.client(family_home(&home)).await;
        let own = rpc!(me, quote_month, quote(&a.id, 2026, 4)).unwrap();
        assert_eq!(own, april, "[{b}]");
        let err = rpc!(office, quote_month, quote(&a.id, 2026, 13)).unwrap_err();
        assert_eq!(field_of(&err).as_deref(), Some("month"), "[{b}]");
        // The deviation event names the reason code, not the note.
        let events = h.service.feed.read_after(0, 100).await.unwrap();
        let dev = events
            .iter()
            .find(|e| e.event_type == "compensation.deviation_added")
            .unwrap();
        assert!(
            dev.payload_json
                .contains("DEVIATION_REASON_EXTRA_CARE_NEEDS"),
            "[{b}]"
        );
        assert!(
            !dev.payload_json.contains("nämnd"),
            "[{b}] {}",
            dev.payload_json
        );
    }
}
