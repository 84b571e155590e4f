//! What socialjouren and caseworkers see (ADR 0031, issue 24 §8): searches
//! leave out homes that cannot take a placement unless asked, summaries
//! show capacity in force, adults, register-check status and the home's
//! description; municipalities see the overdue homes they use.

use crate::common;

use common::*;
use samling_proto::registry::v1::*;
use tonic::Code;

async fn search(
    h: &Harness,
    ctx: samling_kit::auth::AuthContext,
    req: SearchHomesRequest,
) -> Vec<HomeSummary> {
    let mut r = rpc!(
        h.client(ctx).await,
        search_homes,
        SearchHomesRequest {
            include_overdue: true,
            ..req
        }
    )
    .unwrap()
    .homes;
    r.sort_by(|a, b| a.id.cmp(&b.id));
    r
}

fn ids(v: &[HomeSummary]) -> Vec<String> {
    let mut out: Vec<String> = v.iter().map(|s| s.id.clone()).collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_search_leaves_out_homes_that_cannot_take_a_placement_unless_asked() {
    for_each_backend(|h| async move {
        let approved = h
            .approved_home(
                HomeDraft {
                    description: "  Lugn gård, hästar, nära skolan  ".into(),
                    ..draft("Gården 1", &adult(701))
                },
                "0180",
                days_ago(30),
            )
            .await;
        let applicant = h.create_home(draft("Ansökan 2", &adult(702))).await;
        let contact = h
            .approved_home(
                HomeDraft {
                    home_type: HomeType::ContactFamily as i32,
                    ..draft("Kontakt 3", &adult(703))
                },
                "0180",
                days_ago(30),
            )
            .await;
        let default = search(&h, caseworker("0180"), SearchHomesRequest::default()).await;
        assert_eq!(ids(&default), vec![approved.id.clone()]);
        let all = search(
            &h,
            caseworker("0180"),
            SearchHomesRequest {
                include_unplaceable: true,
                ..Default::default()
            },
        )
        .await;
        let mut want = vec![
            approved.id.clone(),
            applicant.id.clone(),
            contact.id.clone(),
        ];
        want.sort();
        assert_eq!(ids(&all), want);
        // Naming a status or a type asks for it.
        let applicants = search(
            &h,
            office(),
            SearchHomesRequest {
                statuses: vec![HomeStatus::Applicant as i32],
                ..Default::default()
            },
        )
        .await;
        assert_eq!(ids(&applicants), vec![applicant.id.clone()]);
        let contacts = search(
            &h,
            office(),
            SearchHomesRequest {
                home_types: vec![HomeType::ContactFamily as i32],
                ..Default::default()
            },
        )
        .await;
        assert_eq!(ids(&contacts), vec![contact.id.clone()]);

        // The summary: capacity in force (the normal 3), free places,
        // adults, register checks, the description.
        let s = &default[0];
        assert_eq!((s.capacity, s.effective_capacity, s.free_places), (0, 3, 3));
        assert_eq!(s.adults, 1);
        assert_eq!(s.record_checks, RecordCheckStatus::Incomplete as i32);
        assert_eq!(s.description, "Lugn gård, hästar, nära skolan");
        let member = h.get_home(&approved.id).await.members[0].id.clone();
        let check = |outcome: RecordCheckOutcome| {
            let h = h.clone();
            let (home_id, member_id) = (approved.id.clone(), member.clone());
            async move {
                rpc!(
                    h.office().await,
                    record_record_check,
                    RecordRecordCheckRequest {
                        home_id,
                        member_id,
                        check: Some(RecordCheck {
                            checked_on: Some(date(days_ago(2))),
                            register: "belastningsregistret".into(),
                            outcome: outcome as i32,
                        }),
                        ..Default::default()
                    }
                )
                .unwrap()
            }
        };
        check(RecordCheckOutcome::Clear).await;
        let s = &search(&h, caseworker("0180"), SearchHomesRequest::default()).await[0];
        assert_eq!(s.record_checks, RecordCheckStatus::AllClear as i32);
        check(RecordCheckOutcome::Remark).await;
        let s = &search(&h, caseworker("1480"), SearchHomesRequest::default()).await[0];
        assert_eq!(s.record_checks, RecordCheckStatus::Remark as i32);
        // A child placed: one place fewer.
        let kid = h.register_child("0180", &child_pnr(8, 711)).await;
        h.place(caseworker("0180"), &kid.id, &approved.id, days_ago(1))
            .await
            .unwrap();
        let s = &search(&h, caseworker("0180"), SearchHomesRequest::default()).await[0];
        assert_eq!((s.placed_count, s.free_places), (1, 2));
        // The description is checked like every field.
        expect_invalid(
            rpc!(
                h.office().await,
                create_home,
                CreateHomeRequest {
                    request_id: String::new(),
                    draft: Some(HomeDraft {
                        description: "x".repeat(2001),
                        ..draft("Lång 4", &adult(704))
                    }),
                }
            ),
            "draft.description",
        );
    })
    .await;
}

#[tokio::test]
async fn a_municipality_sees_the_overdue_homes_it_uses_and_no_others() {
    for_each_backend(|h| async move {
        // Approved 400 days ago: the annual re-confirmation is overdue.
        let used = h
            .approved_home(draft("Förfallen 5", &adult(721)), "0180", days_ago(400))
            .await;
        let unused = h
            .approved_home(draft("Förfallen 6", &adult(722)), "0180", days_ago(400))
            .await;
        let kid = h.register_child("0180", &child_pnr(9, 731)).await;
        let r = h
            .place(caseworker("0180"), &kid.id, &used.id, days_ago(3))
            .await
            .unwrap();
        assert!(
            r.notices
                .contains(&"home_reconfirmation_overdue".to_string())
        );
        let overdue = |ctx, m: &str| {
            let h = h.clone();
            let req = ListOverdueHomesRequest {
                municipality_code: m.into(),
                ..Default::default()
            };
            async move { rpc!(h.client(ctx).await, list_overdue_homes, req).map(|r| ids(&r.homes)) }
        };
        let mut both = vec![used.id.clone(), unused.id.clone()];
        both.sort();
        assert_eq!(overdue(office(), "").await.unwrap(), both);
        assert_eq!(
            overdue(caseworker("0180"), "").await.unwrap(),
            vec![used.id.clone()]
        );
        assert_eq!(
            overdue(manager("0180"), "0180").await.unwrap(),
            vec![used.id.clone()]
        );
        // Another municipality uses neither; it cannot ask for 0180's.
        assert!(overdue(caseworker("1480"), "").await.unwrap().is_empty());
        let s = expect_code(
            overdue(caseworker("1480"), "0180").await,
            Code::PermissionDenied,
        );
        assert_eq!(
            s.metadata()
                .get(samling_kit::error::REASON_METADATA_KEY)
                .and_then(|v| v.to_str().ok()),
            Some("NOT_OWN_MUNICIPALITY")
        );
        for ctx in [
            analyst(),
            council_member(),
            ombud(),
            family_home(&used.id),
            child_ctx(&kid.id),
        ] {
            expect_code(overdue(ctx, "").await, Code::PermissionDenied);
        }
    })
    .await;
}
