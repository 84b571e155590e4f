//! The register's figures for the council dashboards and national
//! statistics (issue 25, ADR 0050): homes by type and provider, places,
//! emergency homes free now, overdue re-confirmations, placements started
//! and ended, endings by reason, children placed more than once, the
//! network-placement share, time in emergency homes and unexecuted
//! decisions. Counted from the register's own records; a home is in the
//! area of its municipality, a placement and a decision in the placing
//! municipality's. Who sees what: `samling_kit::statistics::view_for`; the
//! disclosure control is applied last, to the whole table.

use super::{R, Registry};
use crate::store;
use chrono::NaiveDate;
use samling_kit::auth::AuthContext;
use samling_kit::dates;
use samling_kit::statistics::{self as stats, Query, Table, month_of};
use samling_proto::registry::v1::*;
use samling_proto::statistics::v1::{GetStatisticsRequest, StatTable, StatisticsReport};
use std::collections::{BTreeMap, BTreeSet};

pub const HOMES_BY_TYPE: &str = "registry.homes_by_type";
pub const PLACES: &str = "registry.places";
pub const EMERGENCY_FREE: &str = "registry.emergency_homes_free";
pub const OVERDUE: &str = "registry.reconfirmation_overdue";
pub const PLACEMENTS_BY_MONTH: &str = "registry.placements_by_month";
pub const STARTED_BY_TYPE: &str = "registry.placements_by_type";
pub const ENDINGS: &str = "registry.endings_by_reason";
pub const PLACED_MORE_THAN_ONCE: &str = "registry.children_by_placements";
pub const NETWORK_BY_MUNICIPALITY: &str = "registry.network_by_municipality";
pub const SHARES: &str = "registry.shares";
pub const TIME_IN_EMERGENCY: &str = "registry.time_in_emergency_home";
pub const UNEXECUTED: &str = "registry.unexecuted_decisions";

/// Every table of the register, in the order answered.
pub const TABLES: &[&str] = &[
    HOMES_BY_TYPE,
    PLACES,
    EMERGENCY_FREE,
    OVERDUE,
    PLACEMENTS_BY_MONTH,
    STARTED_BY_TYPE,
    ENDINGS,
    PLACED_MORE_THAN_ONCE,
    NETWORK_BY_MUNICIPALITY,
    SHARES,
    TIME_IN_EMERGENCY,
    UNEXECUTED,
];

const PROVIDERS: [(&str, &str); 3] = [
    ("public", "Kommunal/regional"),
    ("agency", "Konsulentstödd"),
    ("total", "Totalt"),
];

fn home_types() -> [(HomeType, &'static str, &'static str); 6] {
    [
        (HomeType::NetworkHome, "network_home", "Nätverkshem"),
        (HomeType::FamilyHome, "family_home", "Familjehem"),
        (
            HomeType::ReinforcedFamilyHome,
            "reinforced_family_home",
            "Förstärkt familjehem",
        ),
        (HomeType::EmergencyHome, "emergency_home", "Jourhem"),
        (
            HomeType::ContractedEmergencyHome,
            "contracted_emergency_home",
            "Kontrakterat jourhem",
        ),
        (HomeType::MentorFamily, "mentor_family", "Kontaktfamilj"),
    ]
}

fn is_emergency(t: i32) -> bool {
    t == HomeType::EmergencyHome as i32 || t == HomeType::ContractedEmergencyHome as i32
}

/// 0: public, 1: agency (an unspecified provider counts as public).
fn provider_col(p: i32) -> usize {
    usize::from(p == ProviderKind::Agency as i32)
}

/// A home in the register's count: approved and not ended (active, or
/// paused).
fn counted(h: &Home) -> bool {
    [HomeStatus::Approved, HomeStatus::Active, HomeStatus::Paused]
        .iter()
        .any(|s| h.status == *s as i32)
}

fn date(d: Option<&samling_proto::common::v1::Date>) -> Option<NaiveDate> {
    dates::opt_from_proto("", d).ok().flatten()
}

impl Registry {
    pub async fn get_statistics(
        &self,
        ctx: &AuthContext,
        req: &GetStatisticsRequest,
    ) -> R<StatisticsReport> {
        let q = Query::parse(req, TABLES)?;
        let view = stats::view_for(ctx, &q)?;
        let homes: Vec<Home> = store::statistics::homes(&self.store.read)
            .await?
            .into_iter()
            .filter(|h| q.in_area(&h.municipality_code))
            .collect();
        let placements: Vec<Placement> = store::statistics::placements(&self.store.read)
            .await?
            .into_iter()
            .filter(|p| q.in_area(&p.placing_municipality_code))
            .collect();
        let decisions: Vec<UnexecutedDecision> = if q.wants(UNEXECUTED) {
            store::statistics::decisions(&self.store.read)
                .await?
                .into_iter()
                .filter(|d| q.in_area(&d.municipality_code))
                .collect()
        } else {
            vec![]
        };
        let today = self.clock.today();
        let mut tables = Vec::new();
        for id in TABLES.iter().filter(|id| q.wants(id)) {
            tables.push(match *id {
                HOMES_BY_TYPE => homes_by_type(&homes),
                PLACES => places(&homes),
                EMERGENCY_FREE => emergency_free(&homes),
                OVERDUE => overdue(&homes, today.min(q.to)),
                PLACEMENTS_BY_MONTH => by_month(&q, &placements),
                STARTED_BY_TYPE => started_by_type(&q, &placements),
                ENDINGS => endings(&q, &placements),
                PLACED_MORE_THAN_ONCE => placed_more_than_once(&q, &placements),
                NETWORK_BY_MUNICIPALITY => network_by_municipality(&q, &placements),
                SHARES => shares(&q, &placements),
                TIME_IN_EMERGENCY => time_in_emergency(&q, &placements),
                _ => unexecuted(&q, &decisions),
            });
        }
        let mut report = StatisticsReport {
            region: self
                .region
                .as_ref()
                .map(|r| r.as_str().to_string())
                .unwrap_or_default(),
            tables,
        };
        stats::finish(&mut report, view);
        Ok(report)
    }
}

/// Placements started in the period.
fn started<'a>(q: &'a Query, ps: &'a [Placement]) -> impl Iterator<Item = &'a Placement> {
    ps.iter()
        .filter(|p| date(p.start_date.as_ref()).is_some_and(|d| q.in_period(d)))
}

/// Placements ended in the period.
fn ended<'a>(q: &'a Query, ps: &'a [Placement]) -> impl Iterator<Item = &'a Placement> {
    ps.iter()
        .filter(|p| date(p.end_date.as_ref()).is_some_and(|d| q.in_period(d)))
}

/// Rows of home types × provider (public, agency, total) with a total row.
fn by_type_and_provider(table: Table, items: impl Iterator<Item = (i32, i32)>) -> StatTable {
    let mut counts: BTreeMap<i32, [i64; 2]> = BTreeMap::new();
    for (home_type, provider) in items {
        counts.entry(home_type).or_default()[provider_col(provider)] += 1;
    }
    let mut t = table.columns(PROVIDERS);
    for (ty, key, label) in home_types() {
        let c = counts.get(&(ty as i32)).copied().unwrap_or_default();
        t = t.row(key, label, &c);
    }
    let other = counts
        .iter()
        .filter(|(k, _)| !home_types().iter().any(|(ty, _, _)| **k == *ty as i32))
        .fold([0i64; 2], |a, (_, c)| [a[0] + c[0], a[1] + c[1]]);
    t.row("unspecified", "Ej angiven", &other)
        .total_row("Totalt")
        .build()
}

fn homes_by_type(homes: &[Home]) -> StatTable {
    by_type_and_provider(
        Table::counts(HOMES_BY_TYPE, "Familjehem per typ och utförare", "bar"),
        homes
            .iter()
            .filter(|h| counted(h))
            .map(|h| (h.home_type, h.provider)),
    )
}

fn places(homes: &[Home]) -> StatTable {
    let mut rows: BTreeMap<i32, [i64; 2]> = BTreeMap::new();
    for h in homes.iter().filter(|h| counted(h)) {
        let capacity = i64::from(h.capacity.max(0));
        let placed = i64::from(h.placed_count.max(0)).min(capacity);
        let e = rows.entry(h.home_type).or_default();
        e[0] += placed;
        e[1] += capacity - placed;
    }
    let mut t = Table::counts(PLACES, "Platser: belagda och lediga", "bar").columns([
        ("placed", "Belagda"),
        ("free", "Lediga"),
        ("total", "Platser"),
    ]);
    for (ty, key, label) in home_types() {
        t = t.row(
            key,
            label,
            &rows.get(&(ty as i32)).copied().unwrap_or_default(),
        );
    }
    t.total_row("Totalt").build()
}

fn emergency_free(homes: &[Home]) -> StatTable {
    let mut t = Table::counts(EMERGENCY_FREE, "Jourhem med ledig plats nu", "bar").columns([
        ("free", "Ledig plats"),
        ("full", "Ingen ledig plats"),
        ("total", "Jourhem"),
    ]);
    for (ty, key, label) in home_types()
        .into_iter()
        .filter(|(ty, _, _)| is_emergency(*ty as i32))
    {
        let mut c = [0i64; 2];
        for h in homes
            .iter()
            .filter(|h| counted(h) && h.home_type == ty as i32)
        {
            let free = h.jour_available
                && !h.placement_blocked
                && h.status != HomeStatus::Paused as i32
                && h.placed_count < h.capacity.max(1);
            c[usize::from(!free)] += 1;
        }
        t = t.row(key, label, &c);
    }
    t.total_row("Totalt").build()
}

fn overdue(homes: &[Home], on: NaiveDate) -> StatTable {
    let mut c = [[0i64; 2]; 2];
    for h in homes.iter().filter(|h| counted(h)) {
        let late = h.reconfirmation_overdue
            || crate::domain::home::reconfirmation_due(h).is_some_and(|due| due < on);
        c[provider_col(h.provider)][usize::from(!late)] += 1;
    }
    Table::counts(
        OVERDUE,
        "Familjehem med försenad aktualitetsförklaring",
        "bar",
    )
    .columns([
        ("overdue", "Försenad"),
        ("on_time", "I tid"),
        ("total", "Familjehem"),
    ])
    .row("public", "Kommunal/regional", &c[0])
    .row("agency", "Konsulentstödd", &c[1])
    .total_row("Totalt")
    .build()
}

fn by_month(q: &Query, ps: &[Placement]) -> StatTable {
    let months = q.months();
    let mut t = Table::counts(
        PLACEMENTS_BY_MONTH,
        "Påbörjade och avslutade placeringar per månad",
        "series",
    );
    for m in &months {
        t = t.column(m, m);
    }
    let count = |field: fn(&Placement) -> Option<&samling_proto::common::v1::Date>| {
        let mut by: BTreeMap<String, i64> = BTreeMap::new();
        for p in ps {
            if let Some(d) = date(field(p)).filter(|d| q.in_period(*d)) {
                *by.entry(month_of(d)).or_default() += 1;
            }
        }
        months
            .iter()
            .map(|m| by.get(m).copied().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    t.row("started", "Påbörjade", &count(|p| p.start_date.as_ref()))
        .row("ended", "Avslutade", &count(|p| p.end_date.as_ref()))
        .build()
}

fn started_by_type(q: &Query, ps: &[Placement]) -> StatTable {
    by_type_and_provider(
        Table::counts(
            STARTED_BY_TYPE,
            "Påbörjade placeringar per hemtyp och utförare",
            "bar",
        ),
        started(q, ps).map(|p| (p.home_type, p.provider)),
    )
}

fn end_reasons() -> [(EndReason, &'static str, &'static str); 7] {
    [
        (EndReason::Planned, "planned", "Planerat"),
        (EndReason::ReturnedHome, "returned_home", "Återförening"),
        (EndReason::Breakdown, "breakdown", "Sammanbrott"),
        (
            EndReason::CustodyTransferred,
            "custody_transferred",
            "Vårdnadsöverflyttning",
        ),
        (EndReason::AgedOut, "aged_out", "Uppnådd ålder"),
        (
            EndReason::MovedToOtherPlacement,
            "moved",
            "Flytt till annan placering",
        ),
        (EndReason::Other, "other", "Annat eller ej angivet"),
    ]
}

fn endings(q: &Query, ps: &[Placement]) -> StatTable {
    let mut counts: BTreeMap<i32, [i64; 2]> = BTreeMap::new();
    for p in ended(q, ps) {
        let reason = if end_reasons()
            .iter()
            .any(|(r, _, _)| *r as i32 == p.end_reason)
        {
            p.end_reason
        } else {
            EndReason::Other as i32
        };
        counts.entry(reason).or_default()[provider_col(p.provider)] += 1;
    }
    let mut t = Table::counts(
        ENDINGS,
        "Avslutade placeringar per orsak och utförare",
        "bar",
    )
    .columns(PROVIDERS);
    for (r, key, label) in end_reasons() {
        t = t.row(
            key,
            label,
            &counts.get(&(r as i32)).copied().unwrap_or_default(),
        );
    }
    t.total_row("Totalt").build()
}

/// The children placed at some time in the period, each with how many
/// placements the register holds of them (any time up to the period's end).
fn placed_children(q: &Query, ps: &[Placement]) -> BTreeMap<String, usize> {
    let placed_in_period: BTreeSet<&str> = ps
        .iter()
        .filter(|p| {
            let start = date(p.start_date.as_ref());
            let end = date(p.end_date.as_ref());
            start.is_some_and(|s| s <= q.to) && end.is_none_or(|e| e >= q.from)
        })
        .map(|p| p.child_id.as_str())
        .collect();
    let mut out: BTreeMap<String, usize> = BTreeMap::new();
    for p in ps.iter().filter(|p| {
        placed_in_period.contains(p.child_id.as_str())
            && date(p.start_date.as_ref()).is_some_and(|s| s <= q.to)
    }) {
        *out.entry(p.child_id.clone()).or_default() += 1;
    }
    out
}

fn placed_more_than_once(q: &Query, ps: &[Placement]) -> StatTable {
    let children = placed_children(q, ps);
    let more = children.values().filter(|n| **n > 1).count() as i64;
    let one = children.len() as i64 - more;
    Table::counts(
        PLACED_MORE_THAN_ONCE,
        "Placerade barn efter antal placeringar",
        "bar",
    )
    .column("children", "Barn")
    .row("one", "En placering", &[one])
    .row("more", "Mer än en placering", &[more])
    .total_row("Totalt")
    .build()
}

fn network_by_municipality(q: &Query, ps: &[Placement]) -> StatTable {
    let mut by: BTreeMap<&str, [i64; 2]> = BTreeMap::new();
    for p in started(q, ps) {
        let network = p.home_type == HomeType::NetworkHome as i32;
        by.entry(p.placing_municipality_code.as_str()).or_default()[usize::from(!network)] += 1;
    }
    let mut t = Table::counts(
        NETWORK_BY_MUNICIPALITY,
        "Påbörjade placeringar i nätverkshem per kommun",
        "table",
    )
    .columns([
        ("network", "Nätverkshem"),
        ("other", "Övriga"),
        ("total", "Placeringar"),
    ]);
    for (code, c) in by {
        let name = samling_kit::reference::MunicipalityCode::parse(code)
            .map(|m| m.name().to_string())
            .unwrap_or_else(|_| code.to_string());
        t = t.row(code, &name, &c);
    }
    t.total_row("Totalt").build()
}

fn shares(q: &Query, ps: &[Placement]) -> StatTable {
    let children = placed_children(q, ps);
    let more = children.values().filter(|n| **n > 1).count() as i64;
    let (mut network, mut all) = (0i64, 0i64);
    for p in started(q, ps) {
        all += 1;
        network += i64::from(p.home_type == HomeType::NetworkHome as i32);
    }
    Table::ratios(SHARES, "Andelar", "procent", "bar")
        .column("share", "Andel")
        .ratio_row(
            "more_than_one_placement",
            "Placerade barn med mer än en placering",
            &[(more, children.len() as i64)],
        )
        .ratio_row(
            "network_placements",
            "Påbörjade placeringar i nätverkshem",
            &[(network, all)],
        )
        .build()
}

fn time_in_emergency(q: &Query, ps: &[Placement]) -> StatTable {
    let mut by: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
    for p in ended(q, ps).filter(|p| is_emergency(p.home_type)) {
        let (Some(s), Some(e)) = (date(p.start_date.as_ref()), date(p.end_date.as_ref())) else {
            continue;
        };
        let days = (e - s).num_days().max(0);
        let entry = by.entry(p.home_type).or_default();
        entry.0 += days;
        entry.1 += 1;
    }
    let mut t = Table::ratios(
        TIME_IN_EMERGENCY,
        "Tid i jourhem för placeringar som avslutats (medel)",
        "dagar",
        "bar",
    )
    .column("mean", "Medel, dagar");
    let (mut sum, mut n) = (0, 0);
    for (ty, key, label) in home_types()
        .into_iter()
        .filter(|(ty, _, _)| is_emergency(*ty as i32))
    {
        let (d, c) = by.get(&(ty as i32)).copied().unwrap_or_default();
        sum += d;
        n += c;
        t = t.ratio_row(key, label, &[(d, c)]);
    }
    t.ratio_row("total", "Alla jourhem", &[(sum, n)]).build()
}

fn unexecuted(q: &Query, ds: &[UnexecutedDecision]) -> StatTable {
    let reasons = [
        (
            UnexecutedReason::NoSuitableHome,
            "no_suitable_home",
            "Inget lämpligt hem",
        ),
        (
            UnexecutedReason::ChildOrGuardianDeclined,
            "declined",
            "Barnet eller vårdnadshavare tackade nej",
        ),
        (
            UnexecutedReason::ResourceShortage,
            "resource_shortage",
            "Resursbrist",
        ),
        (
            UnexecutedReason::ProviderDeclined,
            "provider_declined",
            "Utföraren tackade nej",
        ),
        (UnexecutedReason::Other, "other", "Annat eller ej angivet"),
    ];
    let mut counts: BTreeMap<i32, [i64; 3]> = BTreeMap::new();
    for d in ds {
        let Some(decided) = date(d.decision_date.as_ref()) else {
            continue;
        };
        let executed = date(d.executed_on.as_ref());
        // Decided by the period's end, not executed by then, and three
        // months old by then (reportable).
        let reportable = date(d.reportable_from.as_ref()).unwrap_or(decided);
        if decided > q.to || reportable > q.to || executed.is_some_and(|e| e <= q.to) {
            continue;
        }
        let reason = if reasons.iter().any(|(r, _, _)| *r as i32 == d.reason) {
            d.reason
        } else {
            UnexecutedReason::Other as i32
        };
        let col = if d.sex == Sex::Female as i32 {
            0
        } else if d.sex == Sex::Male as i32 {
            1
        } else {
            2
        };
        counts.entry(reason).or_default()[col] += 1;
    }
    let mut t = Table::counts(UNEXECUTED, "Ej verkställda beslut per orsak och kön", "bar")
        .columns([
            ("female", "Flickor"),
            ("male", "Pojkar"),
            ("unspecified", "Ej angivet"),
            ("total", "Totalt"),
        ]);
    for (r, key, label) in reasons {
        t = t.row(
            key,
            label,
            &counts.get(&(r as i32)).copied().unwrap_or_default(),
        );
    }
    t.total_row("Totalt").build()
}
