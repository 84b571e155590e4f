//! Placements over time (ADR 0030): the settling-in from an emergency home,
//! the custody-transfer clock and its considerations, siblings, the network
//! alternative, the closing conversation and the year's statistics.

use super::RegistryError;
use super::placement::is_active;
use chrono::NaiveDate;
use samling_kit::dates;
use samling_kit::error::Reason;
use samling_proto::registry::v1::{
    ClosingConversation, CustodyOutcome, EndReason, HomeType, NetworkAlternative, Placement,
    ProviderKind, Transition,
};

type R<T> = Result<T, RegistryError>;

/// Notices returned when a placement is made.
pub const NOTICE_SPLITS_SIBLINGS: &str = "splits_siblings";
pub const NOTICE_NETWORK_NOT_CONSIDERED: &str = "network_alternative_not_considered";
pub const NOTICE_JOUR_FLAG_CLEARED: &str = "jour_availability_cleared";

/// Longest free text of these records (plans, notes, reasons).
const MAX_TEXT: usize = 4000;

/// A jourhem: the homes a child is meant to stay in only until the home it
/// will live in is found.
pub fn is_emergency(t: HomeType) -> bool {
    matches!(
        t,
        HomeType::EmergencyHome | HomeType::ContractedEmergencyHome
    )
}

/// Free text: trimmed, at most [`MAX_TEXT`] characters, no control
/// characters other than line breaks.
pub fn text(field: &str, v: &str, required: bool) -> R<String> {
    let t = v.trim();
    if required && t.is_empty() {
        return Err(RegistryError::invalid(field, "is required"));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(RegistryError::invalid(
            field,
            format!("is longer than {MAX_TEXT} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err(RegistryError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(t.to_string())
}

/// A settling-in: the new placement overlaps the child's active placement
/// `from` (in a home of type `from_type`). The old one must be in an
/// emergency home and active, the new one in a home that is not (`to_type`,
/// when this register knows it) and not the same home, starting on or after
/// the old one; the transition plan and what the new home was told are
/// required (seed 003, 10042–10063).
pub fn check_transition(
    from: &Placement,
    from_type: HomeType,
    to_home_id: &str,
    to_type: Option<HomeType>,
    start: NaiveDate,
    t: Option<&Transition>,
) -> R<Transition> {
    const F: &str = "transition_from_placement_id";
    if !is_active(from) {
        return Err(RegistryError::invalid(F, "the placement has ended"));
    }
    if !is_emergency(from_type) {
        return Err(RegistryError::invalid(
            F,
            "a settling-in overlap is allowed only from an emergency home (jourhem)",
        ));
    }
    if to_home_id.is_empty() {
        return Err(RegistryError::invalid(
            "home_id",
            "a settling-in is into a home, not a unit",
        ));
    }
    if from.home_id == to_home_id {
        return Err(RegistryError::invalid(
            "home_id",
            "is the emergency home the child already lives in",
        ));
    }
    if to_type.is_some_and(is_emergency) {
        return Err(RegistryError::invalid(
            "home_id",
            "a settling-in is into the home the child will stay in, not another emergency home",
        ));
    }
    let from_start = dates::from_proto("start_date", from.start_date.as_ref())?;
    if start < from_start {
        return Err(RegistryError::invalid(
            "start_date",
            "is before the emergency placement started",
        ));
    }
    let t = t.ok_or_else(|| {
        RegistryError::invalid(
            "transition",
            "is required with transition_from_placement_id",
        )
    })?;
    Ok(Transition {
        plan: text("transition.plan", &t.plan, true)?,
        information_to_home: text(
            "transition.information_to_home",
            &t.information_to_home,
            true,
        )?,
        settling_in_days: 0,
        short_settling_in_reason: String::new(),
    })
}

/// The days two placements overlapped: the new one started on `new_start`,
/// the emergency one ended on `old_end` (never negative).
pub fn settling_in_days(new_start: NaiveDate, old_end: NaiveDate) -> u32 {
    u32::try_from((old_end - new_start).num_days().max(0)).unwrap_or(0)
}

/// A settling-in shorter than `min_days` is an exception and says why
/// (seed 003, 10142–10152): the reason, cleaned, or `None` when long enough.
pub fn check_settling_in(days: u32, min_days: u32, reason: &str) -> R<Option<String>> {
    if days >= min_days {
        return Ok(None);
    }
    let r = text("short_settling_in_reason", reason, false)?;
    if r.is_empty() {
        return Err(RegistryError::invalid(
            "short_settling_in_reason",
            format!(
                "the settling-in lasted {days} days, fewer than {min_days}: state why the move \
                 was hastier"
            ),
        ));
    }
    Ok(Some(r))
}

/// The network alternative at a placement in a home of `home_type` (`None`:
/// a unit or another region's home): a network home is the alternative
/// itself; otherwise it is recorded as considered with why not chosen, or
/// the placement carries a notice that it was not (seed 003, 4916–4927).
pub fn check_network_alternative(
    home_type: Option<HomeType>,
    na: Option<&NetworkAlternative>,
) -> R<(Option<NetworkAlternative>, Option<&'static str>)> {
    if home_type == Some(HomeType::NetworkHome) {
        return Ok((
            Some(NetworkAlternative {
                considered: true,
                reason_not_chosen: String::new(),
            }),
            None,
        ));
    }
    // Not recorded: no notice (most callers predate the field); the year's
    // statistics show how many placements recorded it as considered.
    let Some(na) = na else {
        return Ok((None, None));
    };
    let reason = text(
        "network_alternative.reason_not_chosen",
        &na.reason_not_chosen,
        na.considered,
    )?;
    let notice = (!na.considered).then_some(NOTICE_NETWORK_NOT_CONSIDERED);
    Ok((
        Some(NetworkAlternative {
            considered: na.considered,
            reason_not_chosen: reason,
        }),
        notice,
    ))
}

/// Since when the child has lived in `home_id` without a break, for a
/// placement there starting `start`: an earlier placement of the child in
/// the same home that ended the day before or later carries its own date on
/// (a new decision, e.g. LVU after SoL, does not restart the 2-year clock).
/// `prior`: the child's placements by start date.
pub fn in_home_since(prior: &[Placement], home_id: &str, start: NaiveDate) -> NaiveDate {
    let mut since = start;
    if home_id.is_empty() {
        return since;
    }
    // Walk back through a chain of placements in this home.
    loop {
        let before = prior.iter().find(|p| {
            p.home_id == home_id
                && dates::opt_from_proto("", p.start_date.as_ref())
                    .ok()
                    .flatten()
                    .is_some_and(|s| s < since)
                && dates::opt_from_proto("", p.end_date.as_ref())
                    .ok()
                    .flatten()
                    .is_some_and(|e| e + chrono::Days::new(1) >= since)
        });
        match before.and_then(|p| {
            dates::opt_from_proto("", p.start_date.as_ref())
                .ok()
                .flatten()
        }) {
            Some(s) => since = s,
            None => return since,
        }
    }
}

/// A custody-transfer consideration: its outcome, and when the question
/// comes up again (none once a transfer is applied for or it no longer
/// applies).
pub fn custody_outcome(v: i32) -> R<CustodyOutcome> {
    CustodyOutcome::try_from(v)
        .ok()
        .filter(|o| *o != CustodyOutcome::Unspecified)
        .ok_or_else(|| RegistryError::invalid("outcome", "is required"))
}

pub fn check_consideration(p: &Placement, considered_on: NaiveDate, today: NaiveDate) -> R<()> {
    if !is_active(p) {
        return Err(RegistryError::precondition("the placement has ended"));
    }
    if considered_on > today {
        return Err(RegistryError::invalid(
            "considered_on",
            "must not be in the future",
        ));
    }
    let start = dates::from_proto("start_date", p.start_date.as_ref())?;
    if considered_on < start {
        return Err(RegistryError::invalid(
            "considered_on",
            "is before the placement started",
        ));
    }
    Ok(())
}

pub fn next_consideration(
    considered_on: NaiveDate,
    outcome: CustodyOutcome,
    months: u32,
) -> Option<NaiveDate> {
    match outcome {
        CustodyOutcome::NotInChildsInterest => Some(dates::add_months(considered_on, months)),
        _ => None,
    }
}

/// The participants of a closing conversation: at least one, short codes.
fn participants(list: &[String]) -> R<Vec<String>> {
    if list.is_empty() {
        return Err(RegistryError::invalid(
            "participants",
            "name at least one (e.g. home, child)",
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, p) in list.iter().enumerate() {
        let p = p.trim();
        if p.is_empty() || p.len() > 32 || !p.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            return Err(RegistryError::invalid(
                format!("participants[{i}]"),
                "is a short code of a-z and _ (home, child, birth_family, agency)",
            ));
        }
        out.push(p.to_string());
    }
    Ok(out)
}

/// The closing conversation after placement `p` ended (seed 003,
/// 11170–11176): once, on or after the end date, not in the future.
pub fn closing_conversation(
    p: &Placement,
    held_on: NaiveDate,
    today: NaiveDate,
    who: &[String],
    note: &str,
    recorded_by: &str,
) -> R<ClosingConversation> {
    if is_active(p) {
        return Err(RegistryError::precondition(
            "the placement has not ended; the closing conversation follows its end",
        ));
    }
    if p.closing_conversation.is_some() {
        return Err(RegistryError::refused(
            Reason::AlreadyRecorded,
            "the closing conversation is already recorded",
        ));
    }
    let end = dates::from_proto("end_date", p.end_date.as_ref())?;
    if held_on < end {
        return Err(RegistryError::invalid(
            "held_on",
            "is before the placement ended",
        ));
    }
    if held_on > today {
        return Err(RegistryError::invalid(
            "held_on",
            "must not be in the future",
        ));
    }
    Ok(ClosingConversation {
        held_on: Some(dates::to_proto(held_on)),
        participants: participants(who)?,
        note: text("note", note, false)?,
        recorded_by: recorded_by.to_string(),
    })
}

/// Is `p` a long stay in an emergency home on `as_of`: active, in a jourhem,
/// there for at least `min_days` days? (Seed 003, 4634–4637, 7700–7720.)
pub fn long_jourhem_stay(p: &Placement, as_of: NaiveDate, min_days: u32) -> bool {
    is_active(p)
        && is_emergency(HomeType::try_from(p.home_type).unwrap_or_default())
        && dates::opt_from_proto("", p.start_date.as_ref())
            .ok()
            .flatten()
            .is_some_and(|s| s <= as_of - chrono::Days::new(u64::from(min_days)))
}

/// One municipality's placements started in a year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkCounts {
    pub placements: u32,
    pub network: u32,
    /// Not in a network home, the network alternative recorded as considered.
    pub considered: u32,
}

/// One (provider kind, home type)'s placements ended in a year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndCounts {
    pub ended: u32,
    pub breakdowns: u32,
    pub custody_transferred: u32,
}

fn in_year(d: Option<NaiveDate>, year: i32) -> bool {
    use chrono::Datelike;
    d.is_some_and(|d| d.year() == year)
}

/// The year's statistics from placements (each with its home type and
/// provider filled): per placing municipality the placements started in the
/// year and how many in network homes; per (provider, home type) of homes
/// the placements that ended in the year and how.
#[allow(clippy::type_complexity)]
pub fn statistics(
    placements: &[Placement],
    year: i32,
) -> (
    std::collections::BTreeMap<String, NetworkCounts>,
    std::collections::BTreeMap<(i32, i32), EndCounts>,
) {
    let mut network = std::collections::BTreeMap::<String, NetworkCounts>::new();
    let mut ends = std::collections::BTreeMap::<(i32, i32), EndCounts>::new();
    for p in placements {
        let start = dates::opt_from_proto("", p.start_date.as_ref())
            .ok()
            .flatten();
        let end = dates::opt_from_proto("", p.end_date.as_ref())
            .ok()
            .flatten();
        // A settling-in's second placement is the same care episode moving on;
        // it is counted as a placement of its own (a new home).
        if in_year(start, year) {
            let n = network
                .entry(p.placing_municipality_code.clone())
                .or_default();
            n.placements += 1;
            if p.home_type == HomeType::NetworkHome as i32 {
                n.network += 1;
            } else if p.network_alternative.as_ref().is_some_and(|a| a.considered) {
                n.considered += 1;
            }
        }
        if !is_active(p) && in_year(end, year) && !p.home_id.is_empty() {
            let e = ends.entry((p.provider, p.home_type)).or_default();
            e.ended += 1;
            match EndReason::try_from(p.end_reason).unwrap_or_default() {
                EndReason::Breakdown => e.breakdowns += 1,
                EndReason::CustodyTransferred => e.custody_transferred += 1,
                _ => {}
            }
        }
    }
    (network, ends)
}

/// The provider kind of a statistics row, named.
pub fn provider_name(v: i32) -> &'static str {
    ProviderKind::try_from(v).unwrap_or_default().as_str_name()
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_proto::registry::v1::PlacementStatus;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn jour(start: NaiveDate) -> Placement {
        Placement {
            id: "p1".into(),
            home_id: "jour".into(),
            status: PlacementStatus::Active as i32,
            start_date: Some(dates::to_proto(start)),
            home_type: HomeType::EmergencyHome as i32,
            ..Default::default()
        }
    }

    fn plan() -> Transition {
        Transition {
            plan: "visits twice a week, then weekends".into(),
            information_to_home: "needs, school, religion".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_settling_in_is_from_an_active_jourhem_into_another_home_with_a_plan() {
        let from = jour(d(2026, 1, 10));
        let ok = check_transition(
            &from,
            HomeType::EmergencyHome,
            "family",
            Some(HomeType::FamilyHome),
            d(2026, 3, 1),
            Some(&plan()),
        )
        .unwrap();
        assert_eq!(ok.plan, "visits twice a week, then weekends");
        let field = |r: R<Transition>| match r {
            Err(RegistryError::Kit(e)) => e.to_string(),
            Err(e) => e.to_string(),
            Ok(_) => "ok".into(),
        };
        let fam = Some(HomeType::FamilyHome);
        let s = d(2026, 3, 1);
        let t = Some(&plan());
        assert!(
            field(check_transition(
                &from,
                HomeType::FamilyHome,
                "family",
                fam,
                s,
                t
            ))
            .starts_with("transition_from_placement_id")
        );
        assert!(
            field(check_transition(
                &from,
                HomeType::EmergencyHome,
                "",
                fam,
                s,
                t
            ))
            .starts_with("home_id")
        );
        assert!(
            field(check_transition(
                &from,
                HomeType::EmergencyHome,
                "jour",
                fam,
                s,
                t
            ))
            .starts_with("home_id")
        );
        assert!(
            field(check_transition(
                &from,
                HomeType::EmergencyHome,
                "other",
                Some(HomeType::ContractedEmergencyHome),
                s,
                t
            ))
            .starts_with("home_id")
        );
        assert!(
            field(check_transition(
                &from,
                HomeType::EmergencyHome,
                "family",
                fam,
                d(2026, 1, 1),
                t
            ))
            .starts_with("start_date")
        );
        assert!(
            field(check_transition(
                &from,
                HomeType::EmergencyHome,
                "family",
                fam,
                s,
                None
            ))
            .starts_with("transition")
        );
        let no_info = Transition {
            information_to_home: " ".into(),
            ..plan()
        };
        assert!(
            field(check_transition(
                &from,
                HomeType::EmergencyHome,
                "family",
                fam,
                s,
                Some(&no_info)
            ))
            .starts_with("transition.information_to_home")
        );
        let mut ended = from.clone();
        ended.status = PlacementStatus::Ended as i32;
        assert!(check_transition(&ended, HomeType::EmergencyHome, "family", fam, s, t).is_err());
    }

    #[test]
    fn a_settling_in_shorter_than_the_minimum_says_why() {
        assert_eq!(settling_in_days(d(2026, 3, 1), d(2026, 3, 15)), 14);
        assert_eq!(settling_in_days(d(2026, 3, 1), d(2026, 2, 1)), 0);
        assert_eq!(check_settling_in(14, 14, "").unwrap(), None);
        assert!(check_settling_in(13, 14, "  ").is_err());
        assert_eq!(
            check_settling_in(3, 14, " safety ").unwrap().as_deref(),
            Some("safety")
        );
    }

    #[test]
    fn the_network_alternative_is_recorded_or_noticed() {
        let (na, n) = check_network_alternative(Some(HomeType::NetworkHome), None).unwrap();
        assert!(na.unwrap().considered && n.is_none());
        let (na, n) = check_network_alternative(Some(HomeType::FamilyHome), None).unwrap();
        assert!(na.is_none() && n.is_none());
        let considered = NetworkAlternative {
            considered: true,
            reason_not_chosen: String::new(),
        };
        assert!(
            check_network_alternative(Some(HomeType::FamilyHome), Some(&considered))
                .unwrap_err()
                .to_string()
                .starts_with("network_alternative.reason_not_chosen")
        );
        let not = NetworkAlternative::default();
        let (_, n) = check_network_alternative(None, Some(&not)).unwrap();
        assert_eq!(n, Some(NOTICE_NETWORK_NOT_CONSIDERED));
    }

    #[test]
    fn the_custody_clock_runs_from_the_start_in_that_home() {
        let mut sol = jour(d(2024, 1, 10));
        sol.home_id = "h".into();
        sol.status = PlacementStatus::Ended as i32;
        sol.end_date = Some(dates::to_proto(d(2024, 6, 30)));
        let mut elsewhere = sol.clone();
        elsewhere.home_id = "x".into();
        let prior = vec![sol.clone(), elsewhere];
        assert_eq!(in_home_since(&prior, "h", d(2024, 7, 1)), d(2024, 1, 10));
        assert_eq!(
            in_home_since(&prior, "h", d(2024, 7, 2)),
            d(2024, 7, 2),
            "a break"
        );
        assert_eq!(in_home_since(&prior, "x", d(2024, 7, 1)), d(2024, 1, 10));
        assert_eq!(in_home_since(&prior, "y", d(2024, 7, 1)), d(2024, 7, 1));
        assert_eq!(
            next_consideration(d(2026, 1, 1), CustodyOutcome::NotInChildsInterest, 6),
            Some(d(2026, 7, 1))
        );
        assert_eq!(
            next_consideration(d(2026, 1, 1), CustodyOutcome::TransferApplied, 6),
            None
        );
    }

    #[test]
    fn a_closing_conversation_follows_the_end_once() {
        let mut p = jour(d(2025, 1, 1));
        let today = d(2026, 1, 1);
        let who = vec!["home".to_string()];
        assert!(closing_conversation(&p, today, today, &who, "", "u").is_err());
        p.status = PlacementStatus::Ended as i32;
        p.end_date = Some(dates::to_proto(d(2025, 12, 1)));
        assert!(closing_conversation(&p, d(2025, 11, 30), today, &who, "", "u").is_err());
        assert!(closing_conversation(&p, d(2026, 1, 2), today, &who, "", "u").is_err());
        assert!(closing_conversation(&p, today, today, &[], "", "u").is_err());
        assert!(closing_conversation(&p, today, today, &["Home!".into()], "", "u").is_err());
        let c = closing_conversation(&p, today, today, &who, " ok ", "u").unwrap();
        assert_eq!(c.note, "ok");
        p.closing_conversation = Some(c);
        assert!(closing_conversation(&p, today, today, &who, "", "u").is_err());
    }

    #[test]
    fn a_long_jourhem_stay_is_active_in_a_jourhem_for_the_threshold() {
        let p = jour(d(2026, 1, 1));
        assert!(long_jourhem_stay(&p, d(2026, 4, 1), 90));
        assert!(!long_jourhem_stay(&p, d(2026, 3, 31), 90));
        let mut fam = p.clone();
        fam.home_type = HomeType::FamilyHome as i32;
        assert!(!long_jourhem_stay(&fam, d(2027, 1, 1), 90));
        let mut ended = p;
        ended.status = PlacementStatus::Ended as i32;
        assert!(!long_jourhem_stay(&ended, d(2027, 1, 1), 90));
    }

    #[test]
    fn statistics_count_network_starts_and_ends_by_provider_and_type() {
        let mut a = jour(d(2026, 2, 1));
        a.placing_municipality_code = "0180".into();
        a.home_type = HomeType::NetworkHome as i32;
        let mut b = a.clone();
        b.home_type = HomeType::FamilyHome as i32;
        b.network_alternative = Some(NetworkAlternative {
            considered: true,
            reason_not_chosen: "none".into(),
        });
        b.status = PlacementStatus::Ended as i32;
        b.end_date = Some(dates::to_proto(d(2026, 5, 1)));
        b.end_reason = EndReason::Breakdown as i32;
        b.provider = ProviderKind::Agency as i32;
        let mut old = b.clone();
        old.start_date = Some(dates::to_proto(d(2025, 2, 1)));
        let (net, ends) = statistics(&[a, b, old], 2026);
        assert_eq!(
            net["0180"],
            NetworkCounts {
                placements: 2,
                network: 1,
                considered: 1
            }
        );
        let e = &ends[&(ProviderKind::Agency as i32, HomeType::FamilyHome as i32)];
        assert_eq!((e.ended, e.breakdowns), (2, 2));
    }
}
