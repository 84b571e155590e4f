//! `samling bench payments`' engine: a month's run for many active
//! placements and decided claims, with its approval and pain.001 file, on
//! one store (SQLite or PostgreSQL). The setup is not timed; the figure is
//! StartPaymentRun + ApprovePaymentRun (the file made and stored) +
//! GetPaymentFile, as finance calls them.

use crate::domain::payments::{TaxBracket, iban_of};
use crate::domain::{CompensationError, Rules, pain001::Payer};
use crate::{Compensation, store};
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates::Clock;
use samling_kit::db::Store;
use samling_kit::reference::RegionMap;
use samling_proto::common::v1::Date;
use samling_proto::compensation::v1::*;
use std::sync::Arc;
use std::time::Instant;

/// What the bench measured on one store.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Figures {
    pub placements: usize,
    pub claims: usize,
    pub statements: u32,
    pub transfers: u32,
    pub claims_paid: u32,
    pub file_bytes: usize,
    /// The run (quotes, claims, statements, one transaction).
    pub run_seconds: f64,
    /// The approval (the file made and stored) and its fetch.
    pub approve_and_file_seconds: f64,
    /// Both: the bench's figure.
    pub seconds: f64,
}

fn date(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

/// The bench's rules: a two-bracket tax table and a payer account.
pub fn rules() -> Rules {
    Rules {
        tax_table: vec![
            TaxBracket {
                up_to_ore: Some(1_000_000),
                basis_points: 2000,
            },
            TaxBracket {
                up_to_ore: None,
                basis_points: 3000,
            },
        ],
        payer: Some(Payer {
            name: "Region Stockholm-Gotland".into(),
            iban: iban_of("SE", "50000000058398257466"),
            bic: "ESSESESS".into(),
        }),
        ..Rules::default()
    }
}

/// Load `placements` agreements with their placements and accounts and
/// `claims` approved claims into `store` (a fresh one), then time March
/// 2026's run, its approval and its file.
pub async fn run(
    store: Store,
    placements: usize,
    claims: usize,
) -> Result<Figures, CompensationError> {
    let svc = Compensation::new(
        store,
        rules(),
        Arc::new(RegionMap::default_map().clone()),
        Clock::system(),
    );
    let finance = AuthContext::new("bench-finance-1", Role::Service);
    let second = AuthContext::new("bench-finance-2", Role::Service);
    let mut arvode = Vec::new();
    for level in 1..=4 {
        for household in 1..=2 {
            arvode.push(ArvodeRate {
                level,
                household,
                monthly_ore: 1_000_000 * i64::from(level)
                    + if household == 1 { 200_000 } else { 0 },
            });
        }
    }
    let mut omkostnad = Vec::new();
    for band in 1..=3 {
        for zone in 1..=3 {
            omkostnad.push(OmkostnadRate {
                age_band: band,
                zone,
                monthly_ore: 500_000 + 100_000 * i64::from(band - 1) + 50_000 * i64::from(zone - 1),
            });
        }
    }
    svc.create_fee_schedule(
        &finance,
        CreateFeeScheduleRequest {
            request_id: String::new(),
            code: "national".into(),
            effective_from: date(2025, 1, 1),
            arvode,
            omkostnad,
        },
    )
    .await?;
    let mut tx = svc.store.begin_write().await?;
    let mut agreement_ids = Vec::with_capacity(placements);
    for i in 0..placements {
        let home = samling_kit::ids::new_id_string();
        let placement = samling_kit::ids::new_id_string();
        let a = Agreement {
            id: samling_kit::ids::new_id_string(),
            placement_id: placement.clone(),
            home_id: home.clone(),
            municipality_code: "0180".into(),
            schedule_code: "national".into(),
            schedule_version: 1,
            follow_indexation: true,
            level: 1 + (i % 4) as i32,
            household: 1 + (i % 2) as i32,
            zone: 1 + (i % 3) as i32,
            child_birth_date: date(2010 + (i % 15) as i32, 1 + (i % 12) as i32, 1),
            starts_on: date(2026, if i % 5 == 0 { 3 } else { 1 }, 1 + (i % 28) as i32),
            version: 1,
            pension_eligible: i % 2 == 0,
            ..Default::default()
        };
        store::agreements::save(tx.conn(), &a, true).await?;
        // Every tenth placement ended in March (some with notice pay).
        let ends = if i % 10 == 9 { "2026-03-15" } else { "" };
        store::placements::upsert(tx.conn(), &placement, &home, "2025-01-01", ends).await?;
        store::payments::save_payee(
            tx.conn(),
            &PayeeAccount {
                home_id: home.clone(),
                iban: iban_of("SE", &format!("1200000000{i:010}")),
                ..Default::default()
            },
        )
        .await?;
        agreement_ids.push((a.id, placement, home));
    }
    let kinds = [
        ClaimKind::LostIncome,
        ClaimKind::TravelVisits,
        ClaimKind::TravelHandledning,
        ClaimKind::Training,
        ClaimKind::RecoveryBreak,
        ClaimKind::StartGrant,
        ClaimKind::BasicEquipment,
    ];
    for i in 0..claims {
        let (a, p, h) = &agreement_ids[(i * 7) % agreement_ids.len().max(1)];
        let kind = kinds[i % kinds.len()];
        let c = Claim {
            id: samling_kit::ids::new_id_string(),
            agreement_id: a.clone(),
            placement_id: p.clone(),
            home_id: h.clone(),
            municipality_code: "0180".into(),
            kind: kind as i32,
            claimed_ore: 10_000 + (i as i64 % 50) * 1_000,
            approved_ore: 10_000 + (i as i64 % 50) * 1_000,
            occurred_on: date(2026, 2, 1 + (i % 28) as i32),
            note: "bench".into(),
            status: ClaimStatus::Approved as i32,
            taxable: crate::domain::claims::taxable(kind),
            version: 2,
            ..Default::default()
        };
        store::claims::save(tx.conn(), &c, true).await?;
    }
    tx.commit(&svc.feed).await?;

    let t = Instant::now();
    let run = svc
        .start_payment_run(
            &finance,
            StartPaymentRunRequest {
                request_id: String::new(),
                year: 2026,
                month: 3,
                execution_date: date(2026, 3, 25),
            },
        )
        .await?;
    let run_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    svc.approve_payment_run(
        &second,
        ApprovePaymentRunRequest {
            request_id: String::new(),
            run_id: run.id.clone(),
        },
    )
    .await?;
    let file = svc
        .get_payment_file(
            &second,
            GetPaymentFileRequest {
                run_id: run.id.clone(),
            },
        )
        .await?;
    let approve_and_file_seconds = t.elapsed().as_secs_f64();
    Ok(Figures {
        placements,
        claims,
        statements: run.statements,
        transfers: run.transfers,
        claims_paid: run.claims_paid,
        file_bytes: file.xml.len(),
        run_seconds,
        approve_and_file_seconds,
        seconds: run_seconds + approve_and_file_seconds,
    })
}
