//! Agencies (konsulentverksamheter) and HVB/other units over gRPC.

use crate::common;

use common::*;
use samling_proto::common::v1::Money;
use samling_proto::registry::v1::*;
use tonic::Code;

fn kr(kronor: i64) -> Option<Money> {
    Some(Money { ore: kronor * 100 })
}

fn agency_request(org_number: &str) -> CreateAgencyRequest {
    CreateAgencyRequest {
        name: "Familjestöd AB".into(),
        org_number: org_number.into(),
        municipality_code: "0180".into(),
        permit: Some(IvoPermit {
            permit_number: "IVO 8.5-1234/2024".into(),
            valid_from: Some(date(months_ago(12))),
            valid_until: None,
            revoked: false,
        }),
        prices: Some(PriceSplit {
            fee_per_day: kr(600),
            expenses_per_day: kr(250),
            administration_per_day: kr(900),
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_agency_is_registered_with_a_checked_org_number_permit_and_price_split() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let a = rpc!(office, create_agency, agency_request("5560160680")).unwrap();
        assert_eq!(a.org_number, "556016-0680");
        assert_eq!(a.name, "Familjestöd AB");
        assert!(a.permit_valid);
        assert_eq!(a.home_count, 0);
        assert_eq!(a.version, 1);
        assert_eq!(a.prices.as_ref().unwrap().administration_per_day, kr(900));

        expect_invalid(
            rpc!(office, create_agency, agency_request("556016-0681")),
            "org_number",
        );
        expect_invalid(
            rpc!(office, create_agency, agency_request("55601606")),
            "org_number",
        );
        expect_invalid(
            rpc!(
                office,
                create_agency,
                CreateAgencyRequest {
                    name: " ".into(),
                    ..agency_request("556016-0680")
                }
            ),
            "name",
        );
        let mut negative = agency_request("556016-0680");
        negative.prices.as_mut().unwrap().fee_per_day = kr(-1);
        expect_invalid(rpc!(office, create_agency, negative), "prices.fee_per_day");
        let mut backwards = agency_request("556016-0680");
        backwards.permit.as_mut().unwrap().valid_until = Some(date(months_ago(13)));
        expect_invalid(rpc!(office, create_agency, backwards), "permit.valid_until");
        expect_code(
            rpc!(
                h.client(caseworker("0180")).await,
                create_agency,
                agency_request("556016-0680")
            ),
            Code::PermissionDenied,
        );

        // Municipalities read agencies; the office revokes a permit.
        let seen = rpc!(
            h.client(caseworker("1480")).await,
            get_agency,
            GetAgencyRequest {
                agency_id: a.id.clone()
            }
        )
        .unwrap();
        assert_eq!(seen, a);
        let revoked = IvoPermit {
            revoked: true,
            ..a.permit.clone().unwrap()
        };
        let updated = rpc!(
            office,
            update_agency,
            UpdateAgencyRequest {
                agency_id: a.id.clone(),
                permit: Some(revoked),
                ..Default::default()
            }
        )
        .unwrap();
        assert!(!updated.permit_valid);
        assert_eq!(updated.version, 2);
        assert_eq!(
            updated.name, "Familjestöd AB",
            "an empty name keeps the old one"
        );
        let listed = rpc!(office, list_agencies, ListAgenciesRequest::default()).unwrap();
        assert_eq!(listed.agencies.len(), 1);
        assert!(!listed.agencies[0].permit_valid);
        expect_code(
            rpc!(
                office,
                get_agency,
                GetAgencyRequest {
                    agency_id: "00000000-0000-7000-8000-000000000000".into()
                }
            ),
            Code::NotFound,
        );
    })
    .await;
}

#[tokio::test]
async fn an_agency_home_needs_an_existing_agency() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let agency = rpc!(office, create_agency, agency_request("556016-0680")).unwrap();
        let agency_draft = |agency_id: &str| HomeDraft {
            provider: ProviderKind::Agency as i32,
            agency_id: agency_id.into(),
            ..draft("Storgatan 1", &adult(121))
        };

        expect_invalid(
            office.create_home("", agency_draft("")).await,
            "draft.agency_id",
        );
        let s = expect_invalid(
            office
                .create_home("", agency_draft("00000000-0000-7000-8000-000000000000"))
                .await,
            "draft.agency_id",
        );
        assert!(s.message().contains("no such agency"), "{s:?}");
        expect_invalid(
            office
                .create_home(
                    "",
                    HomeDraft {
                        agency_id: agency.id.clone(),
                        ..draft("Storgatan 1", &adult(121))
                    },
                )
                .await,
            "draft.agency_id",
        );
        let none = rpc!(
            office,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                include_overdue: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert!(none.homes.is_empty());

        let home = office
            .create_home("", agency_draft(&agency.id))
            .await
            .unwrap()
            .home
            .unwrap();
        assert_eq!(home.provider, ProviderKind::Agency as i32);
        assert_eq!(home.agency_id, agency.id);
        assert_eq!(
            rpc!(
                office,
                get_agency,
                GetAgencyRequest {
                    agency_id: agency.id.clone()
                }
            )
            .unwrap()
            .home_count,
            1
        );
        let found = rpc!(
            office,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                agency_id: agency.id.clone(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(
            found
                .homes
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            vec![home.id.as_str()]
        );
        // Each import row naming a missing agency is reported, the others
        // are written; a dry run reports the same rows and writes nothing.
        let missing = "00000000-0000-7000-8000-000000000000";
        let rows = vec![
            ImportRow {
                line: 2,
                draft: Some(agency_draft(missing)),
            },
            ImportRow {
                line: 3,
                draft: Some(agency_draft(&agency.id)),
            },
            ImportRow {
                line: 4,
                draft: Some(agency_draft(missing)),
            },
        ];
        let expected = vec![(2, "draft.agency_id"), (4, "draft.agency_id")];
        let dry = dry_run_import(&mut office, &rows).await;
        assert_eq!((dry.created, import_errors(&dry)), (0, expected.clone()));
        let imported = rpc!(
            office,
            import_homes,
            ImportHomesRequest {
                rows,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(imported.created, 1);
        assert_eq!(import_errors(&imported), expected);
        assert_eq!(
            rpc!(
                office,
                get_agency,
                GetAgencyRequest {
                    agency_id: agency.id.clone()
                }
            )
            .unwrap()
            .home_count,
            2
        );
    })
    .await;
}

#[tokio::test]
async fn units_report_vacancies_and_keep_their_inspections() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let agency = rpc!(office, create_agency, agency_request("556016-0680")).unwrap();
        let hvb = rpc!(
            office,
            create_unit,
            CreateUnitRequest {
                name: "HVB Solgläntan".into(),
                kind: UnitKind::Hvb as i32,
                municipality_code: "1280".into(),
                agency_id: agency.id.clone(),
                orientation: vec!["Trauma".into(), "NPF".into()],
                places: 10,
                permit: valid_permit(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(hvb.orientation, vec!["npf", "trauma"]);
        assert_eq!(hvb.region_id, "syd");
        assert_eq!((hvb.places, hvb.vacancies, hvb.version), (10, 0, 1));
        let sis = rpc!(
            office,
            create_unit,
            CreateUnitRequest {
                name: "SiS Ungdomshem".into(),
                kind: UnitKind::Sis as i32,
                municipality_code: "0180".into(),
                places: 20,
                ..Default::default()
            }
        )
        .unwrap();

        let u = rpc!(
            office,
            update_vacancies,
            UpdateVacanciesRequest {
                unit_id: hvb.id.clone(),
                vacancies: 3,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!((u.vacancies, u.version), (3, 2));
        expect_invalid(
            rpc!(
                office,
                update_vacancies,
                UpdateVacanciesRequest {
                    unit_id: hvb.id.clone(),
                    vacancies: 11,
                    ..Default::default()
                }
            ),
            "vacancies",
        );
        expect_invalid(
            rpc!(
                office,
                update_vacancies,
                UpdateVacanciesRequest {
                    unit_id: hvb.id.clone(),
                    vacancies: -1,
                    ..Default::default()
                }
            ),
            "vacancies",
        );

        let free = rpc!(
            office,
            list_units,
            ListUnitsRequest {
                with_vacancy_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(
            free.units.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
            vec![hvb.id.as_str()]
        );
        let npf = rpc!(
            office,
            list_units,
            ListUnitsRequest {
                orientation: "NPF".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(npf.units.len(), 1);
        let in_sthlm = rpc!(
            office,
            list_units,
            ListUnitsRequest {
                municipality_code: "0180".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(
            in_sthlm
                .units
                .iter()
                .map(|u| u.id.as_str())
                .collect::<Vec<_>>(),
            vec![sis.id.as_str()]
        );

        let inspected = rpc!(
            office,
            record_inspection,
            RecordInspectionRequest {
                unit_id: hvb.id.clone(),
                inspected_on: Some(date(days_ago(14))),
                authority: "IVO".into(),
                report_ref: "8.5-999/2026".into(),
                summary: "Brister i dokumentation".into(),
                remarks: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(inspected.inspections.len(), 1);
        assert_eq!(inspected.inspections[0].authority, "IVO");
        assert!(inspected.inspections[0].remarks);
        assert_eq!(naive(&inspected.inspections[0].inspected_on), days_ago(14));
        expect_invalid(
            rpc!(
                office,
                record_inspection,
                RecordInspectionRequest {
                    unit_id: hvb.id.clone(),
                    inspected_on: Some(date(today())),
                    ..Default::default()
                }
            ),
            "authority",
        );

        // Reading is open to municipalities; writing is the office's.
        let seen = rpc!(
            h.client(caseworker("0180")).await,
            get_unit,
            GetUnitRequest {
                unit_id: hvb.id.clone()
            }
        )
        .unwrap();
        assert_eq!(seen, inspected);
        expect_code(
            rpc!(
                h.client(caseworker("0180")).await,
                update_vacancies,
                UpdateVacanciesRequest {
                    unit_id: hvb.id.clone(),
                    vacancies: 1,
                    ..Default::default()
                }
            ),
            Code::PermissionDenied,
        );

        // Validation names the field.
        let base = CreateUnitRequest {
            name: "X".into(),
            kind: UnitKind::Hvb as i32,
            municipality_code: "0180".into(),
            places: 5,
            ..Default::default()
        };
        expect_invalid(
            rpc!(
                office,
                create_unit,
                CreateUnitRequest {
                    places: 0,
                    ..base.clone()
                }
            ),
            "places",
        );
        expect_invalid(
            rpc!(
                office,
                create_unit,
                CreateUnitRequest {
                    kind: 0,
                    ..base.clone()
                }
            ),
            "kind",
        );
        expect_invalid(
            rpc!(
                office,
                create_unit,
                CreateUnitRequest {
                    municipality_code: "0000".into(),
                    ..base.clone()
                }
            ),
            "municipality_code",
        );
        expect_invalid(
            rpc!(
                office,
                create_unit,
                CreateUnitRequest {
                    agency_id: "00000000-0000-7000-8000-000000000000".into(),
                    ..base
                }
            ),
            "agency_id",
        );
    })
    .await;
}
