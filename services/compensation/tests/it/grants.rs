//! The state grants' distribution key over gRPC.

use crate::common::*;
use samling_proto::compensation::v1::*;
use tonic::Code;

fn factors(code: &str, v: i64) -> GrantFactors {
    GrantFactors {
        municipality_code: code.into(),
        purchase_costs: v * 1_000,
        placed_in_family_homes: v,
        placed_in_jourhem: v,
        social_assistance: v * 10,
        unemployed: v * 10,
    }
}

#[tokio::test]
async fn whole_kronor_summing_to_the_available_sum_for_finance_and_analysts() {
    for (h, _b) in harnesses().await {
        let b = h.backend;
        let req = DistributeStateGrantRequest {
            year: 2023,
            available_kr: 1_000_001,
            municipalities: vec![factors("0180", 3), factors("0114", 1), factors("0115", 2)],
        };
        for caller in [office(), analyst()] {
            let mut c = h.client(caller).await;
            let d = rpc!(c, distribute_state_grant, req.clone()).unwrap();
            assert_eq!(d.distributed_kr, 1_000_001, "[{b}]");
            let got: Vec<_> = d
                .shares
                .iter()
                .map(|s| (s.municipality_code.as_str(), s.granted_kr))
                .collect();
            // 1 000 001 × 3/6, 1/6, 2/6 = 500 000.5, 166 666.83, 333 333.67:
            // the one krona left goes to the largest fraction (0114's .83).
            assert_eq!(
                got,
                vec![("0180", 500_000), ("0114", 166_667), ("0115", 333_334)],
                "[{b}]"
            );
        }
        let mut worker = h.client(caseworker("0180")).await;
        let err = rpc!(worker, distribute_state_grant, req.clone()).unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{b}]");

        let mut office = h.client(office()).await;
        let mut bad = req.clone();
        bad.municipalities[1].municipality_code = "12".into();
        let err = rpc!(office, distribute_state_grant, bad).unwrap_err();
        assert_eq!(
            field_of(&err).as_deref(),
            Some("municipalities[1].municipality_code"),
            "[{b}]"
        );
        let mut bad = req.clone();
        bad.municipalities[2].unemployed = -4;
        let err = rpc!(office, distribute_state_grant, bad).unwrap_err();
        assert_eq!(
            field_of(&err).as_deref(),
            Some("municipalities[2].unemployed"),
            "[{b}]"
        );
        let mut bad = req;
        bad.available_kr = 0;
        let err = rpc!(office, distribute_state_grant, bad).unwrap_err();
        assert_eq!(field_of(&err).as_deref(), Some("available_kr"), "[{b}]");
    }
}
