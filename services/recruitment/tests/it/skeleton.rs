//! The service on kit's skeleton: bound to its region, its audit log and
//! event feed for the office only.

use crate::common::*;
use samling_kit::error::REASON_METADATA_KEY;
use samling_proto::common::v1::ListAuditRequest;
use tonic::Code;

#[tokio::test]
async fn the_audit_log_is_the_offices_and_an_officer_of_another_region_is_refused() {
    for (h, _b) in harnesses(Some("stockholm-gotland")).await {
        let mut office = h.client(office_in("stockholm-gotland")).await;
        let listed = rpc!(office, list_audit, ListAuditRequest::default())
            .unwrap_or_else(|e| panic!("[{}] office lists the audit log: {e}", h.backend));
        assert!(listed.page.is_some(), "[{}]", h.backend);

        let mut worker = h.client(caseworker("0180")).await;
        let err = rpc!(worker, list_audit, ListAuditRequest::default()).unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);

        let mut stranger = h.client(office_in("syd")).await;
        let err = rpc!(stranger, list_audit, ListAuditRequest::default()).unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);
        assert_eq!(
            err.metadata()
                .get(REASON_METADATA_KEY)
                .and_then(|v| v.to_str().ok()),
            Some("OUT_OF_REGION"),
            "[{}]",
            h.backend
        );
    }
}
