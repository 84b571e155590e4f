//! The service on kit's skeleton: bound to its region, its audit log for
//! finance only, reads audited.

use crate::common::*;
use samling_proto::common::v1::ListAuditRequest;
use samling_proto::compensation::v1::*;
use tonic::Code;

#[tokio::test]
async fn the_audit_log_is_finances_and_records_reads_of_agreements() {
    for (h, _b) in harnesses().await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        create_schedule(&mut office, "national", date(2026, 1, 1)).await;
        let home = new_id();
        let a = rpc!(
            office,
            create_agreement,
            agreement_request(&home, date(2026, 3, 1))
        )
        .unwrap();
        let mut me = h.client(family_home(&home)).await;
        rpc!(
            me,
            get_agreement,
            GetAgreementRequest {
                agreement_id: a.id.clone()
            }
        )
        .unwrap();

        let listed = rpc!(
            office,
            list_audit,
            ListAuditRequest {
                record_id: a.id.clone(),
                ..Default::default()
            }
        )
        .unwrap_or_else(|e| panic!("[{b}] office lists the audit log: {e}"));
        let actions: Vec<_> = listed
            .entries
            .iter()
            .map(|e| (e.action.clone(), e.role.clone()))
            .collect();
        assert!(
            actions.contains(&("agreement_created".into(), "regional_officer".into())),
            "[{b}] {actions:?}"
        );
        assert!(
            actions.contains(&("read".into(), "family_home".into())),
            "[{b}] {actions:?}"
        );

        let mut worker = h.client(caseworker("0180")).await;
        let err = rpc!(worker, list_audit, ListAuditRequest::default()).unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{b}]");
        let mut stranger = h.client(office_in("syd")).await;
        let err = rpc!(stranger, list_audit, ListAuditRequest::default()).unwrap_err();
        assert_eq!(reason_of(&err).as_deref(), Some("OUT_OF_REGION"), "[{b}]");
    }
}
