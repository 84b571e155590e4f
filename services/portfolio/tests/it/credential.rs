//! The prescription collection credential: the current home gets a signed
//! credential; the public verification reveals only validity, the holder's
//! role and the expiry; it works for a protected child; it is revoked when
//! the placement ends; a forged or altered one is invalid.

use crate::common::*;
use samling_kit::auth::{AuthContext, PUBLIC_SUBJECT, Role};
use samling_proto::portfolio::v1::*;

#[tokio::test]
async fn the_home_proves_it_may_collect_prescriptions_until_the_placement_ends() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home, p) = (new_id(), new_id(), new_id());
        register_child(&h, &child, "2014-05-05", true);
        register_placement(&h, &p, &child, &home, "2026-11-01");
        h.publish(vec![created(&p, &child, &home, "2026-11-01", true)])
            .await;
        let mut a = h.client(family_home(&home)).await;
        let issue = || IssuePrescriptionCredentialRequest {
            request_id: new_id(),
            child_id: child.clone(),
        };
        let c = rpc!(a, issue_prescription_credential, issue())
            .unwrap_or_else(|e| panic!("[{bk}] issue: {e}"));
        assert_eq!(c.holder_role, "family_home", "[{bk}]");
        assert_eq!(
            c.expires_at, "2027-03-01T09:00:00.000000Z",
            "[{bk}] 90 days"
        );
        // The credential (the QR's content) names neither the child nor the home.
        use base64::Engine;
        let body = c.token.split('.').next().unwrap();
        let claims = String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(body)
                .unwrap(),
        )
        .unwrap();
        assert!(
            !claims.contains(&child) && !claims.contains(&home),
            "[{bk}] {claims}"
        );

        // The pharmacy, not logged in.
        let mut pharmacy = h
            .client(AuthContext::new(PUBLIC_SUBJECT, Role::Service))
            .await;
        let verify = |t: &str| VerifyPrescriptionCredentialRequest {
            token: t.to_string(),
        };
        let v = rpc!(pharmacy, verify_prescription_credential, verify(&c.token)).unwrap();
        assert_eq!(
            v,
            CredentialVerification {
                valid: true,
                status: "valid".into(),
                holder_role: "family_home".into(),
                expires_at: c.expires_at.clone(),
            },
            "[{bk}] only validity, role and expiry"
        );
        // The public caller may do nothing else.
        let e = rpc!(
            pharmacy,
            get_portfolio,
            GetPortfolioRequest {
                child_id: child.clone()
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "[{bk}]");
        let e = rpc!(pharmacy, issue_prescription_credential, issue()).unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "[{bk}]");
        // Forged, altered, or signed by another key: invalid, revealing nothing.
        let (b, s) = c.token.split_once('.').unwrap();
        let forged_body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            String::from_utf8(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(b)
                    .unwrap(),
            )
            .unwrap()
            .replace("2027-03-01", "2030-03-01"),
        );
        for bad in [
            format!("{forged_body}.{s}"),
            format!("{b}.{}", &s[..s.len() - 4]),
            "x.y".to_string(),
        ] {
            let v = rpc!(pharmacy, verify_prescription_credential, verify(&bad)).unwrap();
            assert_eq!(v.status, "invalid", "[{bk}] {bad}");
            assert_eq!(v.holder_role, "", "[{bk}]");
        }
        let e = rpc!(pharmacy, verify_prescription_credential, verify("")).unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("token"), "[{bk}]");
        // Another home may not get one for this child; a guardian neither.
        let mut other = h.client(family_home(&new_id())).await;
        assert_eq!(
            rpc!(other, issue_prescription_credential, issue())
                .unwrap_err()
                .code(),
            tonic::Code::NotFound,
            "[{bk}]"
        );
        let mut g = h.client(guardian(&child)).await;
        assert_eq!(
            rpc!(g, issue_prescription_credential, issue())
                .unwrap_err()
                .code(),
            tonic::Code::PermissionDenied,
            "[{bk}]"
        );

        // The placement ends: revoked.
        h.publish(vec![ended(&p, &child, &home, "2026-12-01", true)])
            .await;
        let v = rpc!(pharmacy, verify_prescription_credential, verify(&c.token)).unwrap();
        assert!(!v.valid, "[{bk}]");
        assert_eq!(v.status, "revoked", "[{bk}]");
        // Nor can the old home get a new one.
        assert_eq!(
            rpc!(a, issue_prescription_credential, issue())
                .unwrap_err()
                .code(),
            tonic::Code::NotFound,
            "[{bk}]"
        );
        h.stop().await;
    }
}
