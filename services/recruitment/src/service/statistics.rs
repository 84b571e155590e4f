//! Recruitment's figures for the council dashboards (issue 25, ADR 0050):
//! how far the households who inquired in the period got (a partition, so
//! that no step-to-step difference escapes the disclosure control), and
//! the mean days from one step to the next. A case is in the area of its
//! municipality. Who sees what: `samling_kit::statistics::view_for`.

use super::{R, Recruitment};
use crate::domain::funnel::FunnelCase;
use crate::store;
use samling_kit::auth::AuthContext;
use samling_kit::dates;
use samling_kit::statistics::{self as stats, Query, Table};
use samling_proto::recruitment::v1::Track;
use samling_proto::statistics::v1::{GetStatisticsRequest, StatisticsReport};

pub const FUNNEL: &str = "recruitment.funnel";
pub const DAYS_PER_STEP: &str = "recruitment.days_per_step";
pub const TABLES: &[&str] = &[FUNNEL, DAYS_PER_STEP];

/// The steps of `FunnelCase::reached`, in order.
const STEPS: [(&str, &str); 5] = [
    ("inquired", "Förfrågan"),
    ("met", "Informationsmöte"),
    ("trained", "Utbildning"),
    ("investigated", "Utredning"),
    ("approved", "Godkänd"),
];

impl Recruitment {
    pub async fn get_statistics(
        &self,
        ctx: &AuthContext,
        req: &GetStatisticsRequest,
    ) -> R<StatisticsReport> {
        let q = Query::parse(req, TABLES)?;
        let view = stats::view_for(ctx, &q)?;
        let cases: Vec<FunnelCase> = store::funnel::cohort(
            &self.store.read,
            "",
            &dates::date_text(q.from),
            &dates::date_text(q.to),
            Track::Unspecified,
        )
        .await?
        .iter()
        .filter(|c| q.in_area(&c.municipality_code))
        .map(FunnelCase::from_case)
        .collect();
        let mut tables = Vec::new();
        if q.wants(FUNNEL) {
            // Each household once, at the furthest step it reached (by the
            // period's end).
            let mut furthest = [0i64; 5];
            for c in &cases {
                if let Some(i) = (0..5)
                    .rev()
                    .find(|&i| c.reached[i].is_some_and(|d| d <= q.to))
                {
                    furthest[i] += 1;
                }
            }
            let mut t = Table::counts(
                FUNNEL,
                "Rekrytering: förfrågningar efter längst nådda steg",
                "bar",
            )
            .column("households", "Hushåll");
            for (i, (key, label)) in STEPS.iter().enumerate() {
                t = t.row(key, label, &[furthest[i]]);
            }
            tables.push(t.total_row("Alla förfrågningar").build());
        }
        if q.wants(DAYS_PER_STEP) {
            // Days from the last step reached before it to each step.
            let mut parts = [(0i64, 0i64); 5];
            for c in &cases {
                for (i, part) in parts.iter_mut().enumerate().skip(1) {
                    let Some(at) = c.reached[i] else { continue };
                    if let Some(before) = (0..i).rev().find_map(|j| c.reached[j]) {
                        part.0 += (at - before).num_days().max(0);
                        part.1 += 1;
                    }
                }
            }
            let mut t = Table::ratios(
                DAYS_PER_STEP,
                "Rekrytering: dagar till varje steg (medel)",
                "dagar",
                "bar",
            )
            .column("mean", "Medel, dagar");
            for (i, (key, label)) in STEPS.iter().enumerate().skip(1) {
                t = t.ratio_row(key, label, &[parts[i]]);
            }
            tables.push(t.build());
        }
        let mut report = StatisticsReport {
            region: self
                .region
                .as_ref()
                .map(|r| r.to_string())
                .unwrap_or_default(),
            tables,
        };
        stats::finish(&mut report, view);
        Ok(report)
    }
}
