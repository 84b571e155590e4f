//! Deadlines and alerts (issue 22 §6, ADR 0042): a child's deadline items
//! computed from what the portfolio knows, for a given day (no clock here).
//!
//! * the health examination at care start — physical, psychological and
//!   oral, each its own item (lag 2017:209, HSLF-FS 2019:55; seed 003
//!   ≈7424–7440): due `health_exam_days` after care start, met once the
//!   health section records that kind examined on or after
//!   (care start − `health_exam_days`);
//! * the six-monthly review (övervägande/omprövning at least every six
//!   months; seed 003 ≈8074): due `review_months` after the latest review
//!   held in this care (a `CARE_REVIEW` document's date), or after care
//!   start; recurring, so never `met`;
//! * custody consideration (6 kap. 8 § SoL, 13 c § LVU; seed 003
//!   ≈9050–9056): due when the child has lived `custody_years` in the same
//!   family home (consecutive placements in one home count as one stay; a
//!   move starts again); met by a `CUSTODY_CONSIDERATION` document dated
//!   from `lead_days` before the due date;
//! * care end: the 18th birthday (`care_end_age`; the 21st for care under
//!   LVU 3 §, `care_end_age_lvu_3`); met once care has ended, overdue while
//!   the child is still placed after it;
//! * aftercare (seed 003 ≈8988–9000, 9290–9300): from the end of care to
//!   the 25th birthday (`aftercare_until_age`) for a care that ended at
//!   `aftercare_from_care_end_age` or later; upcoming while in care, due
//!   while it runs, met from the 25th birthday.
//!
//! * the rights the ombud follows up (issue 23 §6, ADR 0042): a dental
//!   visit (`dental_months` after the last, or `dental_days` after care
//!   start when none is recorded; recurring), the first BUP appointment
//!   (`bup_wait_days` after the oldest referral still waiting; met when
//!   every BUP referral of the care has had one), the school (`school_days`
//!   after the child moved in where it lives; met when the school section
//!   names a school unit, written since then), the care plan and the
//!   implementation plan (`care_plan_days` / `implementation_plan_days`
//!   after care start; met by a document of that kind dated in this care).
//!
//! An item is `overdue` after its due date, `due` from `lead_days` before
//! it through the day itself, `upcoming` before that. Care is the latest
//! run of placements without a gap; the items of the care period (health,
//! review, custody) are computed only while the child is in care.

use crate::config::DeadlineConfig;
use chrono::{Months, NaiveDate};

/// The item codes (the event contract, docs/portfolio.md).
pub const HEALTH_PHYSICAL: &str = "health_examination_physical";
pub const HEALTH_PSYCHOLOGICAL: &str = "health_examination_psychological";
pub const HEALTH_ORAL: &str = "health_examination_oral";
pub const SIX_MONTH_REVIEW: &str = "six_month_review";
pub const CUSTODY_CONSIDERATION: &str = "custody_consideration";
pub const CARE_END: &str = "care_end";
pub const AFTERCARE: &str = "aftercare";
pub const DENTAL: &str = "dental";
pub const BUP_REFERRAL: &str = "bup_referral";
pub const SCHOOL_PLACEMENT: &str = "school_placement";
pub const CARE_PLAN: &str = "care_plan";
pub const IMPLEMENTATION_PLAN: &str = "implementation_plan";

pub const ITEMS: [&str; 12] = [
    HEALTH_PHYSICAL,
    HEALTH_PSYCHOLOGICAL,
    HEALTH_ORAL,
    SIX_MONTH_REVIEW,
    CUSTODY_CONSIDERATION,
    CARE_END,
    AFTERCARE,
    DENTAL,
    BUP_REFERRAL,
    SCHOOL_PLACEMENT,
    CARE_PLAN,
    IMPLEMENTATION_PLAN,
];

/// The registry's legal basis whose care ends at 21 (LVU 21 §).
pub const LVU_3: &str = "LEGAL_BASIS_LVU_3";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Upcoming,
    Due,
    Overdue,
    Met,
}

impl State {
    pub const ALL: [State; 4] = [State::Upcoming, State::Due, State::Overdue, State::Met];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Upcoming => "upcoming",
            State::Due => "due",
            State::Overdue => "overdue",
            State::Met => "met",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One placement as the registry's feed recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Empty for a unit (HVB): not a family home.
    pub home_id: String,
    pub starts_on: NaiveDate,
    /// The first day the child no longer lives there.
    pub ends_on: Option<NaiveDate>,
    /// The registry's legal basis (`LEGAL_BASIS_…`), empty when unknown.
    pub legal_basis: String,
}

/// What the portfolio knows of a child.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub birth_date: Option<NaiveDate>,
    pub placements: Vec<Placement>,
    /// The health section's examination: its date and the kinds done.
    pub examined_on: Option<NaiveDate>,
    pub physical: bool,
    pub psychological: bool,
    pub oral: bool,
    /// The dates of the reviews held (`CARE_REVIEW` documents).
    pub reviews: Vec<NaiveDate>,
    /// The dates custody was considered (`CUSTODY_CONSIDERATION` documents).
    pub custody_considerations: Vec<NaiveDate>,
    /// The dental section's last visit.
    pub dental_last_visit: Option<NaiveDate>,
    /// The BUP referrals: referred on, first appointment on (None: waiting).
    pub bup_referrals: Vec<(NaiveDate, Option<NaiveDate>)>,
    /// The day the school section last named a school unit (None: no school).
    pub school_recorded_on: Option<NaiveDate>,
    /// The dates of the care plans and implementation plans (documents).
    pub care_plans: Vec<NaiveDate>,
    pub implementation_plans: Vec<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub code: &'static str,
    pub due_on: NaiveDate,
    pub state: State,
}

/// The child's care as of a day: the latest run of placements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Care {
    pub started_on: NaiveDate,
    /// The day care ended (the last placement's end), when it has.
    pub ended_on: Option<NaiveDate>,
    /// The legal basis of the latest placement.
    pub legal_basis: String,
    /// The family home the child lives in that day and since when without
    /// a move (consecutive placements in the home count as one stay).
    pub home: Option<(String, NaiveDate)>,
}

fn plus_years(d: NaiveDate, years: u32) -> NaiveDate {
    d.checked_add_months(Months::new(years * 12))
        .unwrap_or(NaiveDate::MAX)
}

fn minus_days(d: NaiveDate, days: u32) -> NaiveDate {
    d.checked_sub_days(chrono::Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MIN)
}

fn plus_days(d: NaiveDate, days: u32) -> NaiveDate {
    d.checked_add_days(chrono::Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MAX)
}

/// The state of a deadline not met: by the day.
pub fn by_date(due_on: NaiveDate, today: NaiveDate, lead_days: u32) -> State {
    if today > due_on {
        State::Overdue
    } else if today >= minus_days(due_on, lead_days) {
        State::Due
    } else {
        State::Upcoming
    }
}

/// The child's care on `today` (placements started by then), or `None`
/// when it has never been placed.
pub fn care_on(placements: &[Placement], today: NaiveDate) -> Option<Care> {
    let mut started: Vec<&Placement> = placements.iter().filter(|p| p.starts_on <= today).collect();
    started.sort_by_key(|p| (p.starts_on, p.ends_on.is_none(), p.ends_on));
    let first = started.first()?;
    let mut care = Care {
        started_on: first.starts_on,
        ended_on: first.ends_on,
        legal_basis: first.legal_basis.clone(),
        home: None,
    };
    // `open`: the care's end so far (None: a placement without an end).
    let mut open = first.ends_on;
    for p in &started[1..] {
        if let Some(end) = open
            && p.starts_on > end
        {
            // A gap: a new care.
            care.started_on = p.starts_on;
            open = p.ends_on;
        } else {
            open = match (open, p.ends_on) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
        }
        care.legal_basis = p.legal_basis.clone();
    }
    care.ended_on = open.filter(|end| *end <= today);
    if care.legal_basis.is_empty() {
        care.legal_basis = started
            .iter()
            .rev()
            .find(|p| !p.legal_basis.is_empty())
            .map(|p| p.legal_basis.clone())
            .unwrap_or_default();
    }
    // The home the child lives in today, and since when without a move.
    let active = |p: &&Placement| p.starts_on <= today && p.ends_on.is_none_or(|e| today < e);
    if let Some(now) = started
        .iter()
        .rev()
        .find(|p| active(p) && !p.home_id.is_empty())
    {
        let mut since = now.starts_on;
        // Walk back through placements in the same home that reach the stay.
        loop {
            let earlier = started.iter().find(|p| {
                p.home_id == now.home_id
                    && p.starts_on < since
                    && p.ends_on.is_none_or(|e| e >= since)
            });
            match earlier {
                Some(p) => since = p.starts_on,
                None => break,
            }
        }
        care.home = Some((now.home_id.clone(), since));
    }
    Some(care)
}

/// The age care ends at for this care's legal basis.
pub fn care_end_age(care: &Care, c: &DeadlineConfig) -> u32 {
    if care.legal_basis == LVU_3 {
        c.care_end_age_lvu_3
    } else {
        c.care_end_age
    }
}

/// The 25th birthday (aftercare's end), when the birth date is known.
pub fn aftercare_until(birth: NaiveDate, c: &DeadlineConfig) -> NaiveDate {
    plus_years(birth, c.aftercare_until_age)
}

/// Every deadline item of a child on `today` (none when never placed).
pub fn items(f: &Facts, c: &DeadlineConfig, today: NaiveDate) -> Vec<Item> {
    let Some(care) = care_on(&f.placements, today) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let lead = c.lead_days;
    if care.ended_on.is_none() {
        // The health examination at care start, one item per kind.
        let due = plus_days(care.started_on, c.health_exam_days);
        let counts = f
            .examined_on
            .is_some_and(|d| d >= minus_days(care.started_on, c.health_exam_days));
        for (code, done) in [
            (HEALTH_PHYSICAL, f.physical),
            (HEALTH_PSYCHOLOGICAL, f.psychological),
            (HEALTH_ORAL, f.oral),
        ] {
            let state = if done && counts {
                State::Met
            } else {
                by_date(due, today, lead)
            };
            out.push(Item {
                code,
                due_on: due,
                state,
            });
        }
        // The six-monthly review: from the latest review of this care.
        let last = f
            .reviews
            .iter()
            .filter(|d| **d >= care.started_on && **d <= today)
            .max()
            .copied()
            .unwrap_or(care.started_on);
        let due = last
            .checked_add_months(Months::new(c.review_months))
            .unwrap_or(NaiveDate::MAX);
        out.push(Item {
            code: SIX_MONTH_REVIEW,
            due_on: due,
            state: by_date(due, today, lead),
        });
        rights_items(f, c, &care, today, &mut out);
        // Custody after two years in the same family home.
        if let Some((_, since)) = &care.home {
            let due = plus_years(*since, c.custody_years);
            let considered = f
                .custody_considerations
                .iter()
                .any(|d| *d >= minus_days(due, lead).max(*since) && *d <= today);
            out.push(Item {
                code: CUSTODY_CONSIDERATION,
                due_on: due,
                state: if considered {
                    State::Met
                } else {
                    by_date(due, today, lead)
                },
            });
        }
    }
    let Some(birth) = f.birth_date else {
        return out;
    };
    let end_age = care_end_age(&care, c);
    let age_end = plus_years(birth, end_age);
    out.push(Item {
        code: CARE_END,
        due_on: age_end,
        state: if care.ended_on.is_some() {
            State::Met
        } else {
            by_date(age_end, today, lead)
        },
    });
    let until = aftercare_until(birth, c);
    let from_age = plus_years(birth, c.aftercare_from_care_end_age);
    let state = match care.ended_on {
        None => Some(State::Upcoming),
        // Care ended before the aftercare age: a return home.
        Some(end) if end < from_age => None,
        Some(_) if today >= until => Some(State::Met),
        Some(_) => Some(State::Due),
    };
    if let Some(state) = state {
        out.push(Item {
            code: AFTERCARE,
            due_on: until,
            state,
        });
    }
    out
}

/// The items of the rights the ombud follows up, while the child is in care.
fn rights_items(f: &Facts, c: &DeadlineConfig, care: &Care, today: NaiveDate, out: &mut Vec<Item>) {
    let lead = c.lead_days;
    let start = care.started_on;
    // Dental: recurring from the last visit (or from care start).
    let due = match f.dental_last_visit.filter(|d| *d <= today) {
        Some(last) => last
            .checked_add_months(Months::new(c.dental_months))
            .unwrap_or(NaiveDate::MAX),
        None => plus_days(start, c.dental_days),
    };
    out.push(Item {
        code: DENTAL,
        due_on: due,
        state: by_date(due, today, lead),
    });
    // BUP: the oldest referral of this care still waiting; met when none waits.
    let of_care: Vec<_> = f
        .bup_referrals
        .iter()
        .filter(|(on, _)| *on >= start && *on <= today)
        .collect();
    let waiting = of_care
        .iter()
        .filter(|(_, first)| first.is_none_or(|d| d > today))
        .map(|(on, _)| *on)
        .min();
    if let Some(on) = waiting {
        let due = plus_days(on, c.bup_wait_days);
        out.push(Item {
            code: BUP_REFERRAL,
            due_on: due,
            state: by_date(due, today, lead.min(c.bup_wait_days)),
        });
    } else if let Some(on) = of_care.iter().map(|(on, _)| *on).max() {
        out.push(Item {
            code: BUP_REFERRAL,
            due_on: plus_days(on, c.bup_wait_days),
            state: State::Met,
        });
    }
    // School: where the child lives now (a move starts it again).
    let moved_in = care.home.as_ref().map_or(start, |(_, since)| *since);
    let due = plus_days(moved_in, c.school_days);
    let school = f
        .school_recorded_on
        .is_some_and(|d| d >= minus_days(moved_in, c.school_days) && d <= today);
    out.push(Item {
        code: SCHOOL_PLACEMENT,
        due_on: due,
        state: if school {
            State::Met
        } else {
            by_date(due, today, lead.min(c.school_days))
        },
    });
    // The care plan and the implementation plan of this care.
    for (code, days, docs) in [
        (CARE_PLAN, c.care_plan_days, &f.care_plans),
        (
            IMPLEMENTATION_PLAN,
            c.implementation_plan_days,
            &f.implementation_plans,
        ),
    ] {
        let due = plus_days(start, days);
        // A plan written for this care may be dated before it starts.
        let present = docs
            .iter()
            .any(|d| *d >= minus_days(start, c.health_exam_days) && *d <= today);
        out.push(Item {
            code,
            due_on: due,
            state: if present {
                State::Met
            } else {
                by_date(due, today, lead.min(days))
            },
        });
    }
}

/// Whole years from `today` to `until` (0 when passed).
pub fn years_left(today: NaiveDate, until: NaiveDate) -> u32 {
    until.years_since(today).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn conf() -> DeadlineConfig {
        DeadlineConfig::default()
    }

    fn placed(home: &str, from: &str, until: Option<&str>) -> Placement {
        Placement {
            home_id: home.into(),
            starts_on: d(from),
            ends_on: until.map(d),
            legal_basis: "LEGAL_BASIS_SOL_VOLUNTARY".into(),
        }
    }

    /// A child born 2012-03-04, placed in home A on 2026-01-10.
    fn child() -> Facts {
        Facts {
            birth_date: Some(d("2012-03-04")),
            placements: vec![placed("A", "2026-01-10", None)],
            ..Default::default()
        }
    }

    fn item(f: &Facts, code: &str, today: &str) -> Option<Item> {
        items(f, &conf(), d(today))
            .into_iter()
            .find(|i| i.code == code)
    }

    fn state(f: &Facts, code: &str, today: &str) -> Option<State> {
        item(f, code, today).map(|i| i.state)
    }

    #[test]
    fn by_date_is_upcoming_due_from_the_lead_and_overdue_after() {
        let due = d("2026-06-30");
        assert_eq!(by_date(due, d("2026-05-30"), 30), State::Upcoming);
        assert_eq!(by_date(due, d("2026-05-31"), 30), State::Due);
        assert_eq!(by_date(due, d("2026-06-29"), 30), State::Due);
        assert_eq!(by_date(due, d("2026-06-30"), 30), State::Due);
        assert_eq!(by_date(due, d("2026-07-01"), 30), State::Overdue);
        assert_eq!(State::parse("overdue"), Some(State::Overdue));
        assert_eq!(State::parse("late"), None);
    }

    #[test]
    fn a_child_never_placed_or_placed_later_has_no_items() {
        let f = Facts {
            birth_date: Some(d("2012-03-04")),
            ..Default::default()
        };
        assert!(items(&f, &conf(), d("2026-01-10")).is_empty());
        assert!(items(&child(), &conf(), d("2026-01-09")).is_empty());
    }

    #[test]
    fn the_health_examination_is_due_at_care_start_and_overdue_after_the_window() {
        let f = child();
        let i = item(&f, HEALTH_PHYSICAL, "2026-01-10").unwrap();
        assert_eq!(i.due_on, d("2026-02-09"));
        assert_eq!(i.state, State::Due, "due from the day care starts");
        assert_eq!(state(&f, HEALTH_ORAL, "2026-02-08"), Some(State::Due));
        assert_eq!(state(&f, HEALTH_ORAL, "2026-02-09"), Some(State::Due));
        assert_eq!(state(&f, HEALTH_ORAL, "2026-02-10"), Some(State::Overdue));
        assert_eq!(
            state(&f, HEALTH_PSYCHOLOGICAL, "2026-02-10"),
            Some(State::Overdue)
        );
    }

    #[test]
    fn each_kind_of_examination_is_met_on_its_own() {
        let mut f = child();
        f.examined_on = Some(d("2026-02-20"));
        f.physical = true;
        f.oral = true;
        assert_eq!(state(&f, HEALTH_PHYSICAL, "2026-03-01"), Some(State::Met));
        assert_eq!(state(&f, HEALTH_ORAL, "2026-03-01"), Some(State::Met));
        assert_eq!(
            state(&f, HEALTH_PSYCHOLOGICAL, "2026-03-01"),
            Some(State::Overdue)
        );
    }

    #[test]
    fn an_examination_long_before_this_care_does_not_count() {
        let mut f = child();
        f.physical = true;
        // 30 days before care start counts (in connection with it); 31 not.
        f.examined_on = Some(d("2025-12-11"));
        assert_eq!(state(&f, HEALTH_PHYSICAL, "2026-01-10"), Some(State::Met));
        f.examined_on = Some(d("2025-12-10"));
        assert_eq!(state(&f, HEALTH_PHYSICAL, "2026-01-10"), Some(State::Due));
        f.examined_on = None;
        assert_eq!(state(&f, HEALTH_PHYSICAL, "2026-01-10"), Some(State::Due));
    }

    #[test]
    fn the_review_is_due_six_months_after_care_start_then_after_each_review() {
        let mut f = child();
        let i = item(&f, SIX_MONTH_REVIEW, "2026-01-10").unwrap();
        assert_eq!(i.due_on, d("2026-07-10"));
        assert_eq!(i.state, State::Upcoming);
        assert_eq!(
            state(&f, SIX_MONTH_REVIEW, "2026-06-09"),
            Some(State::Upcoming)
        );
        assert_eq!(state(&f, SIX_MONTH_REVIEW, "2026-06-10"), Some(State::Due));
        assert_eq!(state(&f, SIX_MONTH_REVIEW, "2026-07-10"), Some(State::Due));
        assert_eq!(
            state(&f, SIX_MONTH_REVIEW, "2026-07-11"),
            Some(State::Overdue)
        );
        // A review held on 20 July: the next is due six months on.
        f.reviews = vec![d("2026-07-20")];
        let i = item(&f, SIX_MONTH_REVIEW, "2026-07-20").unwrap();
        assert_eq!((i.due_on, i.state), (d("2027-01-20"), State::Upcoming));
        // The review counts only from the day it is held.
        assert_eq!(
            state(&f, SIX_MONTH_REVIEW, "2026-07-19"),
            Some(State::Overdue)
        );
        // A review of an earlier care does not count.
        f.reviews = vec![d("2025-12-01")];
        assert_eq!(
            item(&f, SIX_MONTH_REVIEW, "2026-01-10").unwrap().due_on,
            d("2026-07-10")
        );
    }

    #[test]
    fn custody_is_considered_after_two_years_in_the_same_home() {
        let mut f = child();
        let i = item(&f, CUSTODY_CONSIDERATION, "2026-01-10").unwrap();
        assert_eq!((i.due_on, i.state), (d("2028-01-10"), State::Upcoming));
        // 30 days before 10 January is 11 December.
        assert_eq!(
            state(&f, CUSTODY_CONSIDERATION, "2027-12-11"),
            Some(State::Due)
        );
        assert_eq!(
            state(&f, CUSTODY_CONSIDERATION, "2027-12-10"),
            Some(State::Upcoming)
        );
        assert_eq!(
            state(&f, CUSTODY_CONSIDERATION, "2028-01-10"),
            Some(State::Due)
        );
        assert_eq!(
            state(&f, CUSTODY_CONSIDERATION, "2028-01-11"),
            Some(State::Overdue)
        );
        // Considered in the lead window: met; long before it: not.
        f.custody_considerations = vec![d("2027-06-01")];
        assert_eq!(
            state(&f, CUSTODY_CONSIDERATION, "2028-01-11"),
            Some(State::Overdue)
        );
        f.custody_considerations = vec![d("2027-12-15")];
        assert_eq!(
            state(&f, CUSTODY_CONSIDERATION, "2028-01-11"),
            Some(State::Met)
        );
    }

    #[test]
    fn a_move_to_another_home_starts_the_two_years_again() {
        let mut f = child();
        f.placements = vec![
            placed("A", "2026-01-10", Some("2027-11-01")),
            placed("B", "2027-11-01", None),
        ];
        let i = item(&f, CUSTODY_CONSIDERATION, "2028-01-11").unwrap();
        assert_eq!((i.due_on, i.state), (d("2029-11-01"), State::Upcoming));
        // The care itself goes on: the review counts from the first start.
        assert_eq!(
            item(&f, SIX_MONTH_REVIEW, "2026-01-10").unwrap().due_on,
            d("2026-07-10")
        );
        // A new placement decision in the same home is the same stay.
        f.placements = vec![
            placed("A", "2026-01-10", Some("2027-11-01")),
            placed("A", "2027-11-01", None),
        ];
        assert_eq!(
            item(&f, CUSTODY_CONSIDERATION, "2028-01-11")
                .unwrap()
                .due_on,
            d("2028-01-10")
        );
        // A unit (no home): no custody item.
        f.placements = vec![placed("", "2026-01-10", None)];
        assert_eq!(item(&f, CUSTODY_CONSIDERATION, "2028-01-11"), None);
    }

    #[test]
    fn care_ends_at_18_and_at_21_for_lvu_3() {
        let mut f = child();
        let i = item(&f, CARE_END, "2026-01-10").unwrap();
        assert_eq!((i.due_on, i.state), (d("2030-03-04"), State::Upcoming));
        assert_eq!(state(&f, CARE_END, "2030-02-01"), Some(State::Upcoming));
        assert_eq!(state(&f, CARE_END, "2030-02-02"), Some(State::Due));
        assert_eq!(state(&f, CARE_END, "2030-03-04"), Some(State::Due));
        // Still placed the day after the 18th birthday: overdue.
        assert_eq!(state(&f, CARE_END, "2030-03-05"), Some(State::Overdue));
        // Ended on the birthday: met.
        f.placements[0].ends_on = Some(d("2030-03-04"));
        assert_eq!(state(&f, CARE_END, "2030-03-04"), Some(State::Met));
        assert_eq!(state(&f, CARE_END, "2030-03-03"), Some(State::Due));
        // LVU 3 §: the 21st birthday.
        let mut f = child();
        f.placements[0].legal_basis = LVU_3.into();
        assert_eq!(
            item(&f, CARE_END, "2030-03-05").unwrap(),
            Item {
                code: CARE_END,
                due_on: d("2033-03-04"),
                state: State::Upcoming
            }
        );
        // Without a birth date: no care end, no aftercare.
        let mut f = child();
        f.birth_date = None;
        assert_eq!(item(&f, CARE_END, "2026-02-01"), None);
        assert_eq!(item(&f, AFTERCARE, "2026-02-01"), None);
    }

    #[test]
    fn aftercare_runs_from_care_end_to_25() {
        let mut f = child();
        assert_eq!(state(&f, AFTERCARE, "2026-01-10"), Some(State::Upcoming));
        f.placements[0].ends_on = Some(d("2030-03-04"));
        let i = item(&f, AFTERCARE, "2030-03-04").unwrap();
        assert_eq!((i.due_on, i.state), (d("2037-03-04"), State::Due));
        assert_eq!(state(&f, AFTERCARE, "2030-03-03"), Some(State::Upcoming));
        assert_eq!(state(&f, AFTERCARE, "2037-03-03"), Some(State::Due));
        assert_eq!(state(&f, AFTERCARE, "2037-03-04"), Some(State::Met));
        assert_eq!(state(&f, AFTERCARE, "2037-03-05"), Some(State::Met));
        // The care's items end with the care.
        assert_eq!(item(&f, HEALTH_PHYSICAL, "2030-03-04"), None);
        assert_eq!(item(&f, SIX_MONTH_REVIEW, "2030-03-04"), None);
        assert_eq!(item(&f, CUSTODY_CONSIDERATION, "2030-03-04"), None);
        assert_eq!(years_left(d("2030-03-04"), d("2037-03-04")), 7);
        assert_eq!(years_left(d("2030-03-05"), d("2037-03-04")), 6);
        assert_eq!(years_left(d("2038-01-01"), d("2037-03-04")), 0);
    }

    #[test]
    fn a_care_that_ended_young_is_a_return_home_not_aftercare() {
        let mut f = child();
        // Ended the day before the 16th birthday: no aftercare; on it: aftercare.
        f.placements[0].ends_on = Some(d("2028-03-03"));
        assert_eq!(item(&f, AFTERCARE, "2029-01-01"), None);
        f.placements[0].ends_on = Some(d("2028-03-04"));
        assert_eq!(state(&f, AFTERCARE, "2029-01-01"), Some(State::Due));
    }

    #[test]
    fn a_new_placement_after_a_gap_is_a_new_care() {
        let mut f = child();
        f.placements = vec![
            placed("A", "2026-01-10", Some("2026-03-01")),
            placed("B", "2026-05-01", None),
        ];
        let care = care_on(&f.placements, d("2026-05-01")).unwrap();
        assert_eq!(care.started_on, d("2026-05-01"));
        assert_eq!(care.ended_on, None);
        assert_eq!(care.home, Some(("B".into(), d("2026-05-01"))));
        // Between the two: care ended on 1 March.
        let care = care_on(&f.placements, d("2026-04-01")).unwrap();
        assert_eq!(care.ended_on, Some(d("2026-03-01")));
        assert_eq!(care.home, None);
        assert_eq!(
            item(&f, HEALTH_PHYSICAL, "2026-05-01").unwrap().due_on,
            d("2026-05-31")
        );
        // Back to back (the end day is the next start): one care.
        f.placements[1].starts_on = d("2026-03-01");
        assert_eq!(
            care_on(&f.placements, d("2026-05-01")).unwrap().started_on,
            d("2026-01-10")
        );
    }

    #[test]
    fn the_lead_and_the_periods_follow_the_configuration() {
        let c = DeadlineConfig {
            health_exam_days: 10,
            review_months: 3,
            lead_days: 0,
            ..DeadlineConfig::default()
        };
        let f = child();
        let all = items(&f, &c, d("2026-01-10"));
        let get = |code: &str| all.iter().find(|i| i.code == code).unwrap().clone();
        assert_eq!(get(HEALTH_ORAL).due_on, d("2026-01-20"));
        assert_eq!(get(HEALTH_ORAL).state, State::Upcoming);
        assert_eq!(get(SIX_MONTH_REVIEW).due_on, d("2026-04-10"));
        assert!(DeadlineConfig::default().check().is_ok());
        let bad = DeadlineConfig {
            care_end_age_lvu_3: 17,
            ..DeadlineConfig::default()
        };
        assert_eq!(
            bad.check().unwrap_err().0,
            "portfolio.deadlines.care_end_age_lvu_3"
        );
    }

    #[test]
    fn the_rights_items_follow_dental_bup_school_and_the_plans() {
        let mut f = child();
        // Care starts 2026-01-10: nothing recorded.
        let at = |f: &Facts, code, day| item(f, code, day).unwrap();
        assert_eq!(at(&f, DENTAL, "2026-01-10").due_on, d("2026-04-10"));
        assert_eq!(at(&f, DENTAL, "2026-04-10").state, State::Due);
        assert_eq!(at(&f, DENTAL, "2026-04-11").state, State::Overdue);
        f.dental_last_visit = Some(d("2026-03-01"));
        let i = at(&f, DENTAL, "2026-04-11");
        assert_eq!((i.due_on, i.state), (d("2027-03-01"), State::Upcoming));
        // No BUP referral: no item; one waiting is due 30 days after.
        assert!(item(&f, BUP_REFERRAL, "2026-02-01").is_none());
        f.bup_referrals = vec![(d("2026-02-01"), None)];
        let i = at(&f, BUP_REFERRAL, "2026-03-03");
        assert_eq!((i.due_on, i.state), (d("2026-03-03"), State::Due));
        assert_eq!(at(&f, BUP_REFERRAL, "2026-03-04").state, State::Overdue);
        // The appointment booked for later still waits; once it is past, met.
        f.bup_referrals = vec![(d("2026-02-01"), Some(d("2026-03-10")))];
        assert_eq!(at(&f, BUP_REFERRAL, "2026-03-04").state, State::Overdue);
        assert_eq!(at(&f, BUP_REFERRAL, "2026-03-10").state, State::Met);
        // A referral from before this care is not this care's.
        f.bup_referrals = vec![(d("2025-12-01"), None)];
        assert!(item(&f, BUP_REFERRAL, "2026-03-04").is_none());
        // School: 14 days after moving in; met once a school is recorded.
        let i = at(&f, SCHOOL_PLACEMENT, "2026-01-24");
        assert_eq!((i.due_on, i.state), (d("2026-01-24"), State::Due));
        assert_eq!(at(&f, SCHOOL_PLACEMENT, "2026-01-25").state, State::Overdue);
        f.school_recorded_on = Some(d("2026-01-20"));
        assert_eq!(at(&f, SCHOOL_PLACEMENT, "2026-01-25").state, State::Met);
        // A move to another home starts the school deadline again.
        f.placements = vec![
            placed("A", "2026-01-10", Some("2026-06-01")),
            placed("B", "2026-06-01", None),
        ];
        let i = at(&f, SCHOOL_PLACEMENT, "2026-06-16");
        assert_eq!((i.due_on, i.state), (d("2026-06-15"), State::Overdue));
        // The plans: care plan 14 days, implementation plan 30 days.
        assert_eq!(at(&f, CARE_PLAN, "2026-01-24").state, State::Due);
        assert_eq!(at(&f, CARE_PLAN, "2026-01-25").state, State::Overdue);
        assert_eq!(at(&f, IMPLEMENTATION_PLAN, "2026-02-09").state, State::Due);
        assert_eq!(
            at(&f, IMPLEMENTATION_PLAN, "2026-02-10").state,
            State::Overdue
        );
        f.care_plans = vec![d("2026-01-05")];
        f.implementation_plans = vec![d("2025-06-01")];
        assert_eq!(at(&f, CARE_PLAN, "2026-02-10").state, State::Met);
        assert_eq!(
            at(&f, IMPLEMENTATION_PLAN, "2026-02-10").state,
            State::Overdue,
            "an old care's plan is not this care's"
        );
        // After care: none of them.
        f.placements = vec![placed("A", "2026-01-10", Some("2026-03-01"))];
        for code in [
            DENTAL,
            BUP_REFERRAL,
            SCHOOL_PLACEMENT,
            CARE_PLAN,
            IMPLEMENTATION_PLAN,
        ] {
            assert!(item(&f, code, "2026-03-02").is_none(), "{code}");
        }
    }
}
