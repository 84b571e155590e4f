//! The dashboards' statistics (issue 25, ADR 0050), shared by every
//! service's `GetStatistics` and the gateway: the request's period and
//! area, who sees what, table building and the disclosure control applied
//! last (`crate::disclosure`).

use crate::auth::{AuthContext, Role};
use crate::dates;
use crate::disclosure;
use crate::error::{KitError, Reason};
use crate::reference::{CountyCode, MunicipalityCode};
use chrono::{Datelike, NaiveDate};
use samling_proto::statistics::v1::*;

/// The longest period a request may cover.
pub const MAX_YEARS: i32 = 5;

/// A statistics request, checked.
#[derive(Debug, Clone)]
pub struct Query {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub county: Option<CountyCode>,
    pub municipality: Option<MunicipalityCode>,
    pub tables: Vec<String>,
}

impl Query {
    /// Checks `req` against the service's table ids (`known`), naming the
    /// field at fault.
    pub fn parse(req: &GetStatisticsRequest, known: &[&str]) -> Result<Query, KitError> {
        let from = dates::from_proto("from", req.from.as_ref())?;
        let to = dates::from_proto("to", req.to.as_ref())?;
        if to < from {
            return Err(KitError::invalid("to", "is before from"));
        }
        let limit = NaiveDate::from_ymd_opt(from.year() + MAX_YEARS, from.month(), 1)
            .map(|d| d + chrono::Days::new(u64::from(from.day()) - 1))
            .unwrap_or(NaiveDate::MAX);
        if to > limit {
            return Err(KitError::invalid(
                "to",
                format!("is more than {MAX_YEARS} years after from"),
            ));
        }
        let county = match req.county.trim() {
            "" => None,
            c => {
                Some(CountyCode::parse(c).map_err(|e| KitError::invalid("county", e.to_string()))?)
            }
        };
        let municipality = match req.municipality.trim() {
            "" => None,
            m => Some(
                MunicipalityCode::parse(m)
                    .map_err(|e| KitError::invalid("municipality", e.to_string()))?,
            ),
        };
        if let (Some(c), Some(m)) = (county, municipality)
            && m.county() != c
        {
            return Err(KitError::invalid(
                "municipality",
                format!("is not in county {}", c.as_str()),
            ));
        }
        for t in &req.tables {
            if !known.contains(&t.as_str()) {
                return Err(KitError::invalid(
                    "tables",
                    format!("{t:?} is not a table of this service"),
                ));
            }
        }
        Ok(Query {
            from,
            to,
            county,
            municipality,
            tables: req.tables.clone(),
        })
    }

    /// Is the table asked for (none named: every one)?
    pub fn wants(&self, id: &str) -> bool {
        self.tables.is_empty() || self.tables.iter().any(|t| t == id)
    }

    /// Is a municipality (its code) inside the area asked for?
    pub fn in_area(&self, municipality: &str) -> bool {
        if let Some(m) = self.municipality {
            return m.as_str() == municipality;
        }
        if let Some(c) = self.county {
            return municipality.get(..2) == Some(c.as_str());
        }
        true
    }

    /// Is a day inside the period?
    pub fn in_period(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }

    /// The period's months, "2026-01"…, in order.
    pub fn months(&self) -> Vec<String> {
        let mut out = Vec::new();
        let (mut y, mut m) = (self.from.year(), self.from.month());
        while (y, m) <= (self.to.year(), self.to.month()) {
            out.push(format!("{y:04}-{m:02}"));
            (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        }
        out
    }
}

/// The month of a day, as [`Query::months`] names it.
pub fn month_of(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// How a caller sees the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Every figure as it is: services and the regional office.
    Raw,
    /// Disclosure control applied: the national analyst, council members.
    Suppressed,
}

/// Who may read statistics, and how: raw for services and the regional
/// office (its own region: the service's `bind` checks the claim), with
/// disclosure control for the aggregate-only roles, who get a region's and
/// the nation's figures but not one county's or municipality's (a third
/// table to subtract from, ADR 0017). Everyone else is refused.
pub fn view_for(ctx: &AuthContext, q: &Query) -> Result<View, KitError> {
    match ctx.role {
        Role::Service if ctx.is_public() => Err(KitError::refused(
            Reason::ForbiddenRole,
            "statistics are not public",
        )),
        Role::Service | Role::RegionalOfficer => Ok(View::Raw),
        r if r.aggregates_only() => {
            if q.municipality.is_some() {
                return Err(KitError::invalid(
                    "municipality",
                    "the aggregate roles get regional and national figures only",
                )
                .because_forbidden());
            }
            if q.county.is_some() {
                return Err(KitError::invalid(
                    "county",
                    "the aggregate roles get regional and national figures only",
                )
                .because_forbidden());
            }
            Ok(View::Suppressed)
        }
        r => Err(KitError::refused(
            Reason::ForbiddenRole,
            format!(
                "statistics are for the office, analysts and councils, not a {}",
                r.as_str()
            ),
        )),
    }
}

trait Forbidden {
    fn because_forbidden(self) -> KitError;
}

impl Forbidden for KitError {
    /// A filter the role may not use: refused (PERMISSION_DENIED), naming it.
    fn because_forbidden(self) -> KitError {
        match self {
            KitError::InvalidArgument(f) => {
                KitError::refused(Reason::ForbiddenRole, format!("{}: {}", f.field, f.message))
            }
            e => e,
        }
    }
}

/// Applies the view to every table of a report (last, after every figure
/// is in).
pub fn finish(report: &mut StatisticsReport, view: View) {
    for t in &mut report.tables {
        match view {
            View::Raw => disclosure::show_stat_table(t),
            View::Suppressed => disclosure::suppress_stat_table(t, &[]),
        }
    }
}

/// A table being built.
#[derive(Debug, Clone)]
pub struct Table(pub StatTable);

impl Table {
    /// A table of counts (disclosure control applies).
    pub fn counts(id: &str, title: &str, chart: &str) -> Table {
        Table(StatTable {
            id: id.into(),
            title: title.into(),
            unit: "antal".into(),
            columns: vec![],
            rows: vec![],
            counts: true,
            chart: chart.into(),
        })
    }

    /// A table of ratios ("procent" or "dagar"), each cell from its parts.
    pub fn ratios(id: &str, title: &str, unit: &str, chart: &str) -> Table {
        Table(StatTable {
            id: id.into(),
            title: title.into(),
            unit: unit.into(),
            columns: vec![],
            rows: vec![],
            counts: false,
            chart: chart.into(),
        })
    }

    /// A table of amounts in kronor (not counts of people).
    pub fn amounts(id: &str, title: &str, chart: &str) -> Table {
        Table(StatTable {
            id: id.into(),
            title: title.into(),
            unit: "kr".into(),
            columns: vec![],
            rows: vec![],
            counts: false,
            chart: chart.into(),
        })
    }

    pub fn column(mut self, id: &str, label: &str) -> Table {
        self.0.columns.push(StatColumn {
            id: id.into(),
            label: label.into(),
        });
        self
    }

    /// Columns `id`/`label` pairs.
    pub fn columns<'a>(mut self, cols: impl IntoIterator<Item = (&'a str, &'a str)>) -> Table {
        for (id, label) in cols {
            self = self.column(id, label);
        }
        self
    }

    /// A row of values (counts or amounts); when the table has a "total"
    /// column, its cell is the sum of the others (whatever is passed there).
    pub fn row(mut self, key: &str, label: &str, values: &[i64]) -> Table {
        let total_col = self.0.columns.iter().position(|c| c.id == "total");
        let mut values = values.to_vec();
        values.resize(self.0.columns.len(), 0);
        if let Some(tc) = total_col {
            values[tc] = values
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != tc)
                .map(|(_, v)| v)
                .sum();
        }
        self.0.rows.push(StatRow {
            key: key.into(),
            label: label.into(),
            cells: values
                .into_iter()
                .map(|v| StatCell {
                    value: v,
                    ..Default::default()
                })
                .collect(),
            total: false,
        });
        self
    }

    /// A row of ratios from their parts (numerator, denominator).
    pub fn ratio_row(mut self, key: &str, label: &str, parts: &[(i64, i64)]) -> Table {
        let unit = self.0.unit.clone();
        self.0.rows.push(StatRow {
            key: key.into(),
            label: label.into(),
            cells: parts
                .iter()
                .map(|&(n, d)| ratio_cell(&unit, n, d))
                .collect(),
            total: false,
        });
        self
    }

    /// The total row: the sum of every row so far, column by column.
    pub fn total_row(mut self, label: &str) -> Table {
        let width = self.0.columns.len();
        let mut sums = vec![0i64; width];
        for r in &self.0.rows {
            for (s, c) in sums.iter_mut().zip(&r.cells) {
                *s += c.value;
            }
        }
        self.0.rows.push(StatRow {
            key: "total".into(),
            label: label.into(),
            cells: sums
                .into_iter()
                .map(|v| StatCell {
                    value: v,
                    ..Default::default()
                })
                .collect(),
            total: true,
        });
        self
    }

    pub fn build(self) -> StatTable {
        self.0
    }
}

/// A ratio's cell: "procent" is 100·n/d, "dagar" n/d, rounded half up.
pub fn ratio_cell(unit: &str, numerator: i64, denominator: i64) -> StatCell {
    StatCell {
        value: ratio_value(unit, numerator, denominator),
        numerator,
        denominator,
        ..Default::default()
    }
}

/// [`ratio_cell`]'s value (0 without a base).
pub fn ratio_value(unit: &str, numerator: i64, denominator: i64) -> i64 {
    if denominator <= 0 {
        return 0;
    }
    let n = if unit == "procent" {
        numerator * 100
    } else {
        numerator
    };
    (2 * n + denominator) / (2 * denominator)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(from: &str, to: &str) -> GetStatisticsRequest {
        let d = |s: &str| dates::to_proto(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
        GetStatisticsRequest {
            from: Some(d(from)),
            to: Some(d(to)),
            ..Default::default()
        }
    }

    fn field(e: KitError) -> String {
        match e {
            KitError::InvalidArgument(f) => f.field,
            e => panic!("not a field error: {e}"),
        }
    }

    #[test]
    fn a_request_names_the_field_at_fault() {
        assert!(Query::parse(&req("2026-01-01", "2026-12-31"), &[]).is_ok());
        assert_eq!(
            field(Query::parse(&req("2026-02-01", "2026-01-31"), &[]).unwrap_err()),
            "to"
        );
        assert_eq!(
            field(Query::parse(&req("2020-01-01", "2025-01-02"), &[]).unwrap_err()),
            "to"
        );
        assert!(Query::parse(&req("2020-01-01", "2025-01-01"), &[]).is_ok());
        let mut r = req("2026-01-01", "2026-12-31");
        r.from = None;
        assert_eq!(field(Query::parse(&r, &[]).unwrap_err()), "from");
        let mut r = req("2026-01-01", "2026-12-31");
        r.county = "99".into();
        assert_eq!(field(Query::parse(&r, &[]).unwrap_err()), "county");
        r.county = "01".into();
        r.municipality = "1480".into();
        assert_eq!(field(Query::parse(&r, &[]).unwrap_err()), "municipality");
        let mut r = req("2026-01-01", "2026-12-31");
        r.tables = vec!["registry.nope".into()];
        assert_eq!(
            field(Query::parse(&r, &["registry.homes_by_type"]).unwrap_err()),
            "tables"
        );
    }

    #[test]
    fn months_span_the_period_and_areas_nest() {
        let mut r = req("2025-11-15", "2026-02-01");
        r.county = "01".into();
        let q = Query::parse(&r, &[]).unwrap();
        assert_eq!(q.months(), ["2025-11", "2025-12", "2026-01", "2026-02"]);
        assert!(q.in_area("0180") && !q.in_area("1480"));
    }

    #[test]
    fn roles_get_raw_suppressed_or_nothing() {
        let q = Query::parse(&req("2026-01-01", "2026-12-31"), &[]).unwrap();
        let ctx = |r: Role| AuthContext::new("x", r);
        assert_eq!(view_for(&ctx(Role::Service), &q).unwrap(), View::Raw);
        assert_eq!(
            view_for(&ctx(Role::RegionalOfficer), &q).unwrap(),
            View::Raw
        );
        assert_eq!(
            view_for(&ctx(Role::NationalAnalyst), &q).unwrap(),
            View::Suppressed
        );
        assert_eq!(
            view_for(&ctx(Role::CouncilMember), &q).unwrap(),
            View::Suppressed
        );
        for r in [
            Role::MunicipalityCaseworker,
            Role::MunicipalityManager,
            Role::Child,
            Role::FamilyHome,
            Role::Ombud,
            Role::Guardian,
            Role::HealthStaff,
        ] {
            assert!(
                matches!(view_for(&ctx(r), &q), Err(KitError::Refused(_))),
                "{r:?}"
            );
        }
        let mut r = req("2026-01-01", "2026-12-31");
        r.municipality = "0180".into();
        let q = Query::parse(&r, &[]).unwrap();
        assert!(view_for(&ctx(Role::CouncilMember), &q).is_err());
        assert_eq!(
            view_for(&ctx(Role::RegionalOfficer), &q).unwrap(),
            View::Raw
        );
    }

    #[test]
    fn ratios_round_and_totals_add_up() {
        assert_eq!(ratio_value("procent", 57, 100), 57);
        assert_eq!(ratio_value("procent", 1, 3), 33);
        assert_eq!(ratio_value("procent", 2, 3), 67);
        assert_eq!(ratio_value("dagar", 10, 4), 3);
        assert_eq!(ratio_value("dagar", 10, 0), 0);
        let t = Table::counts("x.y", "T", "bar")
            .columns([("a", "A"), ("b", "B"), ("total", "Totalt")])
            .row("r1", "R1", &[1, 2])
            .row("r2", "R2", &[10, 20])
            .total_row("Totalt")
            .build();
        let vals: Vec<Vec<i64>> = t
            .rows
            .iter()
            .map(|r| r.cells.iter().map(|c| c.value).collect())
            .collect();
        assert_eq!(
            vals,
            vec![vec![1, 2, 3], vec![10, 20, 30], vec![11, 22, 33]]
        );
        assert!(t.rows[2].total);
    }
}
