//! Negative and protective decisions (issue 24 §3, ADR 0026): an approval
//! revoked or suspended, a prohibition, a medgivande withdrawn; agencies
//! and units without a valid IVO permit. Through gRPC, on every backend,
//! as the deciders and as those who must not.

use crate::common::*;
use samling_kit::auth::AuthContext;
use samling_proto::registry::v1::*;
use serde_json::Value;
use tonic::Code;

pub fn restriction(
    home_id: &str,
    kind: RestrictionKind,
    municipality: &str,
    reasons: &str,
) -> RecordRestrictionRequest {
    RecordRestrictionRequest {
        home_id: home_id.into(),
        kind: kind as i32,
        municipality_code: municipality.into(),
        decision_date: Some(date(days_ago(1))),
        decision_ref: "SN 2026/44 § 7".into(),
        reasons: reasons.into(),
        ..Default::default()
    }
}

fn payload(e: &samling_proto::common::v1::Event) -> Value {
    serde_json::from_str(&e.payload_json).unwrap()
}

#[track_caller]
fn expect_reason<T: std::fmt::Debug>(r: Result<T, tonic::Status>, code: Code, reason: &str) {
    let s = expect_code(r, code);
    assert_eq!(
        s.metadata()
            .get(samling_kit::error::REASON_METADATA_KEY)
            .and_then(|v| v.to_str().ok()),
        Some(reason),
        "{s:?}"
    );
}

const REASONS: &str = "Vid uppföljningsbesök 2026-11-20 framkom allvarliga brister i omsorgen.";

#[tokio::test]
async fn a_revoked_approval_pauses_the_home_refuses_placements_and_tells_the_home_and_the_placing_municipality()
 {
    for_each_backend(|h| async move {
        let home = h
            .approved_home(
                draft("Återkallelsevägen 1", &adult(301)),
                "0180",
                days_ago(60),
            )
            .await;
        let first = h.register_child("0180", &child_pnr(8, 301)).await;
        let placed = h
            .place(caseworker("0180"), &first.id, &home.id, days_ago(10))
            .await
            .unwrap()
            .placement
            .unwrap();
        let seq = h.events().await.last().map(|e| e.seq).unwrap_or(0);

        // The approving nämnd's manager revokes its approval, with reasons.
        let mut m = h.client(manager("0180")).await;
        let revoked = rpc!(
            m,
            record_restriction,
            restriction(&home.id, RestrictionKind::ApprovalRevoked, "0180", REASONS)
        )
        .unwrap();
        assert_eq!(revoked.status, HomeStatus::Paused as i32, "{revoked:?}");
        assert!(revoked.placement_blocked);
        let r = &revoked.restrictions[0];
        assert!(r.in_force && r.reasons == REASONS && !r.notice_id.is_empty());
        assert_eq!(revoked.version, home.version + 2, "a new version");

        // No placement while it stands; nor back into service by the office.
        let second = h.register_child("0180", &child_pnr(8, 302)).await;
        expect_reason(
            h.place(caseworker("0180"), &second.id, &home.id, today())
                .await,
            Code::FailedPrecondition,
            "NOT_ACCEPTING_PLACEMENTS",
        );
        expect_reason(
            rpc!(
                h.office().await,
                transition_home,
                TransitionHomeRequest {
                    home_id: home.id.clone(),
                    to_status: HomeStatus::Active as i32,
                    reason: "back".into(),
                    ..Default::default()
                }
            ),
            Code::FailedPrecondition,
            "NOT_ACCEPTING_PLACEMENTS",
        );

        // Search leaves it out unless asked, and says why when asked.
        let mut cw = h.client(caseworker("1480")).await;
        let found = rpc!(cw, search_homes, SearchHomesRequest::default()).unwrap();
        assert!(!found.homes.iter().any(|s| s.id == home.id));
        let asked = rpc!(
            cw,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                include_restricted: true,
                ..Default::default()
            }
        )
        .unwrap();
        let s = asked.homes.iter().find(|s| s.id == home.id).unwrap();
        assert!(s.placement_blocked && s.status == HomeStatus::Paused as i32);
        // A municipality with no link sees the decision's kind, not its reasons.
        let seen = cw.get_home(&home.id).await.unwrap();
        assert!(seen.placement_blocked);
        assert!(seen.restrictions[0].reasons.is_empty(), "{seen:?}");

        // The home reads its notice: reasons, how and by when to appeal.
        let notices = rpc!(
            h.client(family_home(&home.id)).await,
            list_home_notices,
            ListHomeNoticesRequest {
                home_id: home.id.clone(),
                page: None
            }
        )
        .unwrap()
        .notices;
        assert_eq!(notices.len(), 1);
        let n = &notices[0];
        assert_eq!(n.reasons, REASONS);
        assert_eq!(n.kind, RestrictionKind::ApprovalRevoked as i32);
        assert!(n.how_to_appeal.contains("national reviewer"), "{n:?}");
        assert_eq!(naive(&n.appeal_by), today() + chrono::Days::new(21));

        // The feed: the home's new status (matching reads it), and the
        // placing municipality told of its placement; reasons nowhere.
        let events = h.events_after(seq).await;
        let restricted = events
            .iter()
            .find(|e| e.event_type == "registry.home_restricted")
            .expect("home_restricted");
        let p = payload(restricted);
        assert_eq!(p["status"], "HOME_STATUS_PAUSED");
        assert_eq!(p["restriction_kind"], "RESTRICTION_KIND_APPROVAL_REVOKED");
        assert_eq!(p["placement_blocked"], true);
        let told: Vec<_> = events
            .iter()
            .filter(|e| e.event_type == "registry.placement_home_restricted")
            .collect();
        assert_eq!(told.len(), 1, "{events:?}");
        assert_eq!(told[0].aggregate_id, placed.id);
        assert_eq!(payload(told[0])["placing_municipality_code"], "0180");
        assert_eq!(payload(told[0])["cause"], "home_restricted");
        assert!(!events.iter().any(|e| e.payload_json.contains("brister")));

        // Lifted by the same nämnd: the home is active again (a child is
        // placed) and takes placements.
        let lifted = rpc!(
            m,
            lift_restriction,
            LiftRestrictionRequest {
                home_id: home.id.clone(),
                restriction_id: r.id.clone(),
                reason: "Bristerna är åtgärdade".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(lifted.status, HomeStatus::Active as i32);
        assert!(!lifted.placement_blocked && !lifted.restrictions[0].in_force);
        h.place(caseworker("0180"), &second.id, &home.id, today())
            .await
            .unwrap();
        let history = rpc!(
            h.office().await,
            get_home_history,
            GetHomeHistoryRequest {
                home_id: home.id.clone(),
                page: None
            }
        )
        .unwrap();
        let changes: Vec<&str> = history.versions.iter().map(|v| v.change.as_str()).collect();
        assert!(
            changes.contains(&"home_restricted") && changes.contains(&"home_restriction_lifted")
        );
    })
    .await;
}

#[tokio::test]
async fn a_prohibition_or_a_withdrawn_medgivande_stops_approval_and_placement_and_bad_input_names_the_field()
 {
    for_each_backend(|h| async move {
        let home = h.create_home(draft("Förbudsgatan 2", &adult(311))).await;
        let mut office = h.office().await;
        rpc!(
            office,
            transition_home,
            TransitionHomeRequest {
                home_id: home.id.clone(),
                to_status: HomeStatus::UnderAssessment as i32,
                reason: "home study".into(),
                ..Default::default()
            }
        )
        .unwrap();
        // Bad input: each refusal names its field; nothing is recorded.
        let good = restriction(&home.id, RestrictionKind::Prohibition, "0180", REASONS);
        for (req, field) in [
            (
                RecordRestrictionRequest {
                    kind: 0,
                    ..good.clone()
                },
                "kind",
            ),
            (
                RecordRestrictionRequest {
                    reasons: "  ".into(),
                    ..good.clone()
                },
                "reasons",
            ),
            (
                RecordRestrictionRequest {
                    decision_ref: String::new(),
                    ..good.clone()
                },
                "decision_ref",
            ),
            (
                RecordRestrictionRequest {
                    decision_date: Some(date(today() + chrono::Days::new(3))),
                    ..good.clone()
                },
                "decision_date",
            ),
            (
                RecordRestrictionRequest {
                    suspended_until: Some(date(today() + chrono::Days::new(30))),
                    ..good.clone()
                },
                "suspended_until",
            ),
            (
                RecordRestrictionRequest {
                    home_id: "not-a-uuid".into(),
                    ..good.clone()
                },
                "home_id",
            ),
        ] {
            expect_invalid(rpc!(office, record_restriction, req), field);
        }
        assert!(h.get_home(&home.id).await.restrictions.is_empty());

        // A prohibition (22 kap. 11 § SoL) by the home's nämnd.
        let m = rpc!(
            h.client(manager("0180")).await,
            record_restriction,
            good.clone()
        )
        .unwrap();
        assert!(m.placement_blocked);
        assert_eq!(m.status, HomeStatus::UnderAssessment as i32);
        // The same decision twice: refused while in force.
        expect_reason(
            rpc!(h.client(manager("0180")).await, record_restriction, good),
            Code::Aborted,
            "ALREADY_RECORDED",
        );
        // No approval over it.
        expect_reason(
            rpc!(
                office,
                record_approval,
                RecordApprovalRequest {
                    home_id: home.id.clone(),
                    municipality_code: "0180".into(),
                    decision_date: Some(date(today())),
                    decision_ref: "SN 1".into(),
                    ..Default::default()
                }
            ),
            Code::FailedPrecondition,
            "NOT_ACCEPTING_PLACEMENTS",
        );

        // A medgivande withdrawn on an approved home stops placements too.
        let other = h
            .approved_home(
                draft("Medgivandevägen 3", &adult(313)),
                "0180",
                days_ago(30),
            )
            .await;
        let w = rpc!(
            office,
            record_restriction,
            restriction(
                &other.id,
                RestrictionKind::MedgivandeWithdrawn,
                "0180",
                REASONS
            )
        )
        .unwrap();
        assert_eq!(w.status, HomeStatus::Paused as i32);
        let child = h.register_child("0180", &child_pnr(8, 313)).await;
        expect_reason(
            h.place(caseworker("0180"), &child.id, &other.id, today())
                .await,
            Code::FailedPrecondition,
            "NOT_ACCEPTING_PLACEMENTS",
        );
    })
    .await;
}

/// Those who must not: another municipality recording, lifting or reading
/// a notice; a caseworker; another home; aggregate roles; a replay of the
/// deciding manager's request id under another municipality's token.
#[tokio::test]
async fn another_municipality_neither_decides_lifts_nor_reads_a_notice() {
    for_each_backend(|h| async move {
        let home = h
            .approved_home(draft("Angriparvägen 4", &adult(321)), "0180", days_ago(60))
            .await;
        let mut req = restriction(
            &home.id,
            RestrictionKind::ApprovalSuspended,
            "0180",
            REASONS,
        );
        req.request_id = "suspend-1".into();
        req.suspended_until = Some(date(today() + chrono::Days::new(60)));
        let refused = |who: &str, r: Result<Home, tonic::Status>| match r {
            Err(s) if s.code() == Code::PermissionDenied => {}
            other => panic!("{who}: must be refused, got {other:?}"),
        };
        // Another municipality for its own nämnd: no link to the home.
        let mut other = h.client(manager("1480")).await;
        let mut theirs = req.clone();
        theirs.municipality_code = "1480".into();
        refused("manager 1480", rpc!(other, record_restriction, theirs));
        for (who, ctx) in [
            ("manager 1480 for 0180", manager("1480")),
            ("caseworker 0180", caseworker("0180")),
            ("the home itself", family_home(&home.id)),
            ("analyst", analyst()),
            ("reviewer", national_reviewer()),
        ] {
            refused(
                who,
                rpc!(h.client(ctx).await, record_restriction, req.clone()),
            );
        }
        assert!(h.get_home(&home.id).await.restrictions.is_empty());

        let decided = rpc!(
            h.client(manager("0180")).await,
            record_restriction,
            req.clone()
        )
        .unwrap();
        let rid = decided.restrictions[0].id.clone();
        // The same request id under 1480's token: refused, not replayed.
        refused(
            "manager 1480 replaying 0180's request id",
            rpc!(other, record_restriction, req.clone()),
        );
        let lift = LiftRestrictionRequest {
            home_id: home.id.clone(),
            restriction_id: rid.clone(),
            reason: "x".into(),
            ..Default::default()
        };
        refused(
            "manager 1480 lifting",
            rpc!(other, lift_restriction, lift.clone()),
        );
        refused(
            "the home lifting",
            rpc!(
                h.client(family_home(&home.id)).await,
                lift_restriction,
                lift
            ),
        );

        // Notices: the home, the office, the deciding municipality; not
        // another municipality, another home, an analyst or a child.
        let list = ListHomeNoticesRequest {
            home_id: home.id.clone(),
            page: None,
        };
        for ctx in [
            family_home(&home.id),
            h.office_ctx(),
            manager("0180"),
            caseworker("0180"),
        ] {
            let role = ctx.role;
            let n = rpc!(h.client(ctx).await, list_home_notices, list.clone()).unwrap();
            assert_eq!(n.notices.len(), 1, "{role:?}");
            assert_eq!(n.notices[0].reasons, REASONS);
        }
        let stranger = samling_kit::ids::new_id_string();
        for (who, ctx) in [
            ("caseworker 1480", caseworker("1480")),
            ("manager 1480", manager("1480")),
            ("another home", family_home(&stranger)),
            ("analyst", analyst()),
            ("council", council_member()),
            ("ombud", ombud()),
            ("a child", child_ctx(&stranger)),
        ] {
            match rpc!(h.client(ctx).await, list_home_notices, list.clone()) {
                Err(s) if s.code() == Code::PermissionDenied => {}
                other => panic!("{who}: must be refused, got {other:?}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_protected_home_and_child_are_redacted_in_notices_and_events() {
    for_each_backend(|h| async move {
        let mut d = draft("Skyddsvägen 5", &adult(331));
        d.municipality_code = "0160".into();
        d.protected_identity = true;
        let home = h.approved_home(d, "0160", days_ago(60)).await;
        let child = h.register_child("0180", &child_pnr(8, 331)).await;
        rpc!(
            h.client(caseworker("0180")).await,
            set_child_protection,
            SetChildProtectionRequest {
                child_id: child.id.clone(),
                protected_identity: true,
                ..Default::default()
            }
        )
        .unwrap();
        let placement = h
            .place(caseworker("0180"), &child.id, &home.id, days_ago(5))
            .await
            .unwrap()
            .placement
            .unwrap();
        let seq = h.events().await.last().map(|e| e.seq).unwrap_or(0);
        rpc!(
            h.client(manager("0160")).await,
            record_restriction,
            restriction(&home.id, RestrictionKind::Prohibition, "0160", REASONS)
        )
        .unwrap();
        let events = h.events_after(seq).await;
        assert!(!events.is_empty());
        for e in &events {
            assert!(!e.payload_json.contains("\"0160\""), "{e:?}");
            assert!(!e.payload_json.contains("Skydd"), "{e:?}");
            if e.event_type == "registry.placement_home_restricted" {
                assert_eq!(e.aggregate_id, placement.id);
                // Nothing links the protected child to the home.
                assert!(!e.payload_json.contains(&home.id), "{e:?}");
                assert!(!e.payload_json.contains("0180"), "{e:?}");
            }
        }
        assert!(
            events
                .iter()
                .any(|e| e.event_type == "registry.placement_home_restricted")
        );
        // The national reviewer reads the notice without the deciding
        // nämnd (it points at where the home is); the nämnd sees its own.
        let list = ListHomeNoticesRequest {
            home_id: home.id.clone(),
            page: None,
        };
        let n = rpc!(
            h.client(national_reviewer()).await,
            list_home_notices,
            list.clone()
        )
        .unwrap()
        .notices;
        assert!(n[0].municipality_code.is_empty(), "{n:?}");
        let n = rpc!(h.client(manager("0160")).await, list_home_notices, list)
            .unwrap()
            .notices;
        assert_eq!(n[0].municipality_code, "0160");
        // A municipality without a link sees neither reasons nor the nämnd.
        let seen = h
            .client(caseworker("1480"))
            .await
            .get_home(&home.id)
            .await
            .unwrap();
        assert!(seen.restrictions[0].reasons.is_empty());
        assert!(seen.restrictions[0].municipality_code.is_empty());
    })
    .await;
}

#[tokio::test]
async fn an_agency_without_a_valid_permit_takes_no_child_but_an_immediate_custody_with_a_reason() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let agency = rpc!(
            office,
            create_agency,
            CreateAgencyRequest {
                name: "Familjestöd AB".into(),
                org_number: "5560160680".into(),
                municipality_code: "0180".into(),
                permit: valid_permit(),
                ..Default::default()
            }
        )
        .unwrap();
        let agency_draft = |street: &str, serial: u16| HomeDraft {
            provider: ProviderKind::Agency as i32,
            agency_id: agency.id.clone(),
            ..draft(street, &adult(serial))
        };
        let home = h
            .approved_home(agency_draft("Konsulentvägen 6", 341), "0180", days_ago(60))
            .await;
        let pending = h.create_home(agency_draft("Konsulentvägen 8", 343)).await;
        let first = h.register_child("0180", &child_pnr(8, 341)).await;
        let placed = h
            .place(caseworker("0180"), &first.id, &home.id, days_ago(3))
            .await
            .unwrap()
            .placement
            .unwrap();
        let seq = h.events().await.last().map(|e| e.seq).unwrap_or(0);

        // IVO revokes the agency's permit.
        let mut permit = valid_permit().unwrap();
        permit.revoked = true;
        let a = rpc!(
            office,
            update_agency,
            UpdateAgencyRequest {
                agency_id: agency.id.clone(),
                permit: Some(permit),
                ..Default::default()
            }
        )
        .unwrap();
        assert!(!a.permit_valid);
        let events = h.events_after(seq).await;
        let told: Vec<_> = events
            .iter()
            .filter(|e| e.event_type == "registry.placement_home_restricted")
            .collect();
        assert_eq!(told.len(), 1, "{events:?}");
        assert_eq!(told[0].aggregate_id, placed.id);
        let p = payload(told[0]);
        assert_eq!(p["cause"], "agency_permit_invalid");
        assert_eq!(p["placing_municipality_code"], "0180");
        assert!(
            events
                .iter()
                .any(|e| e.event_type == "registry.agency_updated"
                    && payload(e)["permit_valid"] == false)
        );

        // Placements refused, but under LVU 6 § with a stated reason.
        let second = h.register_child("0180", &child_pnr(8, 342)).await;
        let mut cw = h.client(caseworker("0180")).await;
        let mut req = placement(&second.id, &home.id, today());
        expect_reason(
            rpc!(cw, create_placement, req.clone()),
            Code::FailedPrecondition,
            "NOT_ACCEPTING_PLACEMENTS",
        );
        req.legal_basis = LegalBasis::Lvu6 as i32;
        expect_reason(
            rpc!(cw, create_placement, req.clone()),
            Code::FailedPrecondition,
            "NOT_ACCEPTING_PLACEMENTS",
        );
        req.permit_exception_reason = "Omedelbart omhändertagande i natt, inget annat hem".into();
        let ok = rpc!(cw, create_placement, req).unwrap();
        assert!(
            ok.notices.contains(&"agency_permit_invalid".to_string()),
            "{:?}",
            ok.notices
        );
        let flagged = h
            .events()
            .await
            .into_iter()
            .find(|e| e.event_type == "registry.placement_permit_exception")
            .expect("placement_permit_exception");
        assert!(
            !flagged.payload_json.contains("natt"),
            "the reason stays in the audit log"
        );

        // No approval through the agency now; the search says so.
        rpc!(
            office,
            transition_home,
            TransitionHomeRequest {
                home_id: pending.id.clone(),
                to_status: HomeStatus::UnderAssessment as i32,
                reason: "home study".into(),
                ..Default::default()
            }
        )
        .unwrap();
        expect_reason(
            rpc!(
                office,
                record_approval,
                RecordApprovalRequest {
                    home_id: pending.id.clone(),
                    municipality_code: "0180".into(),
                    decision_date: Some(date(today())),
                    decision_ref: "SN 2".into(),
                    ..Default::default()
                }
            ),
            Code::FailedPrecondition,
            "NOT_ACCEPTING_PLACEMENTS",
        );
        let found = rpc!(
            cw,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                agency_id: agency.id.clone(),
                include_overdue: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert!(!found.homes.is_empty());
        assert!(found.homes.iter().all(|s| s.agency_permit_invalid));
    })
    .await;
}

#[tokio::test]
async fn a_unit_without_a_valid_permit_takes_no_child() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let unit = |name: &str, kind: UnitKind, permit: Option<IvoPermit>| CreateUnitRequest {
            name: name.into(),
            kind: kind as i32,
            municipality_code: "0180".into(),
            places: 4,
            permit,
            ..Default::default()
        };
        let mut lapsed = valid_permit().unwrap();
        lapsed.valid_until = Some(date(days_ago(2)));
        let unlicensed = rpc!(office, create_unit, unit("HVB Utan", UnitKind::Hvb, None)).unwrap();
        let expired = rpc!(
            office,
            create_unit,
            unit("HVB Gammal", UnitKind::Hvb, Some(lapsed))
        )
        .unwrap();
        let sis = rpc!(
            office,
            create_unit,
            unit("SiS Statens", UnitKind::Sis, None)
        )
        .unwrap();
        let mut cw = h.client(caseworker("0180")).await;
        for (i, u) in [&unlicensed, &expired].into_iter().enumerate() {
            rpc!(
                office,
                update_vacancies,
                UpdateVacanciesRequest {
                    unit_id: u.id.clone(),
                    vacancies: 2,
                    ..Default::default()
                }
            )
            .unwrap();
            let c = h
                .register_child("0180", &child_pnr(8, 350 + i as u16))
                .await;
            let mut req = placement(&c.id, "", today());
            req.home_id.clear();
            req.unit_id = u.id.clone();
            req.legal_basis = LegalBasis::Lvu6 as i32;
            req.permit_exception_reason = "akut".into();
            expect_reason(
                rpc!(cw, create_placement, req),
                Code::FailedPrecondition,
                "NOT_ACCEPTING_PLACEMENTS",
            );
        }
        rpc!(
            office,
            update_vacancies,
            UpdateVacanciesRequest {
                unit_id: sis.id.clone(),
                vacancies: 2,
                ..Default::default()
            }
        )
        .unwrap();
        let c = h.register_child("0180", &child_pnr(8, 359)).await;
        let mut req = placement(&c.id, "", today());
        req.unit_id = sis.id.clone();
        req.legal_basis = LegalBasis::Lvu3 as i32;
        rpc!(cw, create_placement, req).unwrap();
    })
    .await;
}

/// The office's context, as the harness's office client uses.
trait OfficeCtx {
    fn office_ctx(&self) -> AuthContext;
}

impl OfficeCtx for Harness {
    fn office_ctx(&self) -> AuthContext {
        office_in(self.region.as_deref().unwrap_or(REGION))
    }
}
