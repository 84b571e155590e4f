//! Follow-up (issue 20 §5): the proposal a ranking made, the home chosen
//! and why, what became of it; and the report of outcome by rank that lets
//! the weights be judged. Records are the `samling.recruitment.v1` messages
//! (as the registry's records are its messages, ADR 0003).

use super::MatchingError;
use super::profile::plain;
use super::rank::Ranking;
use chrono::NaiveDate;
use samling_kit::dates;
use samling_kit::disclosure;
use samling_proto::recruitment::v1::{
    MatchChoice, MatchChoiceReason, MatchOutcome, MatchOutcomeRecord, MatchProposal,
    OutcomeByRankReport, OutcomeByRankRow, ProposedHome,
};

const MAX_NOTE: usize = 1000;

/// The proposal a ranking made: every listed home of every list.
pub fn new_proposal(
    id: String,
    profile_id: String,
    placing_municipality_code: String,
    r: &Ranking,
    created_by: String,
    now: String,
) -> MatchProposal {
    let homes = r
        .units
        .iter()
        .flat_map(|u| {
            let unit = u.child_keys.join(",");
            u.homes.iter().map(move |h| ProposedHome {
                rank: h.rank,
                home_id: h.home_id.clone(),
                score: h.score,
                kinship: h.kinship,
                unit: unit.clone(),
            })
        })
        .collect();
    MatchProposal {
        id,
        version: 1,
        profile_id,
        placing_municipality_code,
        config_version: r.config_version.clone(),
        homes,
        created_at: now,
        created_by,
        choices: vec![],
        outcomes: vec![],
    }
}

fn is_decline(o: MatchOutcome) -> bool {
    matches!(
        o,
        MatchOutcome::DeclinedByHome
            | MatchOutcome::DeclinedByMunicipality
            | MatchOutcome::DeclinedByChildOrGuardian
    )
}

fn outcome_of(r: &MatchOutcomeRecord) -> MatchOutcome {
    MatchOutcome::try_from(r.outcome).unwrap_or(MatchOutcome::Unspecified)
}

/// The last outcome recorded for the current choice.
fn current_outcome(p: &MatchProposal) -> Option<&MatchOutcomeRecord> {
    let home = &p.choices.last()?.home_id;
    p.outcomes.iter().rev().find(|o| &o.home_id == home)
}

/// Record the home chosen and why. A new choice is possible only after the
/// current one was declined; a home is chosen at most once per proposal.
pub fn record_choice(
    p: &mut MatchProposal,
    home_id: &str,
    reason: i32,
    note: &str,
    by: &str,
    at: &str,
) -> Result<(), MatchingError> {
    samling_kit::ids::parse_id("home_id", home_id)?;
    let reason = MatchChoiceReason::try_from(reason)
        .ok()
        .filter(|r| *r != MatchChoiceReason::Unspecified)
        .ok_or_else(|| MatchingError::invalid("reason", "is required"))?;
    let note = plain("note", note, MAX_NOTE)?;
    if !p.choices.is_empty() {
        match current_outcome(p).map(outcome_of) {
            None => {
                return Err(MatchingError::Conflict(
                    "a home is already chosen; record its outcome first".into(),
                ));
            }
            Some(o) if !is_decline(o) => {
                return Err(MatchingError::precondition(
                    "the chosen home's placement has started; a new placement needs a new proposal",
                ));
            }
            Some(_) => {}
        }
    }
    if p.choices.iter().any(|c| c.home_id == home_id) {
        return Err(MatchingError::Conflict(
            "this home was already chosen in this proposal".into(),
        ));
    }
    let rank = p
        .homes
        .iter()
        .filter(|h| h.home_id == home_id)
        .map(|h| h.rank)
        .min()
        .unwrap_or(0);
    if rank == 0 {
        if reason == MatchChoiceReason::BestRanked {
            return Err(MatchingError::invalid(
                "reason",
                "the home is not in the proposal, so it was not the best ranked",
            ));
        }
        if note.is_empty() {
            return Err(MatchingError::invalid(
                "note",
                "is required when the home is chosen outside the proposal",
            ));
        }
    }
    p.choices.push(MatchChoice {
        home_id: home_id.to_string(),
        rank,
        reason: reason as i32,
        note,
        recorded_by: by.to_string(),
        recorded_at: at.to_string(),
    });
    p.version += 1;
    Ok(())
}

/// Record what became of the current choice: the placement started or was
/// declined; a started placement later broke down or ended as planned.
pub fn record_outcome(
    p: &mut MatchProposal,
    outcome: i32,
    on: NaiveDate,
    note: &str,
    by: &str,
    at: &str,
    today: NaiveDate,
) -> Result<(), MatchingError> {
    let outcome = MatchOutcome::try_from(outcome)
        .ok()
        .filter(|o| *o != MatchOutcome::Unspecified)
        .ok_or_else(|| MatchingError::invalid("outcome", "is required"))?;
    let note = plain("note", note, MAX_NOTE)?;
    if on > today {
        return Err(MatchingError::invalid("on", "must not be in the future"));
    }
    let Some(choice) = p.choices.last() else {
        return Err(MatchingError::precondition(
            "no home is chosen yet; record the choice first",
        ));
    };
    let home_id = choice.home_id.clone();
    let previous = current_outcome(p);
    if let Some(prev) = previous
        && dates::opt_from_proto("", prev.on.as_ref())
            .ok()
            .flatten()
            .is_some_and(|d| on < d)
    {
        return Err(MatchingError::invalid(
            "on",
            "is before the previous outcome of this choice",
        ));
    }
    let allowed = match previous.map(outcome_of) {
        None => outcome == MatchOutcome::PlacementStarted || is_decline(outcome),
        Some(MatchOutcome::PlacementStarted) => matches!(
            outcome,
            MatchOutcome::BrokeDown | MatchOutcome::EndedAsPlanned
        ),
        Some(_) => false,
    };
    if !allowed {
        return Err(MatchingError::precondition(format!(
            "{} cannot follow {}",
            outcome.as_str_name(),
            previous
                .map(|o| outcome_of(o).as_str_name())
                .unwrap_or("the choice")
        )));
    }
    p.outcomes.push(MatchOutcomeRecord {
        home_id,
        outcome: outcome as i32,
        on: Some(dates::to_proto(on)),
        note,
        recorded_by: by.to_string(),
        recorded_at: at.to_string(),
    });
    p.version += 1;
    Ok(())
}

pub const RANK_BANDS: [&str; 7] = ["1", "2", "3", "4-5", "6-10", "11+", "outside"];

pub fn rank_band(rank: u32) -> usize {
    match rank {
        0 => 6,
        1 => 0,
        2 => 1,
        3 => 2,
        4..=5 => 3,
        6..=10 => 4,
        _ => 5,
    }
}

/// Outcome by the chosen home's rank, over `proposals` (already filtered to
/// what the caller may see). Each choice counts once in its band, with what
/// became of it. `suppress`: the caller sees aggregates only, so counts of
/// 1–4 are shown as "<5" (and others hidden where they would give one away).
pub fn outcome_by_rank(proposals: &[MatchProposal], suppress: bool) -> OutcomeByRankReport {
    // chosen, started, declined, broke_down, ended_as_planned
    let mut cells = [[0u32; 5]; 7];
    let mut with_choice = 0;
    let mut versions: Vec<String> = Vec::new();
    for p in proposals {
        if !versions.contains(&p.config_version) {
            versions.push(p.config_version.clone());
        }
        if !p.choices.is_empty() {
            with_choice += 1;
        }
        for c in &p.choices {
            let row = &mut cells[rank_band(c.rank)];
            row[0] += 1;
            let outs: Vec<MatchOutcome> = p
                .outcomes
                .iter()
                .filter(|o| o.home_id == c.home_id)
                .map(outcome_of)
                .collect();
            if outs.contains(&MatchOutcome::PlacementStarted) {
                row[1] += 1;
            }
            if outs.iter().any(|o| is_decline(*o)) {
                row[2] += 1;
            }
            if outs.contains(&MatchOutcome::BrokeDown) {
                row[3] += 1;
            }
            if outs.contains(&MatchOutcome::EndedAsPlanned) {
                row[4] += 1;
            }
        }
    }
    versions.sort();
    let mut shown = vec![
        [
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new()
        ];
        7
    ];
    let mut numbers = cells;
    for col in 0..5 {
        let column: Vec<u32> = cells.iter().map(|r| r[col]).collect();
        let total: u32 = column.iter().sum();
        if suppress {
            let (s, _) = disclosure::suppress(&column, total);
            for (row, v) in s.iter().enumerate() {
                shown[row][col] = v.display();
                numbers[row][col] = v.number();
            }
        } else {
            for (row, v) in column.iter().enumerate() {
                shown[row][col] = v.to_string();
            }
        }
    }
    let rows = RANK_BANDS
        .iter()
        .enumerate()
        .map(|(i, band)| {
            let [chosen, started, declined, broke_down, ended_as_planned] = numbers[i];
            let [cd, sd, dd, bd, ed] = shown[i].clone();
            OutcomeByRankRow {
                rank_band: band.to_string(),
                chosen,
                started,
                declined,
                broke_down,
                ended_as_planned,
                chosen_display: cd,
                started_display: sd,
                declined_display: dd,
                broke_down_display: bd,
                ended_as_planned_display: ed,
            }
        })
        .collect();
    let count = |n: u32| {
        if suppress && (1..disclosure::THRESHOLD).contains(&n) {
            0
        } else {
            n
        }
    };
    OutcomeByRankReport {
        rows,
        proposals: count(proposals.len() as u32),
        with_choice: count(with_choice),
        small_counts_suppressed: suppress,
        config_versions: versions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H1: &str = "0190a000-0000-7000-8000-000000000001";
    const H2: &str = "0190a000-0000-7000-8000-000000000002";
    const H9: &str = "0190a000-0000-7000-8000-000000000009";

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    fn proposal() -> MatchProposal {
        MatchProposal {
            id: "p".into(),
            version: 1,
            config_version: "v1".into(),
            homes: vec![
                ProposedHome {
                    rank: 1,
                    home_id: H1.into(),
                    score: 900,
                    ..Default::default()
                },
                ProposedHome {
                    rank: 2,
                    home_id: H2.into(),
                    score: 800,
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    const BEST: i32 = MatchChoiceReason::BestRanked as i32;
    const STARTED: i32 = MatchOutcome::PlacementStarted as i32;

    #[test]
    fn a_choice_then_its_outcome_then_the_end() {
        let mut p = proposal();
        record_choice(&mut p, H1, BEST, "", "cw", "t").unwrap();
        assert_eq!(p.choices[0].rank, 1);
        // No second choice while the first is open.
        assert!(matches!(
            record_choice(&mut p, H2, BEST, "", "cw", "t"),
            Err(MatchingError::Conflict(_))
        ));
        record_outcome(&mut p, STARTED, day(2), "", "cw", "t", day(3)).unwrap();
        // Started cannot be declined afterwards, only end.
        assert!(
            record_outcome(
                &mut p,
                MatchOutcome::DeclinedByHome as i32,
                day(3),
                "",
                "cw",
                "t",
                day(3)
            )
            .is_err()
        );
        record_outcome(
            &mut p,
            MatchOutcome::BrokeDown as i32,
            day(3),
            "",
            "cw",
            "t",
            day(3),
        )
        .unwrap();
        assert!(record_choice(&mut p, H2, BEST, "", "cw", "t").is_err());
        assert_eq!(p.version, 4);
    }

    #[test]
    fn after_a_decline_another_home_may_be_chosen_but_not_the_same() {
        let mut p = proposal();
        record_choice(&mut p, H1, BEST, "", "cw", "t").unwrap();
        record_outcome(
            &mut p,
            MatchOutcome::DeclinedByHome as i32,
            day(2),
            "",
            "cw",
            "t",
            day(3),
        )
        .unwrap();
        assert!(record_choice(&mut p, H1, BEST, "", "cw", "t").is_err());
        record_choice(
            &mut p,
            H2,
            MatchChoiceReason::OthersUnavailable as i32,
            "",
            "cw",
            "t",
        )
        .unwrap();
        record_outcome(&mut p, STARTED, day(3), "", "cw", "t", day(3)).unwrap();
        assert_eq!(p.outcomes.len(), 2);
        assert_eq!(p.outcomes[1].home_id, H2);
    }

    #[test]
    fn a_home_outside_the_list_needs_a_note_and_is_rank_zero() {
        let mut p = proposal();
        let e = record_choice(&mut p, H9, BEST, "", "cw", "t").unwrap_err();
        assert!(e.to_string().starts_with("reason:"), "{e}");
        let e = record_choice(
            &mut p,
            H9,
            MatchChoiceReason::ChildWish as i32,
            "",
            "cw",
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("note:"), "{e}");
        record_choice(
            &mut p,
            H9,
            MatchChoiceReason::ChildWish as i32,
            "the child knows them",
            "cw",
            "t",
        )
        .unwrap();
        assert_eq!(p.choices[0].rank, 0);
    }

    #[test]
    fn outcomes_need_a_choice_a_past_date_and_order() {
        let mut p = proposal();
        assert!(record_outcome(&mut p, STARTED, day(2), "", "cw", "t", day(3)).is_err());
        record_choice(&mut p, H1, BEST, "", "cw", "t").unwrap();
        let e = record_outcome(&mut p, STARTED, day(4), "", "cw", "t", day(3)).unwrap_err();
        assert!(e.to_string().starts_with("on:"));
        let e = record_outcome(&mut p, 0, day(2), "", "cw", "t", day(3)).unwrap_err();
        assert!(e.to_string().starts_with("outcome:"));
        record_outcome(&mut p, STARTED, day(2), "", "cw", "t", day(3)).unwrap();
        let e = record_outcome(
            &mut p,
            MatchOutcome::EndedAsPlanned as i32,
            day(1),
            "",
            "cw",
            "t",
            day(3),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("on:"));
    }

    #[test]
    fn outcome_by_rank_counts_each_choice_in_its_band_and_suppresses_small_counts() {
        let mut ps = Vec::new();
        for i in 0..7 {
            let mut p = proposal();
            let home = if i < 6 { H1 } else { H2 };
            record_choice(&mut p, home, BEST, "", "cw", "t").unwrap();
            record_outcome(&mut p, STARTED, day(2), "", "cw", "t", day(3)).unwrap();
            if i == 0 {
                record_outcome(
                    &mut p,
                    MatchOutcome::BrokeDown as i32,
                    day(3),
                    "",
                    "cw",
                    "t",
                    day(3),
                )
                .unwrap();
            }
            ps.push(p);
        }
        ps.push(proposal());
        let r = outcome_by_rank(&ps, false);
        assert_eq!(r.proposals, 8);
        assert_eq!(r.with_choice, 7);
        assert_eq!(
            (r.rows[0].chosen, r.rows[0].started, r.rows[0].broke_down),
            (6, 6, 1)
        );
        assert_eq!((r.rows[1].rank_band.as_str(), r.rows[1].chosen), ("2", 1));
        assert_eq!(r.config_versions, vec!["v1"]);
        let s = outcome_by_rank(&ps, true);
        assert_eq!(s.rows[1].chosen_display, "<5");
        assert_eq!(s.rows[1].chosen, 0);
        assert_eq!(s.rows[0].broke_down_display, "<5");
        // 6 + 1 = 7 choices: showing the 6 would give the 1 away.
        assert_eq!(s.rows[0].chosen_display, "..");
        assert_eq!(s.rows[0].chosen, 0);
        assert!(s.small_counts_suppressed);
        for (row, actual) in s.rows.iter().zip(&r.rows) {
            for (shown, n) in [
                (&row.chosen_display, actual.chosen),
                (&row.started_display, actual.started),
                (&row.declined_display, actual.declined),
                (&row.broke_down_display, actual.broke_down),
                (&row.ended_as_planned_display, actual.ended_as_planned),
            ] {
                if (1..5).contains(&n) {
                    assert_eq!(shown, "<5");
                }
            }
        }
    }
}
