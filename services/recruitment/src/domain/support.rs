//! Support after approval (seed 003 lines 10944–11120): handledning
//! (individual and group), further training, crisis and sibling support,
//! relief (avlastning), support reachable evenings and weekends through the
//! first year (the risk of a breakdown is highest then), and a closing
//! conversation after every ended placement (lines 11170–11246).
use super::calendar::Deadline;
use super::text::{id, line, opt_id};
use super::{RecruitmentError, Rules};
use chrono::NaiveDate;
use samling_kit::dates;
use samling_proto::recruitment::v1::{
    ClosingConversation, ClosingConversationStatus, ClosingTopic, ReliefArrangement,
    ReliefProvider, SupportKind, SupportPlan, SupportSession,
};

/// A support session, checked: individual kinds name one home, group
/// handledning two or more; further training names its course; an
/// out-of-hours contact is out of hours.
pub fn check_session(
    s: &SupportSession,
    today: NaiveDate,
) -> Result<SupportSession, RecruitmentError> {
    let kind = SupportKind::try_from(s.kind)
        .ok()
        .filter(|k| *k != SupportKind::Unspecified)
        .ok_or_else(|| RecruitmentError::invalid("kind", "is required"))?;
    let mut homes = Vec::new();
    for h in &s.home_ids {
        let h = id("home_ids", h)?;
        if !homes.contains(&h) {
            homes.push(h);
        }
    }
    match kind {
        SupportKind::HandledningGroup if homes.len() < 2 => {
            return Err(RecruitmentError::invalid(
                "home_ids",
                "group handledning names at least two homes",
            ));
        }
        SupportKind::HandledningGroup => {}
        _ if homes.len() != 1 => {
            return Err(RecruitmentError::invalid(
                "home_ids",
                "names exactly one home",
            ));
        }
        _ => {}
    }
    let held = dates::from_proto("held_on", s.held_on.as_ref())?;
    if held > today {
        return Err(RecruitmentError::invalid("held_on", "is in the future"));
    }
    if !(1..=1440).contains(&s.duration_minutes) {
        return Err(RecruitmentError::invalid(
            "duration_minutes",
            "must be 1–1440",
        ));
    }
    let course = opt_id("course_id", &s.course_id)?;
    if kind == SupportKind::FurtherTraining && course.is_none() {
        return Err(RecruitmentError::invalid(
            "course_id",
            "is required for further training",
        ));
    }
    Ok(SupportSession {
        kind: kind as i32,
        home_ids: homes,
        out_of_hours: s.out_of_hours || kind == SupportKind::OutOfHoursContact,
        course_id: course.unwrap_or_default(),
        ..s.clone()
    })
}

/// A relief arrangement, checked.
pub fn check_relief(r: &ReliefArrangement) -> Result<(), RecruitmentError> {
    id("home_id", &r.home_id)?;
    if ReliefProvider::try_from(r.provider)
        .ok()
        .filter(|p| *p != ReliefProvider::Unspecified)
        .is_none()
    {
        return Err(RecruitmentError::invalid("provider", "is required"));
    }
    if !(1..=31).contains(&r.days_per_month) {
        return Err(RecruitmentError::invalid("days_per_month", "must be 1–31"));
    }
    let from = dates::from_proto("from", r.from.as_ref())?;
    if dates::opt_from_proto("until", r.until.as_ref())?.is_some_and(|u| u < from) {
        return Err(RecruitmentError::invalid("until", "is before from"));
    }
    Ok(())
}

/// A home's support plan as of `today`: the first year from approval, and
/// evening and weekend support through it (or until an extension ends).
/// `sessions` are the home's support sessions (any period).
pub fn plan(
    home_id: &str,
    approved_on: NaiveDate,
    extended_until: Option<NaiveDate>,
    network_home: bool,
    sessions: &[SupportSession],
    today: NaiveDate,
    rules: &Rules,
) -> SupportPlan {
    let first_year_ends = dates::add_months(approved_on, rules.out_of_hours_support_months);
    let until = extended_until.map_or(first_year_ends, |e| e.max(first_year_ends));
    let year_ago = today
        .checked_sub_months(chrono::Months::new(12))
        .unwrap_or(NaiveDate::MIN);
    let handledning = sessions
        .iter()
        .filter(|s| {
            matches!(
                s.kind(),
                SupportKind::HandledningIndividual | SupportKind::HandledningGroup
            )
        })
        .filter(|s| s.home_ids.iter().any(|h| h == home_id))
        .filter_map(|s| {
            dates::opt_from_proto("held_on", s.held_on.as_ref())
                .ok()
                .flatten()
        })
        .filter(|d| *d > year_ago && *d <= today)
        .count() as u32;
    SupportPlan {
        home_id: home_id.to_string(),
        approved_on: Some(dates::to_proto(approved_on)),
        first_year_ends_on: Some(dates::to_proto(first_year_ends)),
        first_year: today >= approved_on && today < first_year_ends,
        out_of_hours_support: today >= approved_on && today < until,
        out_of_hours_support_until: Some(dates::to_proto(until)),
        network_home,
        handledning_last_12_months: handledning,
        ..Default::default()
    }
}

/// The closing conversation a placement's end opens (from the registry's
/// `placement ended` event): due sooner after an unplanned end.
pub fn open_closing_conversation(
    conversation_id: &str,
    home_id: &str,
    placement_id: &str,
    ended_on: NaiveDate,
    unplanned: bool,
    now_text: &str,
    rules: &Rules,
) -> Result<ClosingConversation, RecruitmentError> {
    let days = if unplanned {
        rules.unplanned_closing_conversation_working_days
    } else {
        rules.closing_conversation_working_days
    };
    Ok(ClosingConversation {
        id: id("closing_conversation_id", conversation_id)?,
        version: 1,
        home_id: id("home_id", home_id)?,
        placement_id: id("placement_id", placement_id)?,
        placement_ended_on: Some(dates::to_proto(ended_on)),
        unplanned_end: unplanned,
        due_on: Some(dates::to_proto(
            Deadline::working_days_after(ended_on, days).due_on,
        )),
        status: ClosingConversationStatus::Due as i32,
        created_at: now_text.to_string(),
        ..Default::default()
    })
}

/// Sets `overdue` as of `today`.
pub fn refresh_closing(mut c: ClosingConversation, today: NaiveDate) -> ClosingConversation {
    let due = dates::opt_from_proto("due_on", c.due_on.as_ref())
        .ok()
        .flatten();
    c.overdue = c.status() == ClosingConversationStatus::Due && due.is_some_and(|d| today > d);
    c
}

/// What the conversation found, once: held (on a date after the end) or
/// declined by the home.
pub fn record_closing(
    c: &ClosingConversation,
    outcome: &ClosingConversation,
    held_by: &str,
    today: NaiveDate,
) -> Result<ClosingConversation, RecruitmentError> {
    let status = ClosingConversationStatus::try_from(outcome.status)
        .ok()
        .filter(|s| {
            matches!(
                s,
                ClosingConversationStatus::Held | ClosingConversationStatus::Declined
            )
        })
        .ok_or_else(|| RecruitmentError::invalid("status", "must be held or declined"))?;
    if c.status() != ClosingConversationStatus::Due {
        return Err(RecruitmentError::precondition(
            "the closing conversation is already recorded",
        ));
    }
    let ended = dates::opt_from_proto("placement_ended_on", c.placement_ended_on.as_ref())?;
    let held_on = dates::opt_from_proto("held_on", outcome.held_on.as_ref())?;
    let held_on = match (status, held_on) {
        (ClosingConversationStatus::Held, None) => {
            return Err(RecruitmentError::invalid(
                "held_on",
                "is required when held",
            ));
        }
        (_, Some(h)) if h > today => {
            return Err(RecruitmentError::invalid("held_on", "is in the future"));
        }
        (_, Some(h)) if ended.is_some_and(|e| h < e) => {
            return Err(RecruitmentError::invalid(
                "held_on",
                "is before the placement ended",
            ));
        }
        (_, h) => h,
    };
    let mut topics = Vec::new();
    for &t in &outcome.topics {
        let t = ClosingTopic::try_from(t)
            .ok()
            .filter(|t| *t != ClosingTopic::Unspecified)
            .ok_or_else(|| RecruitmentError::invalid("topics", "is not a known topic"))?;
        if !topics.contains(&(t as i32)) {
            topics.push(t as i32);
        }
    }
    let mut out = c.clone();
    out.status = status as i32;
    out.held_on = dates::opt_to_proto(held_on);
    out.held_by = held_by.to_string();
    out.topics = topics;
    out.wants_to_continue = outcome.wants_to_continue;
    out.open_to_contact_family = outcome.open_to_contact_family;
    out.crisis_support_offered = outcome.crisis_support_offered;
    out.document_ref = line("document_ref", &outcome.document_ref, false, 100)?;
    out.overdue = false;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    const H1: &str = "0190a0b1-0000-7000-8000-0000000000f1";
    const H2: &str = "0190a0b1-0000-7000-8000-0000000000f2";
    const P1: &str = "0190a0b1-0000-7000-8000-0000000000a1";
    const C1: &str = "0190a0b1-0000-7000-8000-0000000000c1";

    fn session(kind: SupportKind, homes: &[&str], on: NaiveDate) -> SupportSession {
        SupportSession {
            kind: kind as i32,
            home_ids: homes.iter().map(|s| s.to_string()).collect(),
            held_on: Some(dates::to_proto(on)),
            duration_minutes: 90,
            ..Default::default()
        }
    }

    #[test]
    fn sessions_are_checked_by_kind() {
        let t = d(2026, 5, 1);
        assert!(check_session(&session(SupportKind::HandledningIndividual, &[H1], t), t).is_ok());
        let e = check_session(&session(SupportKind::HandledningGroup, &[H1], t), t).unwrap_err();
        assert!(e.to_string().starts_with("home_ids: group"));
        assert!(check_session(&session(SupportKind::HandledningGroup, &[H1, H2], t), t).is_ok());
        let e = check_session(
            &session(SupportKind::HandledningIndividual, &[H1, H2], t),
            t,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "home_ids: names exactly one home");
        let e = check_session(&session(SupportKind::FurtherTraining, &[H1], t), t).unwrap_err();
        assert!(e.to_string().starts_with("course_id:"));
        let ooh = check_session(&session(SupportKind::OutOfHoursContact, &[H1], t), t).unwrap();
        assert!(ooh.out_of_hours);
        let mut long = session(SupportKind::CrisisSupport, &[H1], t);
        long.duration_minutes = 0;
        assert!(
            check_session(&long, t)
                .unwrap_err()
                .to_string()
                .starts_with("duration_minutes:")
        );
        let e = check_session(
            &session(SupportKind::HandledningIndividual, &[H1], d(2026, 5, 2)),
            t,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "held_on: is in the future");
        assert!(check_session(&session(SupportKind::Unspecified, &[H1], t), t).is_err());
    }

    #[test]
    fn out_of_hours_support_runs_through_the_first_year_or_an_extension() {
        let rules = Rules::default();
        let approved = d(2026, 5, 20);
        let p = plan(H1, approved, None, false, &[], d(2026, 9, 1), &rules);
        assert!(p.first_year && p.out_of_hours_support);
        assert_eq!(p.first_year_ends_on, Some(dates::to_proto(d(2027, 5, 20))));
        let p = plan(H1, approved, None, false, &[], d(2027, 5, 19), &rules);
        assert!(p.out_of_hours_support);
        let p = plan(H1, approved, None, false, &[], d(2027, 5, 20), &rules);
        assert!(!p.first_year && !p.out_of_hours_support);
        let p = plan(
            H1,
            approved,
            Some(d(2027, 12, 31)),
            true,
            &[],
            d(2027, 6, 1),
            &rules,
        );
        assert!(!p.first_year && p.out_of_hours_support && p.network_home);
        // An extension shorter than the first year does not cut it short.
        let p = plan(
            H1,
            approved,
            Some(d(2026, 6, 1)),
            false,
            &[],
            d(2026, 9, 1),
            &rules,
        );
        assert!(p.out_of_hours_support);
        // Handledning of this home in the last 12 months.
        let sessions = vec![
            session(SupportKind::HandledningIndividual, &[H1], d(2026, 6, 1)),
            session(SupportKind::HandledningGroup, &[H1, H2], d(2026, 8, 1)),
            session(SupportKind::HandledningIndividual, &[H2], d(2026, 8, 2)),
            session(SupportKind::CrisisSupport, &[H1], d(2026, 8, 3)),
            session(SupportKind::HandledningIndividual, &[H1], d(2025, 8, 1)),
        ];
        let p = plan(H1, approved, None, false, &sessions, d(2026, 9, 1), &rules);
        assert_eq!(p.handledning_last_12_months, 2);
    }

    #[test]
    fn relief_is_checked() {
        let good = ReliefArrangement {
            home_id: H1.into(),
            provider: ReliefProvider::MentorFamily as i32,
            days_per_month: 2,
            from: Some(dates::to_proto(d(2026, 6, 1))),
            ..Default::default()
        };
        assert!(check_relief(&good).is_ok());
        let mut bad = good.clone();
        bad.days_per_month = 0;
        assert!(
            check_relief(&bad)
                .unwrap_err()
                .to_string()
                .starts_with("days_per_month:")
        );
        let mut bad = good.clone();
        bad.until = Some(dates::to_proto(d(2026, 5, 1)));
        assert_eq!(
            check_relief(&bad).unwrap_err().to_string(),
            "until: is before from"
        );
        let mut bad = good;
        bad.provider = 0;
        assert!(check_relief(&bad).is_err());
    }

    #[test]
    fn a_closing_conversation_is_due_after_every_end_sooner_after_a_breakdown() {
        let rules = Rules::default();
        let ended = d(2026, 6, 12); // a Friday; midsummer eve on the 19th
        let planned = open_closing_conversation(C1, H1, P1, ended, false, "now", &rules).unwrap();
        assert_eq!(
            planned.due_on,
            Some(dates::to_proto(crate::domain::calendar::add_working_days(
                ended, 20
            )))
        );
        let unplanned = open_closing_conversation(C1, H1, P1, ended, true, "now", &rules).unwrap();
        // Five working days: 15–18 June, then midsummer eve is off: 22 June.
        assert_eq!(unplanned.due_on, Some(dates::to_proto(d(2026, 6, 22))));
        assert!(!refresh_closing(unplanned.clone(), d(2026, 6, 22)).overdue);
        assert!(refresh_closing(unplanned.clone(), d(2026, 6, 23)).overdue);

        let held = ClosingConversation {
            status: ClosingConversationStatus::Held as i32,
            held_on: Some(dates::to_proto(d(2026, 6, 17))),
            topics: vec![
                ClosingTopic::BreakdownCauses as i32,
                ClosingTopic::Wellbeing as i32,
            ],
            wants_to_continue: true,
            crisis_support_offered: true,
            ..Default::default()
        };
        let done = record_closing(&unplanned, &held, "officer", d(2026, 6, 20)).unwrap();
        assert_eq!(done.status(), ClosingConversationStatus::Held);
        assert!(done.wants_to_continue && !refresh_closing(done.clone(), d(2026, 9, 1)).overdue);
        assert!(matches!(
            record_closing(&done, &held, "officer", d(2026, 6, 20)),
            Err(RecruitmentError::Precondition(_))
        ));
        let mut early = held.clone();
        early.held_on = Some(dates::to_proto(d(2026, 6, 1)));
        assert!(
            record_closing(&unplanned, &early, "o", d(2026, 6, 20))
                .unwrap_err()
                .to_string()
                .contains("before the placement ended")
        );
        let mut no_date = held.clone();
        no_date.held_on = None;
        assert_eq!(
            record_closing(&unplanned, &no_date, "o", d(2026, 6, 20))
                .unwrap_err()
                .to_string(),
            "held_on: is required when held"
        );
        let declined = ClosingConversation {
            status: ClosingConversationStatus::Declined as i32,
            ..Default::default()
        };
        assert!(record_closing(&unplanned, &declined, "o", d(2026, 6, 20)).is_ok());
        let due = ClosingConversation {
            status: ClosingConversationStatus::Due as i32,
            ..Default::default()
        };
        assert!(
            record_closing(&unplanned, &due, "o", d(2026, 6, 20))
                .unwrap_err()
                .to_string()
                .starts_with("status:")
        );
        assert!(open_closing_conversation("x", H1, P1, ended, false, "now", &rules).is_err());
    }
}
