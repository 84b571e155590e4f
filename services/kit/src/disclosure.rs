//! Small-count suppression for figures shown to the aggregate-only roles
//! (ADR 0017): a count of 1–4 is shown as "<5", and further cells (or the
//! total) are hidden until no hidden count can be worked out exactly from
//! what is shown. One implementation for the register (a region's report)
//! and the gateway (the national sum, suppressed after adding up).

use samling_proto::registry::v1::QuarterlyReport;
use samling_proto::statistics::v1::StatTable;

/// Counts below this are never shown to the aggregate-only roles.
pub const THRESHOLD: u32 = 5;
/// How a count of 1–4 is shown.
pub const SMALL: &str = "<5";
/// How a count hidden to protect a small one is shown.
pub const HIDDEN: &str = "..";

/// One figure as shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Count(u32),
    /// 1–4 (primary suppression).
    Small,
    /// Hidden so that no small count is derivable (complementary).
    Hidden,
}

impl Shown {
    pub fn display(self) -> String {
        match self {
            Shown::Count(n) => n.to_string(),
            Shown::Small => SMALL.into(),
            Shown::Hidden => HIDDEN.into(),
        }
    }

    /// The number field: the count when shown, else 0.
    pub fn number(self) -> u32 {
        match self {
            Shown::Count(n) => n,
            _ => 0,
        }
    }
}

/// Unbounded, for interval arithmetic.
const INF: i64 = 1 << 40;

/// What a reader can tell of a figure from how it is shown: its range.
/// "<5" is 1–4 (zeros are shown); ".." is at least 5 (a complementary
/// cell is the smallest non-zero shown one, so at least the threshold; a
/// hidden total is not small, else it would be "<5").
fn range(actual: u32, shown: Shown) -> (i64, i64) {
    match shown {
        Shown::Count(_) => (i64::from(actual), i64::from(actual)),
        Shown::Small => (1, i64::from(THRESHOLD) - 1),
        Shown::Hidden => (i64::from(THRESHOLD), INF),
    }
}

/// Can any hidden figure be worked out exactly from the shown ones and the
/// fact that the cells add up to the total? (One linear constraint over
/// intervals: a figure is pinned when its bounds under it meet.)
fn derivable(cells: &[u32], shown: &[Shown], total: u32, total_shown: Shown) -> bool {
    let ranges: Vec<(i64, i64)> = cells
        .iter()
        .zip(shown)
        .map(|(&c, &s)| range(c, s))
        .collect();
    let (tlo, thi) = range(total, total_shown);
    let sum_lo: i64 = ranges.iter().map(|r| r.0).sum();
    // Unclamped (a few cells of at most INF each fit in an i64), so that
    // the others' bound stays exact when this cell is the unbounded one.
    let sum_hi: i64 = ranges.iter().map(|r| r.1).sum();
    for (i, s) in shown.iter().enumerate() {
        if matches!(s, Shown::Count(_)) {
            continue;
        }
        let (lo, hi) = ranges[i];
        let others_lo = sum_lo - lo;
        let others_hi = sum_hi - hi;
        let min = lo.max(tlo - others_hi);
        let max = hi.min(if thi >= INF { INF } else { thi - others_lo });
        if min >= max {
            return true;
        }
    }
    // A small total pinned by its cells.
    if total_shown == Shown::Small {
        let min = tlo.max(sum_lo);
        let max = thi.min(sum_hi);
        if min >= max {
            return true;
        }
    }
    false
}

/// Suppress `cells` that add up to `total`: counts of 1–4 become "<5"; then,
/// while a hidden count could be worked out, the smallest shown non-zero
/// cell is hidden too, and when none is left, the total; if even that is not
/// enough, every figure is hidden.
pub fn suppress(cells: &[u32], total: u32) -> (Vec<Shown>, Shown) {
    suppress_with(cells, total, &vec![false; cells.len()], false)
}

/// [`suppress`], with some cells (and maybe the total) hidden from the
/// start: the figures of a sum whose parts are shown elsewhere with a part
/// hidden (see [`suppress_quarterly_report_over`]).
pub fn suppress_with(
    cells: &[u32],
    total: u32,
    hide: &[bool],
    hide_total: bool,
) -> (Vec<Shown>, Shown) {
    let small = |n: u32| (1..THRESHOLD).contains(&n);
    let mut shown: Vec<Shown> = cells
        .iter()
        .zip(hide.iter().chain(std::iter::repeat(&false)))
        .map(|(&c, &hide)| {
            if small(c) {
                Shown::Small
            } else if hide && c > 0 {
                Shown::Hidden
            } else {
                Shown::Count(c)
            }
        })
        .collect();
    let mut total_shown = if small(total) {
        Shown::Small
    } else if hide_total && total > 0 {
        Shown::Hidden
    } else {
        Shown::Count(total)
    };
    while derivable(cells, &shown, total, total_shown) {
        let next = shown
            .iter()
            .enumerate()
            .filter(|(i, s)| matches!(s, Shown::Count(_)) && cells[*i] > 0)
            .min_by_key(|(i, _)| cells[*i])
            .map(|(i, _)| i);
        match (next, total_shown) {
            (Some(i), _) => shown[i] = Shown::Hidden,
            (None, Shown::Count(_)) => total_shown = Shown::Hidden,
            (None, _) => {
                // Nothing left to hide behind: withhold the whole table.
                for s in shown.iter_mut().filter(|s| !matches!(s, Shown::Small)) {
                    *s = Shown::Hidden;
                }
                return (shown, Shown::Hidden);
            }
        }
    }
    (shown, total_shown)
}

/// The quarterly report as an aggregate-only role may see it: each measure
/// (not executed, executed late) is one table of cells adding up to its
/// total, suppressed on its own. Fills the `*_display` fields and clears the
/// numbers of hidden figures.
pub fn suppress_quarterly_report(report: &mut QuarterlyReport) {
    let none = vec![false; report.rows.len()];
    apply_quarterly(report, (&none, false), (&none, false));
}

/// The national sum of regional reports (`parts`, raw) as an aggregate-only
/// role may see it, when each region's own report is also shown to that
/// role: a national figure is hidden from the start wherever a region hides
/// the figure it adds (else national minus the regions shown would give the
/// hidden one away), then suppressed as one table as above.
pub fn suppress_quarterly_report_over(report: &mut QuarterlyReport, parts: &[QuarterlyReport]) {
    let key = |r: &samling_proto::registry::v1::QuarterlyReportRow| (r.sex, r.reason);
    let mut hide_ne = vec![false; report.rows.len()];
    let mut hide_el = vec![false; report.rows.len()];
    let (mut hide_ne_total, mut hide_el_total) = (false, false);
    let hidden = |s: &Shown| !matches!(s, Shown::Count(_));
    for part in parts {
        let none = vec![false; part.rows.len()];
        let ((ne, ne_total), (el, el_total)) =
            suppress_columns(part, (&none, false), (&none, false));
        for (row, (ne, el)) in part.rows.iter().zip(ne.iter().zip(&el)) {
            if let Some(i) = report.rows.iter().position(|r| key(r) == key(row)) {
                hide_ne[i] |= hidden(ne);
                hide_el[i] |= hidden(el);
            }
        }
        hide_ne_total |= hidden(&ne_total);
        hide_el_total |= hidden(&el_total);
    }
    apply_quarterly(report, (&hide_ne, hide_ne_total), (&hide_el, hide_el_total));
}

/// One measure's cells and total, as shown.
type Column = (Vec<Shown>, Shown);

/// Both measures of a report (not executed, executed late), each one table
/// suppressed on its own with the figures `hide` says to hide from the start.
fn suppress_columns(
    report: &QuarterlyReport,
    (hide_ne, hide_ne_total): (&[bool], bool),
    (hide_el, hide_el_total): (&[bool], bool),
) -> (Column, Column) {
    let not_executed: Vec<u32> = report.rows.iter().map(|r| r.not_executed).collect();
    let late: Vec<u32> = report.rows.iter().map(|r| r.executed_late).collect();
    (
        suppress_with(
            &not_executed,
            report.total_not_executed,
            hide_ne,
            hide_ne_total,
        ),
        suppress_with(&late, report.total_executed_late, hide_el, hide_el_total),
    )
}

fn apply_quarterly(
    report: &mut QuarterlyReport,
    hide_ne: (&[bool], bool),
    hide_el: (&[bool], bool),
) {
    let ((ne, ne_total), (el, el_total)) = suppress_columns(report, hide_ne, hide_el);
    for ((row, ne), el) in report.rows.iter_mut().zip(ne).zip(el) {
        row.not_executed = ne.number();
        row.not_executed_display = ne.display();
        row.executed_late = el.number();
        row.executed_late_display = el.display();
    }
    report.total_not_executed = ne_total.number();
    report.total_not_executed_display = ne_total.display();
    report.total_executed_late = el_total.number();
    report.total_executed_late_display = el_total.display();
    report.small_counts_suppressed = true;
}

/// The quarterly report with every figure shown (callers allowed raw
/// counts): the `*_display` fields are the numbers.
pub fn show_quarterly_report(report: &mut QuarterlyReport) {
    for row in &mut report.rows {
        row.not_executed_display = row.not_executed.to_string();
        row.executed_late_display = row.executed_late.to_string();
    }
    report.total_not_executed_display = report.total_not_executed.to_string();
    report.total_executed_late_display = report.total_executed_late.to_string();
    report.small_counts_suppressed = false;
}

/// A line of a grid: its members and its total, as (row, column).
type Line = (Vec<(usize, usize)>, (usize, usize));

/// A table of counts in two directions (ADR 0050): rows that may end in a
/// total row (`total_row`, the column sums) and columns that may end in a
/// total column (`total_col`, the row sums). Each column with a total row,
/// and each row with a total column, is one line whose cells add up to its
/// total; every line is suppressed as [`suppress_with`] does, with what the
/// other lines hid, until no line hides more. `hide` marks figures hidden
/// from the start (a national figure whose regional part is hidden).
pub fn suppress_grid(
    cells: &[Vec<u32>],
    total_row: Option<usize>,
    total_col: Option<usize>,
    hide: &[Vec<bool>],
) -> Vec<Vec<Shown>> {
    let small = |n: u32| (1..THRESHOLD).contains(&n);
    let hidden_at = |r: usize, c: usize| hide.get(r).and_then(|h| h.get(c)).copied() == Some(true);
    let mut shown: Vec<Vec<Shown>> = cells
        .iter()
        .enumerate()
        .map(|(r, row)| {
            row.iter()
                .enumerate()
                .map(|(c, &n)| {
                    if small(n) {
                        Shown::Small
                    } else if hidden_at(r, c) && n > 0 {
                        Shown::Hidden
                    } else {
                        Shown::Count(n)
                    }
                })
                .collect()
        })
        .collect();
    let width = cells.iter().map(Vec::len).max().unwrap_or(0);
    // Each line: its members and its total, as (row, column).
    let mut lines: Vec<Line> = Vec::new();
    if let Some(tr) = total_row {
        for c in 0..width {
            let members = (0..cells.len())
                .filter(|&r| r != tr && c < cells[r].len())
                .map(|r| (r, c))
                .collect();
            if c < cells[tr].len() {
                lines.push((members, (tr, c)));
            }
        }
    }
    if let Some(tc) = total_col {
        for (r, row) in cells.iter().enumerate() {
            if tc < row.len() {
                let members = (0..row.len())
                    .filter(|&c| c != tc)
                    .map(|c| (r, c))
                    .collect();
                lines.push((members, (r, tc)));
            }
        }
    }
    let is_hidden = |s: Shown| !matches!(s, Shown::Count(_));
    loop {
        let mut changed = false;
        for (members, (tr, tc)) in &lines {
            let values: Vec<u32> = members.iter().map(|&(r, c)| cells[r][c]).collect();
            let hid: Vec<bool> = members
                .iter()
                .map(|&(r, c)| is_hidden(shown[r][c]))
                .collect();
            let (s, t) = suppress_with(&values, cells[*tr][*tc], &hid, is_hidden(shown[*tr][*tc]));
            for (&(r, c), new) in members
                .iter()
                .zip(s)
                .chain(std::iter::once((&(*tr, *tc), t)))
            {
                if !is_hidden(shown[r][c]) && is_hidden(new) {
                    shown[r][c] = new;
                    changed = true;
                }
            }
        }
        if !changed {
            return shown;
        }
    }
}

/// Where a statistics table's totals are: the row marked `total` and the
/// column whose id is `total`.
fn totals_of(t: &StatTable) -> (Option<usize>, Option<usize>) {
    (
        t.rows.iter().position(|r| r.total),
        t.columns.iter().position(|c| c.id == "total"),
    )
}

fn count_of(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

/// The grid of a counts table as shown (each part's hidden figures hidden
/// from the start, by row key and column id).
fn shown_grid(t: &StatTable, parts: &[&StatTable]) -> Vec<Vec<Shown>> {
    let cells: Vec<Vec<u32>> = t
        .rows
        .iter()
        .map(|r| r.cells.iter().map(|c| count_of(c.value)).collect())
        .collect();
    let mut hide: Vec<Vec<bool>> = cells.iter().map(|r| vec![false; r.len()]).collect();
    for part in parts {
        let grid = shown_grid(part, &[]);
        for (pr, prow) in part.rows.iter().zip(&grid) {
            let Some(r) = t.rows.iter().position(|r| r.key == pr.key) else {
                continue;
            };
            for (pc, s) in part.columns.iter().zip(prow) {
                if let Some(c) = t.columns.iter().position(|c| c.id == pc.id)
                    && c < hide[r].len()
                    && !matches!(s, Shown::Count(_))
                {
                    hide[r][c] = true;
                }
            }
        }
    }
    let (tr, tc) = totals_of(t);
    suppress_grid(&cells, tr, tc, &hide)
}

/// Is a ratio (unit "procent" or "dagar") too thin to show? Fewer than
/// [`THRESHOLD`] in its base; for a share, also 1–4 in it or outside it
/// (a share of a shown base gives those counts away).
pub fn ratio_hidden(unit: &str, numerator: i64, denominator: i64) -> bool {
    let small = |n: i64| (1..i64::from(THRESHOLD)).contains(&n);
    denominator < i64::from(THRESHOLD)
        || (unit == "procent" && (small(numerator) || small(denominator - numerator)))
}

/// A statistics table as an aggregate-only role may see it (ADR 0050).
/// Counts: 1–4 "<5", complementary ".." along rows and columns with
/// totals (see [`suppress_grid`]); with `parts` (the regions a national
/// table adds up, each also shown to the role) a figure is hidden from the
/// start wherever a part hides its share. Ratios: ".." when thin
/// ([`ratio_hidden`]). Other tables ("kr") as they are. A hidden figure's
/// value is 0; a ratio's parts never leave.
pub fn suppress_stat_table(t: &mut StatTable, parts: &[&StatTable]) {
    if t.counts {
        let grid = shown_grid(t, parts);
        for (row, shown) in t.rows.iter_mut().zip(grid) {
            for (cell, s) in row.cells.iter_mut().zip(shown) {
                cell.value = i64::from(s.number());
                cell.display = s.display();
                cell.suppressed = !matches!(s, Shown::Count(_));
            }
        }
    } else {
        let unit = t.unit.clone();
        for cell in t.rows.iter_mut().flat_map(|r| r.cells.iter_mut()) {
            let ratio = cell.denominator != 0 || unit == "procent" || unit == "dagar";
            if ratio && ratio_hidden(&unit, cell.numerator, cell.denominator) {
                cell.value = 0;
                cell.display = HIDDEN.into();
                cell.suppressed = true;
            } else {
                cell.display = cell.value.to_string();
                cell.suppressed = false;
            }
        }
    }
    for cell in t.rows.iter_mut().flat_map(|r| r.cells.iter_mut()) {
        cell.numerator = 0;
        cell.denominator = 0;
    }
}

/// A statistics table with every figure shown (the office, services): the
/// display is the number; a ratio with no base is "..".
pub fn show_stat_table(t: &mut StatTable) {
    let unit = t.unit.clone();
    for cell in t.rows.iter_mut().flat_map(|r| r.cells.iter_mut()) {
        let ratio = unit == "procent" || unit == "dagar";
        if ratio && cell.denominator == 0 {
            cell.display = HIDDEN.into();
            cell.suppressed = true;
        } else {
            cell.display = cell.value.to_string();
            cell.suppressed = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Shown::*;

    /// Brute force over every table a reader would find consistent with
    /// what is shown (hidden cells up to `cap`): is some hidden cell the same
    /// in all of them? Checks `derivable` independently on small tables.
    fn attacker_can_derive(cells: &[u32], shown: &[Shown], total: u32, t: Shown) -> bool {
        let cap = 30u32;
        let opts = |c: u32, s: Shown| -> Vec<u32> {
            match s {
                Count(_) => vec![c],
                Small => (1..THRESHOLD).collect(),
                Hidden => (THRESHOLD..=cap).collect(),
            }
        };
        let choices: Vec<Vec<u32>> = cells.iter().zip(shown).map(|(&c, &s)| opts(c, s)).collect();
        let total_ok = |sum: u32| match t {
            Count(_) => sum == total,
            Small => (1..THRESHOLD).contains(&sum),
            Hidden => sum >= THRESHOLD,
        };
        let mut seen: Vec<std::collections::BTreeSet<u32>> = vec![Default::default(); cells.len()];
        let mut pick = vec![0usize; cells.len()];
        loop {
            let table: Vec<u32> = pick.iter().zip(&choices).map(|(&i, c)| c[i]).collect();
            if total_ok(table.iter().sum()) {
                for (k, v) in table.iter().enumerate() {
                    seen[k].insert(*v);
                }
            }
            let mut k = 0;
            loop {
                if k == pick.len() {
                    return shown
                        .iter()
                        .zip(&seen)
                        .any(|(s, set)| !matches!(s, Count(_)) && set.len() == 1);
                }
                pick[k] += 1;
                if pick[k] < choices[k].len() {
                    break;
                }
                pick[k] = 0;
                k += 1;
            }
        }
    }

    #[test]
    fn the_interval_check_agrees_with_brute_force_and_suppression_leaves_nothing_derivable() {
        let tables: &[&[u32]] = &[
            &[1, 0, 7, 9, 6],
            &[1, 1, 10, 12],
            &[2, 3, 10, 12],
            &[4, 4],
            &[3, 0],
            &[1, 1, 1],
            &[4, 5, 5],
            &[1, 6, 7],
            &[2, 2, 5, 9],
            &[0, 0, 1],
            &[4, 4, 4, 5],
        ];
        for cells in tables {
            let total: u32 = cells.iter().sum();
            let (s, t) = suppress(cells, total);
            assert!(
                !attacker_can_derive(cells, &s, total, t),
                "{cells:?} → {s:?} {t:?}"
            );
            // Before the complementary step the check and brute force agree.
            let primary: Vec<Shown> = cells
                .iter()
                .map(|&c| {
                    if (1..THRESHOLD).contains(&c) {
                        Small
                    } else {
                        Count(c)
                    }
                })
                .collect();
            let pt = if (1..THRESHOLD).contains(&total) {
                Small
            } else {
                Count(total)
            };
            assert_eq!(
                derivable(cells, &primary, total, pt),
                attacker_can_derive(cells, &primary, total, pt),
                "{cells:?}"
            );
        }
    }

    #[test]
    fn counts_below_five_are_shown_as_small() {
        let (s, t) = suppress(&[1, 0, 7, 9, 6], 23);
        assert_eq!(s[0], Small);
        assert_eq!(s[1], Count(0));
        // One small cell alone would be total − the rest: the next smallest
        // (6) is hidden too.
        assert_eq!(s[4], Hidden);
        assert_eq!((s[2], s[3], t), (Count(7), Count(9), Count(23)));
        assert!(!attacker_can_derive(&[1, 0, 7, 9, 6], &s, 23, t));
    }

    #[test]
    fn a_lone_small_cell_is_never_total_minus_the_rest() {
        for cells in [vec![3, 10], vec![4, 5, 5], vec![2, 20, 30, 40]] {
            let total = cells.iter().sum();
            let (s, t) = suppress(&cells, total);
            let shown_sum: u32 = s.iter().map(|x| x.number()).sum();
            if let Count(t) = t {
                // The shown cells do not reveal the small one by difference.
                assert!(
                    s.iter().filter(|x| !matches!(x, Count(_))).count() >= 2,
                    "{cells:?} → {s:?}"
                );
                assert!(t - shown_sum > THRESHOLD, "{cells:?} → {s:?}");
            }
            assert!(!derivable(&cells, &s, total, t), "{cells:?} → {s:?} {t:?}");
        }
    }

    #[test]
    fn two_small_cells_whose_sum_pins_them_hide_more() {
        // 1 + 1 = total − shown: both would be known to be 1.
        let cells = [1, 1, 10, 12];
        let (s, t) = suppress(&cells, 24);
        assert_eq!((s[0], s[1]), (Small, Small));
        assert_eq!(s[2], Hidden, "{s:?}");
        assert!(!derivable(&cells, &s, 24, t));
        // 2 + 3: not pinned (1+4, 2+3, 3+2, 4+1), nothing more hidden.
        let cells = [2, 3, 10, 12];
        let (s, t) = suppress(&cells, 27);
        assert_eq!(s, vec![Small, Small, Count(10), Count(12)]);
        assert_eq!(t, Count(27));
    }

    #[test]
    fn with_nothing_left_to_hide_the_total_goes() {
        let (s, t) = suppress(&[3, 0], 3);
        assert_eq!((s[0], t), (Small, Small));
        let (s, t) = suppress(&[4, 4], 8);
        assert_eq!(s, vec![Small, Small]);
        assert_eq!(t, Hidden);
        // Four ones under a small total: each would be known to be 1.
        let cells = [1, 1, 1, 1];
        let (s, t) = suppress(&cells, 4);
        assert!(!derivable(&cells, &s, 4, t), "{s:?} {t:?}");
    }

    #[test]
    fn a_national_figure_is_hidden_where_a_region_hides_the_part_it_adds() {
        use samling_proto::registry::v1::QuarterlyReportRow;
        let report = |girls: u32, boys: u32| QuarterlyReport {
            rows: vec![
                QuarterlyReportRow {
                    sex: 1,
                    reason: 1,
                    not_executed: girls,
                    ..Default::default()
                },
                QuarterlyReportRow {
                    sex: 2,
                    reason: 1,
                    not_executed: boys,
                    ..Default::default()
                },
            ],
            total_not_executed: girls + boys,
            ..Default::default()
        };
        // Region A: 3 girls (small), 20 boys; region B: 10 girls, 20 boys.
        let (a, b) = (report(3, 20), report(10, 20));
        let mut national = report(13, 40);
        suppress_quarterly_report_over(&mut national, &[a.clone(), b.clone()]);
        // Shown alone, 13 girls minus B's 10 would give A's 3 away.
        let girls = &national.rows[0];
        assert_ne!(girls.not_executed_display, "13", "{national:?}");
        assert_eq!(girls.not_executed, 0);
        // Whatever is still shown nationally cannot pin A's hidden count:
        // every national figure shown is one no region hides.
        let mut seen_a = a;
        suppress_quarterly_report(&mut seen_a);
        for (n, r) in national.rows.iter().zip(&seen_a.rows) {
            if n.not_executed_display.parse::<u32>().is_ok() {
                assert!(
                    r.not_executed_display.parse::<u32>().is_ok(),
                    "{national:?} {seen_a:?}"
                );
            }
        }
        // Within the national table nothing is derivable either.
        let shown: Vec<Shown> = national
            .rows
            .iter()
            .map(|r| match r.not_executed_display.as_str() {
                SMALL => Small,
                HIDDEN => Hidden,
                d => Count(d.parse().unwrap()),
            })
            .collect();
        let total = match national.total_not_executed_display.as_str() {
            SMALL => Small,
            HIDDEN => Hidden,
            d => Count(d.parse().unwrap()),
        };
        assert!(!derivable(&[13, 40], &shown, 53, total), "{national:?}");
    }

    #[test]
    fn large_counts_are_untouched() {
        let (s, t) = suppress(&[5, 0, 12], 17);
        assert_eq!(s, vec![Count(5), Count(0), Count(12)]);
        assert_eq!(t, Count(17));
    }

    #[test]
    fn the_report_never_carries_a_hidden_number() {
        use samling_proto::registry::v1::QuarterlyReportRow;
        let mut r = QuarterlyReport {
            rows: vec![
                QuarterlyReportRow {
                    not_executed: 1,
                    executed_late: 6,
                    ..Default::default()
                },
                QuarterlyReportRow {
                    not_executed: 8,
                    executed_late: 0,
                    ..Default::default()
                },
            ],
            total_not_executed: 9,
            total_executed_late: 6,
            ..Default::default()
        };
        suppress_quarterly_report(&mut r);
        assert!(r.small_counts_suppressed);
        assert_eq!(r.rows[0].not_executed_display, "<5");
        assert_eq!(r.rows[0].not_executed, 0);
        // 9 − 8 would give the 1 away: the 8 is hidden too.
        assert_eq!(r.rows[1].not_executed_display, "..");
        assert_eq!(r.rows[1].not_executed, 0);
        assert_eq!(r.total_not_executed, 9);
        assert_eq!(r.rows[0].executed_late_display, "6");
        assert_eq!(r.total_executed_late_display, "6");
    }

    /// Brute force over every grid a reader would find consistent with what
    /// is shown of a table with a total row and a total column: hidden
    /// cells range over 1–4 ("<5") or 5..=cap (".."), and every row and
    /// column must add up to its total. Is some hidden figure the same in
    /// every consistent grid (derived)?
    fn grid_attacker_can_derive(cells: &[Vec<u32>], shown: &[Vec<Shown>]) -> bool {
        let cap = 40u32;
        let rows = cells.len();
        let cols = cells[0].len();
        let (tr, tc) = (rows - 1, cols - 1);
        let unknowns: Vec<(usize, usize)> = (0..rows)
            .flat_map(|r| (0..cols).map(move |c| (r, c)))
            .filter(|&(r, c)| !matches!(shown[r][c], Count(_)))
            .collect();
        let opts: Vec<Vec<u32>> = unknowns
            .iter()
            .map(|&(r, c)| match shown[r][c] {
                Small => (1..THRESHOLD).collect(),
                _ => (THRESHOLD..=cap).collect(),
            })
            .collect();
        let mut seen: Vec<std::collections::BTreeSet<u32>> =
            vec![Default::default(); unknowns.len()];
        let mut grid: Vec<Vec<u32>> = cells.to_vec();
        let mut pick = vec![0usize; unknowns.len()];
        loop {
            for (k, &(r, c)) in unknowns.iter().enumerate() {
                grid[r][c] = opts[k][pick[k]];
            }
            let rows_ok = (0..rows).all(|r| {
                (0..cols)
                    .filter(|&c| c != tc)
                    .map(|c| grid[r][c])
                    .sum::<u32>()
                    == grid[r][tc]
            });
            let cols_ok = (0..cols).all(|c| {
                (0..rows)
                    .filter(|&r| r != tr)
                    .map(|r| grid[r][c])
                    .sum::<u32>()
                    == grid[tr][c]
            });
            if rows_ok && cols_ok {
                for (k, &(r, c)) in unknowns.iter().enumerate() {
                    seen[k].insert(grid[r][c]);
                }
            }
            let mut k = 0;
            loop {
                if k == pick.len() {
                    return seen.iter().any(|s| s.len() == 1);
                }
                pick[k] += 1;
                if pick[k] < opts[k].len() {
                    break;
                }
                pick[k] = 0;
                k += 1;
            }
        }
    }

    /// A grid of `inner` cells with its row sums, column sums and total.
    fn with_totals(inner: &[&[u32]]) -> Vec<Vec<u32>> {
        let mut g: Vec<Vec<u32>> = inner
            .iter()
            .map(|r| {
                let mut v = r.to_vec();
                v.push(r.iter().sum());
                v
            })
            .collect();
        let width = g[0].len();
        g.push((0..width).map(|c| g.iter().map(|r| r[c]).sum()).collect());
        g
    }

    #[test]
    fn a_suppressed_cell_cannot_be_derived_from_row_and_column_totals() {
        let tables: &[&[&[u32]]] = &[
            &[&[1, 10], &[12, 30]],
            &[&[3, 9, 8], &[7, 0, 11]],
            &[&[2, 15], &[20, 1]],
            &[&[0, 4], &[6, 9], &[13, 12]],
            &[&[1, 1], &[9, 10]],
        ];
        for inner in tables {
            let cells = with_totals(inner);
            let (tr, tc) = (cells.len() - 1, cells[0].len() - 1);
            let shown = suppress_grid(&cells, Some(tr), Some(tc), &[]);
            // Every count of 1–4 is "<5".
            for (row, srow) in cells.iter().zip(&shown) {
                for (&n, s) in row.iter().zip(srow) {
                    if (1..THRESHOLD).contains(&n) {
                        assert_eq!(*s, Small, "{inner:?}");
                    }
                }
            }
            // Knowing the shown cells and that rows and columns add up, the
            // reader cannot pin any hidden one.
            assert!(
                !grid_attacker_can_derive(&cells, &shown),
                "{inner:?} → {shown:?}"
            );
        }
        // The attacker does find a primary suppression alone: one "<5" in a
        // 2×2 table with every total shown is the total minus the rest.
        let cells = with_totals(&[&[1, 10], &[12, 30]]);
        let mut primary: Vec<Vec<Shown>> = cells
            .iter()
            .map(|r| r.iter().map(|&n| Count(n)).collect())
            .collect();
        primary[0][0] = Small;
        assert!(grid_attacker_can_derive(&cells, &primary));
    }

    #[test]
    fn a_national_table_hides_what_a_region_hides() {
        use samling_proto::statistics::v1::{StatCell, StatColumn, StatRow};
        let table = |a: i64, b: i64| StatTable {
            id: "registry.x".into(),
            unit: "antal".into(),
            counts: true,
            columns: vec![StatColumn {
                id: "n".into(),
                label: "N".into(),
            }],
            rows: [
                ("girls", a, false),
                ("boys", b, false),
                ("total", a + b, true),
            ]
            .into_iter()
            .map(|(k, v, total)| StatRow {
                key: k.into(),
                label: k.into(),
                cells: vec![StatCell {
                    value: v,
                    ..Default::default()
                }],
                total,
            })
            .collect(),
            ..Default::default()
        };
        // Region A hides its 3 girls; the nation's 13 minus B's 10 would
        // give them away: the national girls are hidden too.
        let (a, b) = (table(3, 20), table(10, 20));
        let mut national = table(13, 40);
        suppress_stat_table(&mut national, &[&a, &b]);
        let girls = &national.rows[0].cells[0];
        assert!(girls.suppressed && girls.value == 0, "{national:?}");
        assert_ne!(girls.display, "13");
        // Without the regions, 13 would be shown.
        let mut alone = table(13, 40);
        suppress_stat_table(&mut alone, &[]);
        assert_eq!(alone.rows[0].cells[0].display, "13");
    }

    #[test]
    fn thin_ratios_are_hidden_and_their_parts_never_leave() {
        use samling_proto::statistics::v1::{StatCell, StatColumn, StatRow};
        let ratio = |n: i64, d: i64| StatCell {
            value: if d > 0 { 100 * n / d } else { 0 },
            numerator: n,
            denominator: d,
            ..Default::default()
        };
        let mut t = StatTable {
            id: "registry.shares".into(),
            unit: "procent".into(),
            counts: false,
            columns: vec![StatColumn {
                id: "share".into(),
                label: "Andel".into(),
            }],
            rows: [
                ratio(2, 4),
                ratio(57, 100),
                ratio(1, 40),
                ratio(39, 40),
                ratio(0, 0),
            ]
            .into_iter()
            .map(|c| StatRow {
                key: "k".into(),
                cells: vec![c],
                ..Default::default()
            })
            .collect(),
            ..Default::default()
        };
        suppress_stat_table(&mut t, &[]);
        let shown: Vec<&str> = t.rows.iter().map(|r| r.cells[0].display.as_str()).collect();
        // Base 4; 57 of 100 shown; 1 of 40 and 39 of 40 would give a count
        // of 1 away; no base.
        assert_eq!(shown, ["..", "57", "..", "..", ".."]);
        assert!(
            t.rows
                .iter()
                .flat_map(|r| &r.cells)
                .all(|c| c.numerator == 0 && c.denominator == 0)
        );
        assert!(
            t.rows
                .iter()
                .flat_map(|r| &r.cells)
                .filter(|c| c.suppressed)
                .all(|c| c.value == 0)
        );
    }
}
