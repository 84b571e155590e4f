//! Portfolio's section of the configuration, `[portfolio]`.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortfolioConfig {
    /// The age from which a child has an own view of the portfolio
    /// (seed 003 ≈6971: own access from 13); a portfolio may set its own.
    pub own_view_age: u32,
    /// The region's prescription-credential signing key (a hex Ed25519
    /// seed). Unset: `<data_dir>/keys/portfolio-credential-<region>.key`,
    /// made (0600) at first start. Every replica of a region must use the
    /// same key, or a credential one issued is invalid at another.
    pub credential_key_file: Option<std::path::PathBuf>,
    /// Retention (ADR 0043): the age at which a portfolio is archived
    /// (18–100; aftercare runs to 25).
    pub archive_age: u32,
    /// …but no sooner than this many years after the care ended (0–25).
    pub archive_years_after_care_end: u32,
    /// How often the service runs the retention job (seconds; 0: never,
    /// only `RunRetention`). Idempotent: running it more often only costs
    /// a scan.
    pub retention_interval_secs: u64,
    /// Deadlines and alerts (ADR 0042), `[portfolio.deadlines]`.
    pub deadlines: DeadlineConfig,
}

impl Default for PortfolioConfig {
    fn default() -> Self {
        PortfolioConfig {
            own_view_age: 13,
            credential_key_file: None,
            archive_age: 25,
            archive_years_after_care_end: 1,
            retention_interval_secs: 6 * 3600,
            deadlines: DeadlineConfig::default(),
        }
    }
}

/// The periods and lead times of the deadline rules (ADR 0042).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeadlineConfig {
    /// The health examination is due this many days after care start
    /// ("i anslutning till att vården inleds", lag 2017:209; seed 003 ≈7427).
    pub health_exam_days: u32,
    /// Months between reviews of the care (övervägande/omprövning at least
    /// every six months; seed 003 ≈8074).
    pub review_months: u32,
    /// Years in the same family home until custody must be considered
    /// (6 kap. 8 § SoL, 13 c § LVU; seed 003 ≈9052–9056).
    pub custody_years: u32,
    /// The age care ends at (the 18th birthday).
    pub care_end_age: u32,
    /// The age care under LVU 3 § (the young person's own behaviour) ends
    /// at the latest (LVU 21 §: 21).
    pub care_end_age_lvu_3: u32,
    /// Aftercare lasts until this birthday (seed 003 ≈8994–8998: 25).
    pub aftercare_until_age: u32,
    /// Aftercare follows a care that ended at this age or later (an earlier
    /// end is a return home, followed up otherwise).
    pub aftercare_from_care_end_age: u32,
    /// An item is `due` from this many days before its due date.
    pub lead_days: u32,
    /// A dental visit is due this many months after the last one (the
    /// child's yearly check-up in barn- och ungdomstandvården) ...
    pub dental_months: u32,
    /// ... and this many days after care start when none is recorded.
    pub dental_days: u32,
    /// A BUP referral's first appointment is due this many days after the
    /// referral (the reinforced care guarantee for BUP: 30 days).
    pub bup_wait_days: u32,
    /// The child's school is due this many days after the child moves in
    /// (the authority's standard; schooling without delay, Skollagen).
    pub school_days: u32,
    /// The care plan (vårdplan, 11 kap. 3 § SoL) is due this many days
    /// after care start (it should exist when care starts).
    pub care_plan_days: u32,
    /// The implementation plan (genomförandeplan) is due this many days
    /// after care start.
    pub implementation_plan_days: u32,
    /// How often the service runs the deadlines by itself, in seconds
    /// (0: never; the RPC and the CLI still run them).
    pub run_every_secs: u64,
}

impl Default for DeadlineConfig {
    fn default() -> Self {
        DeadlineConfig {
            health_exam_days: 30,
            review_months: 6,
            custody_years: 2,
            care_end_age: 18,
            care_end_age_lvu_3: 21,
            aftercare_until_age: 25,
            aftercare_from_care_end_age: 16,
            lead_days: 30,
            dental_months: 12,
            dental_days: 90,
            bup_wait_days: 30,
            school_days: 14,
            care_plan_days: 14,
            implementation_plan_days: 30,
            run_every_secs: 3600,
        }
    }
}

impl DeadlineConfig {
    /// The key at fault and why, when a value is out of range.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        for (key, v, max) in [
            ("portfolio.deadlines.dental_months", self.dental_months, 36),
            ("portfolio.deadlines.dental_days", self.dental_days, 365),
            ("portfolio.deadlines.bup_wait_days", self.bup_wait_days, 365),
            ("portfolio.deadlines.school_days", self.school_days, 365),
            (
                "portfolio.deadlines.care_plan_days",
                self.care_plan_days,
                365,
            ),
            (
                "portfolio.deadlines.implementation_plan_days",
                self.implementation_plan_days,
                365,
            ),
        ] {
            if v == 0 || v > max {
                return Err((
                    key,
                    "must be between 1 and its maximum (36 months, 365 days)",
                ));
            }
        }
        if !(1..=365).contains(&self.health_exam_days) {
            return Err((
                "portfolio.deadlines.health_exam_days",
                "must be between 1 and 365",
            ));
        }
        if !(1..=12).contains(&self.review_months) {
            return Err((
                "portfolio.deadlines.review_months",
                "must be between 1 and 12",
            ));
        }
        if !(1..=10).contains(&self.custody_years) {
            return Err((
                "portfolio.deadlines.custody_years",
                "must be between 1 and 10",
            ));
        }
        if !(16..=21).contains(&self.care_end_age) {
            return Err((
                "portfolio.deadlines.care_end_age",
                "must be between 16 and 21",
            ));
        }
        if !(self.care_end_age..=21).contains(&self.care_end_age_lvu_3) {
            return Err((
                "portfolio.deadlines.care_end_age_lvu_3",
                "must be between care_end_age and 21",
            ));
        }
        if !(self.care_end_age..=30).contains(&self.aftercare_until_age) {
            return Err((
                "portfolio.deadlines.aftercare_until_age",
                "must be between care_end_age and 30",
            ));
        }
        if self.aftercare_from_care_end_age > self.care_end_age_lvu_3 {
            return Err((
                "portfolio.deadlines.aftercare_from_care_end_age",
                "must not be above care_end_age_lvu_3",
            ));
        }
        if self.lead_days > 180 {
            return Err(("portfolio.deadlines.lead_days", "must be at most 180"));
        }
        Ok(())
    }
}
