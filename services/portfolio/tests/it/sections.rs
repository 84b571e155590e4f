//! The sections' rules over gRPC: bad input names its field, stale
//! versions conflict, documents keep their limits.

use crate::common::*;
use samling_proto::portfolio::v1::*;

#[tokio::test]
async fn bad_sections_name_their_field_and_stale_versions_conflict() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, p) = (new_id(), new_id());
        register_child(&h, &child, "2012-01-01", false);
        h.publish(vec![created(&p, &child, &new_id(), "2026-11-01", false)])
            .await;
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        let send = |s: update_section_request::Section, v: i64| UpdateSectionRequest {
            request_id: new_id(),
            child_id: child.clone(),
            expected_version: v,
            section: Some(s),
        };
        let doc = |media: &str, size: i64, hash: &str| {
            update_section_request::Section::Documents(Documents {
                documents: vec![Document {
                    id: new_id(),
                    kind: DocumentKind::ImplementationPlan as i32,
                    title: "Genomförandeplan".into(),
                    media_type: media.into(),
                    size_bytes: size,
                    sha256: hash.into(),
                    dated: date(2026, 11, 15),
                }],
                ..Default::default()
            })
        };
        let hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let bad = vec![
            (
                doc("application/zip", 10, hash),
                "documents.documents[0].media_type",
            ),
            (
                doc("application/pdf", 21 * 1024 * 1024, hash),
                "documents.documents[0].size_bytes",
            ),
            (
                doc("application/pdf", 10, "abc"),
                "documents.documents[0].sha256",
            ),
            (
                update_section_request::Section::Leisure(Leisure {
                    yearly_budget_ore: -1,
                    ..Default::default()
                }),
                "leisure.yearly_budget_ore",
            ),
            (
                update_section_request::Section::School(School {
                    absence_per_mille: 1001,
                    ..Default::default()
                }),
                "school.absence_per_mille",
            ),
            (
                update_section_request::Section::Health(Health {
                    vaccinations: vec![Vaccination {
                        name: "MPR".into(),
                        given_on: date(2027, 1, 1),
                    }],
                    ..Default::default()
                }),
                "health.vaccinations[0].given_on",
            ),
            (
                update_section_request::Section::Contacts(Contacts {
                    contacts: vec![Contact {
                        name: "".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                "contacts.contacts[0].name",
            ),
        ];
        for (s, field) in bad {
            let e = rpc!(cw, update_section, send(s, 0)).unwrap_err();
            assert_eq!(
                e.code(),
                tonic::Code::InvalidArgument,
                "[{bk}] {field}: {e}"
            );
            assert_eq!(field_of(&e).as_deref(), Some(field), "[{bk}] {e}");
        }
        let e = rpc!(
            cw,
            get_portfolio,
            GetPortfolioRequest {
                child_id: "not-an-id".into()
            }
        )
        .unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("child_id"), "[{bk}]");
        let p = rpc!(
            cw,
            update_section,
            send(doc("application/pdf", 1024, hash), 0)
        )
        .unwrap();
        assert_eq!(p.documents.as_ref().unwrap().version, 1, "[{bk}]");
        assert_eq!(
            p.documents.as_ref().unwrap().documents[0].sha256,
            hash,
            "[{bk}]"
        );
        let e = rpc!(
            cw,
            update_section,
            send(doc("application/pdf", 2048, hash), 7)
        )
        .unwrap_err();
        assert_eq!(
            e.code(),
            tonic::Code::Aborted,
            "[{bk}] a stale version: {e}"
        );
        let p = rpc!(
            cw,
            update_section,
            send(doc("application/pdf", 2048, hash), 1)
        )
        .unwrap();
        assert_eq!(p.documents.as_ref().unwrap().version, 2, "[{bk}]");
        // The event names the section, never its content.
        let events = h.service.feed.read_after(0, 1000).await.unwrap();
        let updated: Vec<_> = events
            .iter()
            .filter(|e| e.event_type == "portfolio.section_updated")
            .collect();
        assert_eq!(updated.len(), 2, "[{bk}]");
        assert!(
            updated
                .iter()
                .all(|e| !e.payload_json.contains("Genomförandeplan")
                    && !e.payload_json.contains(hash)),
            "[{bk}]"
        );
        h.stop().await;
    }
}
