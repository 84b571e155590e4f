//! Small-count suppression for figures shown to the aggregate-only roles
//! (ADR 0017): a count of 1–4 is shown as "<5", and further cells (or the
//! total) are hidden until no hidden count can be worked out exactly from
//! what is shown. One implementation for the register (a region's report)
//! and the gateway (the national sum, suppressed after adding up).

use samling_proto::registry::v1::QuarterlyReport;

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
}
