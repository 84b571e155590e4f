//! Claims (ADR 0032) and the pay kinds of ADR 0033 end to end: a home
//! claims, a caseworker of the placing municipality decides, the next run
//! pays each decided claim once as an explicit line; notice pay, a
//! contracted jourhem paid while empty, pay after a custody transfer;
//! corrections of paid months as lines of the next run; and the attackers
//! (another home, another municipality, aggregate roles, a replay under
//! another caller's token).

use crate::common::*;
use crate::payments::{created, ended, follow_registry, rules, second_officer, validate};
use samling_kit::auth::AuthContext;
use samling_proto::compensation::v1::*;
use tonic::Code;

fn claim(agreement_id: &str, kind: ClaimKind, amount_ore: i64) -> SubmitClaimRequest {
    SubmitClaimRequest {
        request_id: new_id(),
        agreement_id: agreement_id.into(),
        kind: kind as i32,
        amount_ore,
        occurred_on: date(2026, 2, 20),
        note: "kvitto bifogat".into(),
    }
}

fn decide(claim_id: &str, approve: bool, approved_ore: i64, note: &str) -> DecideClaimRequest {
    DecideClaimRequest {
        request_id: new_id(),
        claim_id: claim_id.into(),
        approve,
        approved_ore,
        note: note.into(),
        expected_version: 0,
    }
}

fn start(month: i32) -> StartPaymentRunRequest {
    StartPaymentRunRequest {
        request_id: new_id(),
        year: 2026,
        month,
        execution_date: date(2026, month, 25),
    }
}

async fn statement(
    c: &mut Client,
    run_id: &str,
    home_id: &str,
) -> Result<Statement, tonic::Status> {
    rpc!(
        *c,
        get_statement,
        GetStatementRequest {
            run_id: run_id.into(),
            home_id: home_id.into()
        }
    )
}

#[tokio::test]
async fn a_home_claims_the_municipality_decides_and_the_next_run_pays_each_claim_once() {
    for (h, b) in harnesses_with(rules()).await {
        let bk = h.backend;
        let mut office = h.client(office()).await;
        create_schedule(&mut office, "national", date(2026, 1, 1)).await;
        let home = new_id();
        let mut req = agreement_request(&home, date(2026, 1, 1));
        req.pension_eligible = true;
        let a = rpc!(office, create_agreement, req).unwrap();
        assert!(a.pension_eligible, "[{bk}]");
        follow_registry(
            &h,
            &b,
            vec![created(&a.placement_id, &home, "2026-01-01")],
            1,
        )
        .await;

        let mut me = h.client(family_home(&home)).await;
        // Bad input names the field.
        let mut bad = claim(&a.id, ClaimKind::TravelVisits, 45_000);
        bad.kind = 0;
        let e = rpc!(me, submit_claim, bad).unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::InvalidArgument, Some("kind")),
            "[{bk}]"
        );
        let mut bad = claim(&a.id, ClaimKind::TravelVisits, 0);
        bad.request_id = new_id();
        let e = rpc!(me, submit_claim, bad).unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("amount_ore"), "[{bk}]");
        let mut bad = claim(&a.id, ClaimKind::TravelVisits, 1);
        bad.occurred_on = date(2027, 1, 1);
        let e = rpc!(me, submit_claim, bad).unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("occurred_on"), "[{bk}]");
        // Finance does not claim for the home.
        let e = rpc!(
            office,
            submit_claim,
            claim(&a.id, ClaimKind::TravelVisits, 1)
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{bk}]");

        let travel = rpc!(
            me,
            submit_claim,
            claim(&a.id, ClaimKind::TravelVisits, 45_000)
        )
        .unwrap();
        let lost = rpc!(
            me,
            submit_claim,
            claim(&a.id, ClaimKind::LostIncome, 250_000)
        )
        .unwrap();
        let refused_one =
            rpc!(me, submit_claim, claim(&a.id, ClaimKind::Training, 99_000)).unwrap();
        assert_eq!(travel.status, ClaimStatus::Submitted as i32, "[{bk}]");
        assert_eq!(travel.municipality_code, "0180", "[{bk}]");
        assert!(lost.taxable && !travel.taxable, "[{bk}]");

        let mut cw = h.client(caseworker("0180")).await;
        let t = rpc!(
            cw,
            decide_claim,
            decide(&travel.id, true, 40_000, "enligt taxa")
        )
        .unwrap();
        assert_eq!(
            (t.status, t.approved_ore),
            (ClaimStatus::Approved as i32, 40_000),
            "[{bk}]"
        );
        let e = rpc!(cw, decide_claim, decide(&lost.id, true, 250_001, "")).unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("approved_ore"), "[{bk}]");
        rpc!(cw, decide_claim, decide(&lost.id, true, 0, "")).unwrap();
        let e = rpc!(cw, decide_claim, decide(&refused_one.id, false, 0, "")).unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("note"), "[{bk}]");
        let r = rpc!(
            cw,
            decide_claim,
            decide(&refused_one.id, false, 0, "ej beslutad kurs")
        )
        .unwrap();
        assert_eq!(r.status, ClaimStatus::Rejected as i32, "[{bk}]");
        // Decided once.
        let e = rpc!(cw, decide_claim, decide(&travel.id, true, 0, "")).unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "[{bk}]");

        // The home and the municipality list them; the home sees its own.
        let mine = rpc!(me, list_claims, ListClaimsRequest::default()).unwrap();
        assert_eq!(mine.claims.len(), 3, "[{bk}]");
        let approved = rpc!(
            cw,
            list_claims,
            ListClaimsRequest {
                status: ClaimStatus::Approved as i32,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(approved.claims.len(), 2, "[{bk}]");

        // March: arvode and omkostnad, and the two decided claims as lines.
        let run = rpc!(office, start_payment_run, start(3)).unwrap();
        assert_eq!(run.claims_paid, 2, "[{bk}]");
        let s = statement(&mut me, &run.id, &home).await.unwrap();
        let claim_lines: Vec<&StatementLine> = s
            .lines
            .iter()
            .filter(|l| l.component == Component::Claim as i32)
            .collect();
        assert_eq!(claim_lines.len(), 2, "[{bk}] {s:?}");
        assert!(
            claim_lines.iter().any(|l| l.claim_id == travel.id
                && l.amount_ore == 40_000
                && !l.taxable
                && l.claim_kind == ClaimKind::TravelVisits as i32),
            "[{bk}]"
        );
        // Gross: 20 000 + 6 500 kr + 400 + 2 500 kr; taxable 22 500 kr.
        assert_eq!(
            s.gross_ore,
            2_000_000 + 650_000 + 40_000 + 250_000,
            "[{bk}]"
        );
        assert_eq!(s.taxable_ore, 2_250_000, "[{bk}]");
        assert_eq!(s.pensionable_ore, 2_250_000, "[{bk}]");
        // 30 % of 22 500 kr (above 10 000 kr).
        assert_eq!(s.tax_ore, 675_000, "[{bk}]");
        let paid = rpc!(
            me,
            get_claim,
            GetClaimRequest {
                claim_id: lost.id.clone()
            }
        )
        .unwrap();
        assert_eq!(paid.status, ClaimStatus::Paid as i32, "[{bk}]");
        assert_eq!(paid.paid_in_run_id, run.id, "[{bk}]");
        // A paid claim is not decided again, and never paid twice.
        let e = rpc!(cw, decide_claim, decide(&lost.id, true, 0, "")).unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "[{bk}]");
        let april = rpc!(office, start_payment_run, start(4)).unwrap();
        assert_eq!((april.claims_paid, april.corrections), (0, 0), "[{bk}]");
        let s = statement(&mut me, &april.id, &home).await.unwrap();
        assert!(
            s.lines
                .iter()
                .all(|l| l.component != Component::Claim as i32),
            "[{bk}]"
        );
    }
}

/// Rule K3: a claim over its kind's ceiling is refused naming the field,
/// at submission and (a ceiling lowered since) at the decision; at the
/// ceiling it is accepted.
#[tokio::test]
async fn a_claim_over_its_kinds_ceiling_is_refused_naming_the_field() {
    let mut r = rules();
    r.claim_ceilings.travel_visits_ore = 50_000;
    for (h, _b) in harnesses_with(r).await {
        let bk = h.backend;
        let mut office = h.client(office()).await;
        create_schedule(&mut office, "national", date(2026, 1, 1)).await;
        let home = new_id();
        let a = rpc!(
            office,
            create_agreement,
            agreement_request(&home, date(2026, 1, 1))
        )
        .unwrap();
        let mut me = h.client(family_home(&home)).await;
        let e = rpc!(
            me,
            submit_claim,
            claim(&a.id, ClaimKind::TravelVisits, 50_001)
        )
        .unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::InvalidArgument, Some("amount_ore")),
            "[{bk}] {e:?}"
        );
        assert!(e.message().contains("CLAIM_KIND_TRAVEL_VISITS"), "[{bk}]");
        // Another kind has its own (default) ceiling: 50 001 öre of training is fine.
        rpc!(me, submit_claim, claim(&a.id, ClaimKind::Training, 50_001)).unwrap();
        let at = rpc!(
            me,
            submit_claim,
            claim(&a.id, ClaimKind::TravelVisits, 50_000)
        )
        .unwrap();
        // The region lowers the ceiling before the decision: approving the
        // claimed amount is refused naming approved_ore; a lower one passes.
        let mut lowered = h.service.clone();
        let mut rules = (*lowered.rules).clone();
        rules.claim_ceilings.travel_visits_ore = 30_000;
        lowered.rules = std::sync::Arc::new(rules);
        let cw = caseworker("0180");
        let e = lowered
            .decide_claim(&cw, decide(&at.id, true, 0, ""))
            .await
            .unwrap_err();
        assert_eq!(
            samling_kit::error::ServiceError::field(&e),
            Some("approved_ore"),
            "[{bk}]"
        );
        let ok = lowered
            .decide_claim(&cw, decide(&at.id, true, 30_000, "taket"))
            .await
            .unwrap();
        assert_eq!(
            (ok.status, ok.approved_ore),
            (ClaimStatus::Approved as i32, 30_000),
            "[{bk}]"
        );
    }
}

#[tokio::test]
async fn notice_pay_jourhem_while_empty_and_pay_after_a_custody_transfer() {
    for (h, b) in harnesses_with(rules()).await {
        let bk = h.backend;
        let mut office = h.client(office()).await;
        create_schedule(&mut office, "national", date(2024, 1, 1)).await;
        let (ended_home, jour_home, custody_home) = (new_id(), new_id(), new_id());
        // Placed 1 Jan 2025, ended 10 March 2026: 14 whole months, raised
        // level → 30 days of notice pay (11 March – 9 April).
        let a = rpc!(
            office,
            create_agreement,
            agreement_request(&ended_home, date(2025, 1, 1))
        )
        .unwrap();
        let mut j = agreement_request(&jour_home, date(2026, 1, 1));
        j.contracted_jourhem = true;
        let j = rpc!(office, create_agreement, j).unwrap();
        let mut c = agreement_request(&custody_home, date(2025, 1, 1));
        c.custody_transfer_on = date(2026, 2, 1);
        let c = rpc!(office, create_agreement, c).unwrap();
        let mut bad = agreement_request(&new_id(), date(2025, 1, 1));
        bad.custody_transfer_on = date(2024, 12, 31);
        let e = rpc!(office, create_agreement, bad).unwrap_err();
        assert_eq!(
            field_of(&e).as_deref(),
            Some("custody_transfer_on"),
            "[{bk}]"
        );
        follow_registry(
            &h,
            &b,
            vec![
                created(&a.placement_id, &ended_home, "2025-01-01"),
                ended(&a.placement_id, &ended_home, "2026-03-10"),
                created(&c.placement_id, &custody_home, "2025-01-01"),
                ended(&c.placement_id, &custody_home, "2026-02-01"),
            ],
            4,
        )
        .await;
        let run = rpc!(office, start_payment_run, start(3)).unwrap();
        assert!(
            run.agreements_without_placement.is_empty(),
            "[{bk}] the jourhem needs none"
        );
        let line = |s: &Statement, c: Component| {
            s.lines
                .iter()
                .find(|l| l.component == c as i32)
                .map(|l| (l.paid_days, l.amount_ore))
        };
        let s = statement(&mut office, &run.id, &ended_home).await.unwrap();
        // Arvode 20 000 kr: 10 of 31 days → 645 161; notice 21 → 1 354 839.
        assert_eq!(line(&s, Component::Arvode), Some((10, 645_161)), "[{bk}]");
        assert_eq!(
            line(&s, Component::NoticePay),
            Some((21, 1_354_839)),
            "[{bk}]"
        );
        let s = statement(&mut office, &run.id, &jour_home).await.unwrap();
        assert_eq!(line(&s, Component::Arvode), Some((31, 2_000_000)), "[{bk}]");
        let s = statement(&mut office, &run.id, &custody_home)
            .await
            .unwrap();
        assert_eq!(line(&s, Component::Arvode), Some((31, 2_000_000)), "[{bk}]");
        assert_eq!(line(&s, Component::NoticePay), None, "[{bk}]");
        let april = rpc!(office, start_payment_run, start(4)).unwrap();
        let s = statement(&mut office, &april.id, &ended_home)
            .await
            .unwrap();
        assert_eq!(s.lines.len(), 1, "[{bk}] {s:?}");
        assert_eq!(line(&s, Component::NoticePay), Some((9, 600_000)), "[{bk}]");
        let _ = j;
    }
}

#[tokio::test]
async fn a_change_to_a_paid_month_is_a_correction_line_of_the_next_run() {
    for (h, b) in harnesses_with(rules()).await {
        let bk = h.backend;
        let mut office = h.client(office()).await;
        create_schedule(&mut office, "national", date(2026, 1, 1)).await;
        let (home, steady) = (new_id(), new_id());
        let a = rpc!(
            office,
            create_agreement,
            agreement_request(&home, date(2026, 1, 1))
        )
        .unwrap();
        let s2 = rpc!(
            office,
            create_agreement,
            agreement_request(&steady, date(2026, 1, 1))
        )
        .unwrap();
        follow_registry(
            &h,
            &b,
            vec![
                created(&a.placement_id, &home, "2026-01-01"),
                created(&s2.placement_id, &steady, "2026-01-01"),
            ],
            2,
        )
        .await;
        for who in [&home, &steady] {
            rpc!(
                office,
                set_payee_account,
                SetPayeeAccountRequest {
                    request_id: new_id(),
                    home_id: who.to_string(),
                    iban: samling_compensation::domain::payments::iban_of(
                        "SE",
                        &format!("12000000019{:09}", who.len() + usize::from(who == &home))
                    ),
                }
            )
            .unwrap();
        }
        let feb = rpc!(office, start_payment_run, start(2)).unwrap();
        assert_eq!(feb.corrections, 0, "[{bk}]");
        // The registry reports late that the placement ended 15 February.
        {
            let mut tx = h.service.store.begin_write().await.unwrap();
            samling_compensation::store::placements::upsert(
                tx.conn(),
                &a.placement_id,
                &home,
                "",
                "2026-02-15",
            )
            .await
            .unwrap();
            tx.commit(&h.service.feed).await.unwrap();
        }
        // February's run is final: asking again answers it unchanged.
        let again = rpc!(office, start_payment_run, start(2)).unwrap();
        assert_eq!(
            (again.id.as_str(), again.net_ore),
            (feb.id.as_str(), feb.net_ore),
            "[{bk}]"
        );
        let march = rpc!(office, start_payment_run, start(3)).unwrap();
        assert_eq!(march.corrections, 2, "[{bk}]");
        let s = statement(&mut office, &march.id, &home).await.unwrap();
        // Owed now for February: 15 of 28 days. Arvode 1 071 429 (paid
        // 2 000 000), omkostnad 348 214 (paid 650 000).
        let corr: Vec<(i32, i64, &str)> = s
            .lines
            .iter()
            .map(|l| (l.component, l.amount_ore, l.corrects_period.as_str()))
            .collect();
        assert_eq!(
            corr,
            vec![
                (Component::Arvode as i32, -928_571, "2026-02"),
                (Component::Omkostnad as i32, -301_786, "2026-02"),
            ],
            "[{bk}] only the corrections: no repaid month"
        );
        assert_eq!(s.gross_ore, -1_230_357, "[{bk}]");
        assert_eq!((s.tax_ore, s.paid_by_transfer), (0, false), "[{bk}]");
        assert!(march.homes_with_nothing_to_pay.contains(&home), "[{bk}]");
        let steady_s = statement(&mut office, &march.id, &steady).await.unwrap();
        assert!(
            steady_s.lines.iter().all(|l| l.corrects_period.is_empty()),
            "[{bk}]"
        );
        // The file of the run is valid and pays only the steady home.
        rpc!(
            h.client(second_officer()).await,
            approve_payment_run,
            ApprovePaymentRunRequest {
                request_id: new_id(),
                run_id: march.id.clone(),
            }
        )
        .unwrap();
        let f = rpc!(
            office,
            get_payment_file,
            GetPaymentFileRequest {
                run_id: march.id.clone()
            }
        )
        .unwrap();
        assert_eq!(f.xml.matches("<CdtTrfTxInf>").count(), 1, "[{bk}]");
        validate(&f.xml).unwrap_or_else(|e| panic!("[{bk}] {e}"));
        // C2: April first carries March's negative net alone (the home has
        // nothing else in April): still negative, carried again, not lost.
        let april = rpc!(office, start_payment_run, start(4)).unwrap();
        // Corrected once: April has no more corrections.
        assert_eq!(april.corrections, 0, "[{bk}]");
        let s4 = statement(&mut office, &april.id, &home).await.unwrap();
        let carried = |s: &Statement| -> Vec<(i64, bool, String)> {
            s.lines
                .iter()
                .filter(|l| l.component() == Component::CarriedOver)
                .map(|l| (l.amount_ore, l.taxable, l.corrects_period.clone()))
                .collect()
        };
        assert_eq!(
            carried(&s4),
            vec![(-1_230_357, false, "2026-03".to_string())],
            "[{bk}]"
        );
        assert_eq!(
            (s4.net_ore, s4.paid_by_transfer),
            (-1_230_357, false),
            "[{bk}]"
        );
        // Asking for April again answers the same run: carried once.
        let again = rpc!(office, start_payment_run, start(4)).unwrap();
        assert_eq!(
            (again.id.as_str(), again.net_ore),
            (april.id.as_str(), april.net_ore),
            "[{bk}]"
        );
        // May: a decided start grant of 20 000 kr (tax-free) meets April's
        // carried net: 2 000 000 − 1 230 357 = 769 643 öre is transferred.
        let mut me = h.client(family_home(&home)).await;
        let grant = rpc!(
            me,
            submit_claim,
            claim(&a.id, ClaimKind::StartGrant, 2_000_000)
        )
        .unwrap();
        rpc!(
            h.client(caseworker("0180")).await,
            decide_claim,
            decide(&grant.id, true, 0, "")
        )
        .unwrap();
        let may = rpc!(office, start_payment_run, start(5)).unwrap();
        let s5 = statement(&mut office, &may.id, &home).await.unwrap();
        assert_eq!(
            carried(&s5),
            vec![(-1_230_357, false, "2026-04".to_string())],
            "[{bk}] April's net, once (not March's again)"
        );
        assert_eq!(
            (s5.tax_ore, s5.net_ore, s5.paid_by_transfer),
            (0, 769_643, true),
            "[{bk}]"
        );
        assert!(!may.homes_with_nothing_to_pay.contains(&home), "[{bk}]");
        // June: recovered, nothing more is carried; the corrections of
        // earlier months leave the carried lines alone.
        let june = rpc!(office, start_payment_run, start(6)).unwrap();
        assert_eq!(june.corrections, 0, "[{bk}]");
        let e = statement(&mut office, &june.id, &home).await.unwrap_err();
        assert_eq!(
            e.code(),
            Code::NotFound,
            "[{bk}] no statement: nothing owed or carried"
        );
    }
}

#[tokio::test]
async fn attackers_other_homes_other_municipalities_aggregate_roles_and_replays() {
    for (h, b) in harnesses_with(rules()).await {
        let bk = h.backend;
        let mut office = h.client(office()).await;
        create_schedule(&mut office, "national", date(2026, 1, 1)).await;
        let (home, other) = (new_id(), new_id());
        let a = rpc!(
            office,
            create_agreement,
            agreement_request(&home, date(2026, 1, 1))
        )
        .unwrap();
        let o = rpc!(
            office,
            create_agreement,
            agreement_request(&other, date(2026, 1, 1))
        )
        .unwrap();
        follow_registry(
            &h,
            &b,
            vec![
                created(&a.placement_id, &home, "2026-01-01"),
                created(&o.placement_id, &other, "2026-01-01"),
            ],
            2,
        )
        .await;
        let mut me = h.client(family_home(&home)).await;
        let mut them = h.client(family_home(&other)).await;
        let req = claim(&a.id, ClaimKind::TravelHandledning, 30_000);
        let mine = rpc!(me, submit_claim, req.clone()).unwrap();
        // The same request id and body under another home's token: refused
        // before any replay (not the first answer).
        let e = rpc!(them, submit_claim, req.clone()).unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{bk}]");
        // Another home claiming under my agreement: not found.
        let e = rpc!(them, submit_claim, claim(&a.id, ClaimKind::TravelVisits, 1)).unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{bk}]");
        // Another home reading or listing my claims.
        let e = rpc!(
            them,
            get_claim,
            GetClaimRequest {
                claim_id: mine.id.clone()
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{bk}]");
        let e = rpc!(
            them,
            list_claims,
            ListClaimsRequest {
                home_id: home.clone(),
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(reason_of(&e).as_deref(), Some("NOT_OWN_RECORD"), "[{bk}]");
        assert!(
            rpc!(them, list_claims, ListClaimsRequest::default())
                .unwrap()
                .claims
                .is_empty(),
            "[{bk}]"
        );

        // A caseworker of another municipality: not found, listed nothing,
        // and refused again when replaying the right caseworker's request.
        let mut goteborg = h.client(caseworker("1480")).await;
        let d = decide(&mine.id, true, 0, "");
        let e = rpc!(goteborg, decide_claim, d.clone()).unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{bk}]");
        let e = rpc!(
            goteborg,
            list_claims,
            ListClaimsRequest {
                municipality_code: "0180".into(),
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(
            reason_of(&e).as_deref(),
            Some("NOT_OWN_MUNICIPALITY"),
            "[{bk}]"
        );
        let mut cw = h.client(caseworker("0180")).await;
        rpc!(cw, decide_claim, d.clone()).unwrap();
        let e = rpc!(goteborg, decide_claim, d.clone()).unwrap_err();
        assert_eq!(
            e.code(),
            Code::NotFound,
            "[{bk}] the replay under another token"
        );
        // The manager, the home itself and finance do not decide.
        for ctx in [manager("0180"), family_home(&home), crate::common::office()] {
            let mut c = h.client(ctx).await;
            let e = rpc!(c, decide_claim, decide(&mine.id, true, 0, "")).unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{bk}]");
        }

        let run = rpc!(office, start_payment_run, start(3)).unwrap();
        // Another home's statement: not found.
        let e = statement(&mut them, &run.id, &home).await.unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{bk}]");
        assert!(statement(&mut me, &run.id, &home).await.is_ok(), "[{bk}]");
        // Aggregate roles (and the municipality) do not read statements or
        // claims of homes.
        let aggregate: [AuthContext; 3] = [analyst(), council_member(), caseworker("0180")];
        for ctx in aggregate {
            let role = ctx.role.as_str();
            let mut c = h.client(ctx).await;
            let e = statement(&mut c, &run.id, &home).await.unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{bk}] {role}");
            let e = rpc!(
                c,
                list_statements,
                ListStatementsRequest {
                    run_id: run.id.clone(),
                    page: None
                }
            )
            .unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{bk}] {role}");
            let e = rpc!(
                c,
                get_payment_run,
                GetPaymentRunRequest {
                    run_id: run.id.clone()
                }
            )
            .unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{bk}] {role}");
        }
        for ctx in [analyst(), council_member()] {
            let mut c = h.client(ctx).await;
            let e = rpc!(c, list_claims, ListClaimsRequest::default()).unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{bk}]");
            let e = rpc!(
                c,
                get_claim,
                GetClaimRequest {
                    claim_id: mine.id.clone()
                }
            )
            .unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{bk}]");
        }
        // A run replayed under the second officer's token is the second
        // officer's own request: the month's run, not a stored answer of
        // another caller (and it cannot approve through it).
        let mut second = h.client(second_officer()).await;
        let again = rpc!(second, start_payment_run, start(3)).unwrap();
        assert_eq!(again.id, run.id, "[{bk}]");
    }
}

#[tokio::test]
async fn two_runs_of_a_month_at_the_same_moment_give_one_run_and_a_friendly_refusal() {
    for (h, _b) in harnesses_with(rules()).await {
        let bk = h.backend;
        let mut office = h.client(office()).await;
        create_schedule(&mut office, "national", date(2026, 1, 1)).await;
        // The unique key's refusal, as the slower of two writers meets it.
        let mut tx = h.service.store.begin_write().await.unwrap();
        let first = PaymentRun {
            id: new_id(),
            year: 2026,
            month: 5,
            status: RunStatus::Calculated as i32,
            ..Default::default()
        };
        samling_compensation::store::payments::insert_run(tx.conn(), &first)
            .await
            .unwrap();
        let second = PaymentRun {
            id: new_id(),
            ..first.clone()
        };
        let e = samling_compensation::store::payments::insert_run(tx.conn(), &second)
            .await
            .unwrap_err();
        drop(tx);
        let status = tonic::Status::from(e);
        assert_eq!(status.code(), Code::FailedPrecondition, "[{bk}]");
        assert_eq!(field_of(&status).as_deref(), Some("month"), "[{bk}]");
        // Two starts at once: one run, the other answers it or is refused
        // with the friendly precondition.
        let (one, two) = (crate::common::office(), second_officer());
        let (x, y) = tokio::join!(
            h.service.start_payment_run(&one, start(6)),
            h.service.start_payment_run(&two, start(6)),
        );
        let ids: Vec<String> = [x, y]
            .into_iter()
            .filter_map(|r| match r {
                Ok(run) => Some(run.id),
                Err(e) => {
                    let s = tonic::Status::from(e);
                    assert_eq!(
                        (s.code(), field_of(&s).as_deref()),
                        (Code::FailedPrecondition, Some("month")),
                        "[{bk}]"
                    );
                    None
                }
            })
            .collect();
        assert!(!ids.is_empty(), "[{bk}]");
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "[{bk}] one run");
    }
}

/// `samling bench payments`' engine on every backend, small: the run pays
/// every placement and claim, and the file transfers every statement.
#[tokio::test]
async fn the_payments_bench_pays_every_placement_and_claim() {
    for b in samling_testkit::backend::store_backends() {
        let (store, _) = b
            .store("compensation", None, &[samling_compensation::MIGRATIONS])
            .await;
        let f = samling_compensation::bench::run(store, 200, 50)
            .await
            .unwrap();
        let bk = b.database();
        assert_eq!(
            (f.placements, f.claims, f.claims_paid),
            (200, 50, 50),
            "[{bk}]"
        );
        assert_eq!((f.statements, f.transfers), (200, 200), "[{bk}]");
        assert!(f.file_bytes > 200 * 200, "[{bk}] {f:?}");
        assert!(f.seconds > 0.0, "[{bk}]");
    }
}
