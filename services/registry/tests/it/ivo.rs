//! IVO's part (issue 24 §4, ADR 0029): the report of homes above the IVO
//! limit, inspections of agencies as well as units (unannounced marked,
//! findings seen by municipalities and on the summaries matching reads),
//! IVO's visits to homes, revoked permits listed. Through gRPC, on every
//! backend, as IVO and as those who must not.

use crate::common::*;
use samling_kit::auth::AuthContext;
use samling_proto::registry::v1::*;
use serde_json::Value;
use tonic::Code;

const REGION: &str = "stockholm-gotland";

fn payload(e: &samling_proto::common::v1::Event) -> Value {
    serde_json::from_str(&e.payload_json).unwrap()
}

/// Callers that may neither read IVO's report nor record inspections.
fn outsiders(home_id: &str) -> Vec<(&'static str, AuthContext)> {
    let mut norr = office_in(REGION);
    norr.region = Some("norr".into());
    vec![
        ("caseworker", caseworker("0180")),
        ("manager", manager("0180")),
        ("another region's officer", norr),
        ("family home", family_home(home_id)),
        ("child", child_ctx(home_id)),
        ("analyst", analyst()),
        ("council", council_member()),
        ("ombud", ombud()),
        ("reviewer", national_reviewer()),
    ]
}

fn agency(org: &str, permit: Option<IvoPermit>) -> CreateAgencyRequest {
    CreateAgencyRequest {
        name: "Konsulent AB".into(),
        org_number: org.into(),
        municipality_code: "0180".into(),
        permit,
        ..Default::default()
    }
}

#[tokio::test]
async fn ivo_reads_the_homes_above_four_children_and_no_one_else_does() {
    for_each_backend_in(Some(REGION), |h| async move {
        let mut d = draft("Storfamiljsvägen 5", &adult(401));
        d.capacity = 6;
        let big = h.approved_home(d, "0180", days_ago(90)).await;
        let small = h
            .approved_home(draft("Lillvägen 1", &adult(402)), "0180", days_ago(90))
            .await;
        for i in 0..5 {
            let c = h.register_child("0180", &child_pnr(7, 410 + i)).await;
            h.place(caseworker("0180"), &c.id, &big.id, days_ago(5))
                .await
                .unwrap();
        }
        let c = h.register_child("0180", &child_pnr(7, 420)).await;
        h.place(caseworker("0180"), &c.id, &small.id, days_ago(5))
            .await
            .unwrap();

        for who in [ivo(), office_in(REGION)] {
            let listed = rpc!(
                h.client(who.clone()).await,
                list_ivo_reports,
                ListIvoReportsRequest::default()
            )
            .unwrap();
            let ids: Vec<&str> = listed.homes.iter().map(|s| s.id.as_str()).collect();
            assert_eq!(ids, vec![big.id.as_str()], "{:?}", who.role);
            assert_eq!(listed.homes[0].placed_count, 5);
        }
        // A municipality filter is checked; another municipality's list is empty.
        let mut ivo_client = h.client(ivo()).await;
        expect_invalid(
            rpc!(
                ivo_client,
                list_ivo_reports,
                ListIvoReportsRequest {
                    municipality_code: "01".into(),
                    ..Default::default()
                }
            ),
            "municipality_code",
        );
        let elsewhere = rpc!(
            ivo_client,
            list_ivo_reports,
            ListIvoReportsRequest {
                municipality_code: "0114".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert!(elsewhere.homes.is_empty());

        for (who, ctx) in outsiders(&big.id) {
            let r = rpc!(
                h.client(ctx).await,
                list_ivo_reports,
                ListIvoReportsRequest::default()
            );
            expect_code(r, Code::PermissionDenied);
            let _ = who;
        }

        // IVO reads the home's entry without its household, and is no
        // register keeper or placer.
        let seen = ivo_client.get_home(&big.id).await.unwrap();
        assert!(seen.members.is_empty() && seen.address.is_none());
        assert!(seen.personal_data_redacted);
        expect_code(
            ivo_client
                .create_home("", draft("Ivo 1", &adult(403)))
                .await,
            Code::PermissionDenied,
        );
        let c = h.register_child("0180", &child_pnr(7, 421)).await;
        // Placing: answered as for a child it may not know of.
        expect_code(
            h.place(ivo(), &c.id, &small.id, today()).await,
            Code::NotFound,
        );
        expect_code(
            rpc!(ivo_client, list_children, ListChildrenRequest::default()),
            Code::PermissionDenied,
        );
    })
    .await;
}

#[tokio::test]
async fn ivo_inspects_agencies_and_units_unannounced_and_the_findings_reach_municipalities_and_matching()
 {
    for_each_backend_in(Some(REGION), |h| async move {
        let mut office = h.office().await;
        let a = rpc!(office, create_agency, agency("5560160680", valid_permit())).unwrap();
        let mut d = draft("Konsulentvägen 2", &adult(431));
        d.provider = ProviderKind::Agency as i32;
        d.agency_id = a.id.clone();
        let home = h.approved_home(d, "0180", days_ago(30)).await;
        let seq = h.events().await.last().map(|e| e.seq).unwrap_or(0);

        let mut ivo_client = h.client(ivo()).await;
        let inspected = rpc!(
            ivo_client,
            record_agency_inspection,
            RecordAgencyInspectionRequest {
                agency_id: a.id.clone(),
                inspected_on: Some(date(days_ago(2))),
                report_ref: "IVO 8.5-5555/2026".into(),
                summary: "Tillsyn av stödet till familjehemmen".into(),
                remarks: true,
                unannounced: true,
                findings: vec!["Handledning ges inte enligt avtal".into()],
                ..Default::default()
            }
        )
        .unwrap();
        let i = &inspected.inspections[0];
        assert_eq!(i.authority, "IVO", "IVO's own authority by default");
        assert!(i.unannounced && i.remarks && inspected.inspection_remarks);
        assert_eq!(i.recorded_by, "ivo-1");

        // Municipalities read the findings; matching's search sees the flag.
        let mut cw = h.client(caseworker("0114")).await;
        let read = rpc!(
            cw,
            get_agency,
            GetAgencyRequest {
                agency_id: a.id.clone()
            }
        )
        .unwrap();
        assert_eq!(
            read.inspections[0].findings,
            vec!["Handledning ges inte enligt avtal"]
        );
        assert!(read.inspection_remarks);
        let found = cw
            .search_homes(SearchHomesRequest::default())
            .await
            .unwrap();
        let s = found.homes.iter().find(|s| s.id == home.id).unwrap();
        assert!(s.inspection_remarks, "{s:?}");

        // A later inspection without remarks clears the flag.
        let later = rpc!(
            ivo_client,
            record_agency_inspection,
            RecordAgencyInspectionRequest {
                agency_id: a.id.clone(),
                inspected_on: Some(date(days_ago(1))),
                ..Default::default()
            }
        )
        .unwrap();
        assert!(!later.inspection_remarks && later.inspections.len() == 2);

        // Units as well; IVO leaves the authority out.
        let u = rpc!(
            office,
            create_unit,
            CreateUnitRequest {
                name: "HVB Solgläntan".into(),
                kind: UnitKind::Hvb as i32,
                municipality_code: "0180".into(),
                places: 8,
                permit: valid_permit(),
                ..Default::default()
            }
        )
        .unwrap();
        let unit = rpc!(
            ivo_client,
            record_inspection,
            RecordInspectionRequest {
                unit_id: u.id.clone(),
                inspected_on: Some(date(days_ago(3))),
                unannounced: true,
                remarks: true,
                findings: vec!["Bemanningen nattetid är för låg".into()],
                ..Default::default()
            }
        )
        .unwrap();
        assert!(unit.inspection_remarks && unit.inspections[0].unannounced);
        assert_eq!(unit.inspections[0].authority, "IVO");
        // The office names the authority (it records what it was sent).
        expect_invalid(
            rpc!(
                office,
                record_inspection,
                RecordInspectionRequest {
                    unit_id: u.id.clone(),
                    inspected_on: Some(date(days_ago(3))),
                    ..Default::default()
                }
            ),
            "authority",
        );
        // Bad input names its field.
        expect_invalid(
            rpc!(
                ivo_client,
                record_agency_inspection,
                RecordAgencyInspectionRequest {
                    agency_id: a.id.clone(),
                    inspected_on: Some(date(today() + chrono::Days::new(3))),
                    ..Default::default()
                }
            ),
            "inspected_on",
        );
        expect_invalid(
            rpc!(
                ivo_client,
                record_agency_inspection,
                RecordAgencyInspectionRequest {
                    agency_id: a.id.clone(),
                    inspected_on: Some(date(days_ago(1))),
                    findings: vec!["ok".into(), "x".repeat(501)],
                    ..Default::default()
                }
            ),
            "findings[1]",
        );

        // Events: codes and counts, no findings' text.
        let events = h.events_after(seq).await;
        let e = events
            .iter()
            .find(|e| e.event_type == "registry.agency_inspection_recorded")
            .expect("agency inspection event");
        let p = payload(e);
        assert_eq!(p["unannounced"], true);
        assert_eq!(p["findings"], 1);
        assert!(!e.payload_json.contains("Handledning"));
        let e = events
            .iter()
            .find(|e| e.event_type == "registry.unit_inspection_recorded")
            .expect("unit inspection event");
        assert!(!e.payload_json.contains("Bemanningen"));

        for (who, ctx) in outsiders(&home.id) {
            let mut c = h.client(ctx).await;
            expect_code(
                rpc!(
                    c,
                    record_agency_inspection,
                    RecordAgencyInspectionRequest {
                        agency_id: a.id.clone(),
                        inspected_on: Some(date(days_ago(1))),
                        ..Default::default()
                    }
                ),
                Code::PermissionDenied,
            );
            expect_code(
                rpc!(
                    c,
                    record_inspection,
                    RecordInspectionRequest {
                        unit_id: u.id.clone(),
                        inspected_on: Some(date(days_ago(1))),
                        authority: "IVO".into(),
                        ..Default::default()
                    }
                ),
                Code::PermissionDenied,
            );
            let _ = who;
        }
    })
    .await;
}

#[tokio::test]
async fn ivo_lists_revoked_permits_of_agencies_and_units() {
    for_each_backend_in(Some(REGION), |h| async move {
        let mut office = h.office().await;
        let good = rpc!(office, create_agency, agency("5560160680", valid_permit())).unwrap();
        let mut revoked = valid_permit();
        revoked.as_mut().unwrap().revoked = true;
        let bad = rpc!(office, create_agency, agency("5564370459", revoked.clone())).unwrap();
        let unit = |name: &str, permit: Option<IvoPermit>| CreateUnitRequest {
            name: name.into(),
            kind: UnitKind::Hvb as i32,
            municipality_code: "0180".into(),
            places: 4,
            permit,
            ..Default::default()
        };
        let ok_unit = rpc!(office, create_unit, unit("HVB Ett", valid_permit())).unwrap();
        let bad_unit = rpc!(office, create_unit, unit("HVB Två", revoked)).unwrap();

        let mut ivo_client = h.client(ivo()).await;
        let all = rpc!(ivo_client, list_agencies, ListAgenciesRequest::default()).unwrap();
        assert_eq!(all.agencies.len(), 2);
        let listed = rpc!(
            ivo_client,
            list_agencies,
            ListAgenciesRequest {
                permit_invalid_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        let ids: Vec<&str> = listed.agencies.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, vec![bad.id.as_str()]);
        assert_ne!(ids, vec![good.id.as_str()]);
        let units = rpc!(
            ivo_client,
            list_units,
            ListUnitsRequest {
                permit_invalid_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        let ids: Vec<&str> = units.units.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, vec![bad_unit.id.as_str()]);
        let every = rpc!(ivo_client, list_units, ListUnitsRequest::default()).unwrap();
        assert!(every.units.iter().any(|u| u.id == ok_unit.id));
        // A child reads no providers.
        expect_code(
            rpc!(
                h.client(child_ctx("c")).await,
                list_agencies,
                ListAgenciesRequest {
                    permit_invalid_only: true,
                    ..Default::default()
                }
            ),
            Code::PermissionDenied,
        );
    })
    .await;
}

#[tokio::test]
async fn ivo_visits_a_home_unannounced_and_its_remarks_show_without_the_findings_to_outsiders() {
    for_each_backend_in(Some(REGION), |h| async move {
        let home = h
            .approved_home(draft("Besöksvägen 3", &adult(451)), "0180", days_ago(30))
            .await;
        let seq = h.events().await.last().map(|e| e.seq).unwrap_or(0);
        let mut ivo_client = h.client(ivo()).await;
        let visited = rpc!(
            ivo_client,
            record_home_visit,
            RecordHomeVisitRequest {
                home_id: home.id.clone(),
                visited_on: Some(date(days_ago(1))),
                unannounced: true,
                remarks: true,
                findings: vec!["Barnets rum saknar säng".into()],
                ..Default::default()
            }
        )
        .unwrap();
        // IVO's answer is its own view of the home: no household.
        assert!(visited.members.is_empty());
        let v = &visited.visits[0];
        assert_eq!(v.visitor, Visitor::Ivo as i32);
        assert!(v.unannounced && v.remarks && visited.inspection_remarks);
        assert!(v.findings.is_empty(), "findings are about the household");

        // The approving municipality sees the findings; another does not.
        let approving = h
            .client(manager("0180"))
            .await
            .get_home(&home.id)
            .await
            .unwrap();
        assert_eq!(
            approving.visits[0].findings,
            vec!["Barnets rum saknar säng"]
        );
        let other = h
            .client(caseworker("0114"))
            .await
            .get_home(&home.id)
            .await
            .unwrap();
        assert!(other.visits[0].findings.is_empty() && other.inspection_remarks);
        let found = h
            .client(caseworker("0114"))
            .await
            .search_homes(SearchHomesRequest::default())
            .await
            .unwrap();
        assert!(
            found
                .homes
                .iter()
                .find(|s| s.id == home.id)
                .unwrap()
                .inspection_remarks
        );

        // IVO names no municipality.
        expect_invalid(
            rpc!(
                ivo_client,
                record_home_visit,
                RecordHomeVisitRequest {
                    home_id: home.id.clone(),
                    visited_on: Some(date(days_ago(1))),
                    municipality_code: "0180".into(),
                    ..Default::default()
                }
            ),
            "municipality_code",
        );
        let events = h.events_after(seq).await;
        let e = events
            .iter()
            .find(|e| e.event_type == "registry.home_visit_recorded")
            .expect("visit event");
        let p = payload(e);
        assert_eq!(p["visitor"], "VISITOR_IVO");
        assert_eq!(p["unannounced"], true);
        assert!(!e.payload_json.contains("säng"));
    })
    .await;
}
