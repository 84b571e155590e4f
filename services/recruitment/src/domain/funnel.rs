//! Funnel statistics: inquiries → met → trained → investigated → approved
//! for a cohort (the inquiries received in a period), with the median days
//! per step, drop-out reasons and the yield per campaign and channel.
//!
//! For the aggregate-only roles every count goes through
//! [`samling_kit::disclosure`]: 1–4 is shown as "<5", and a breakdown whose
//! cells add up to a total is suppressed as one table (complementary cells
//! hidden as ".." until no small count can be worked out from the total).
//! The campaign and channel breakdowns add up to a step's count (inquired,
//! approved), which is shown on its own: where a breakdown could only be
//! made safe by hiding that total, the breakdown's figures are all withheld
//! (".."), never the step. Medians are shown over at least 5 cases only.
use chrono::NaiveDate;
use samling_kit::dates;
use samling_kit::disclosure::{self, Shown, THRESHOLD};
use samling_proto::recruitment::v1::{
    CampaignYield, Case, Channel, ChannelYield, DropOutFigure, DropOutReason, FunnelStatistics,
    FunnelStep, FunnelStepFigure, Stage, StageOutcome, Track,
};
use std::collections::BTreeMap;

/// The funnel's steps, in the order of the standard track.
pub const STEPS: [FunnelStep; 5] = [
    FunnelStep::Inquired,
    FunnelStep::Met,
    FunnelStep::Trained,
    FunnelStep::Investigated,
    FunnelStep::Approved,
];

fn index(step: FunnelStep) -> usize {
    STEPS.iter().position(|s| *s == step).unwrap_or(0)
}

/// The steps a track passes, in its order (the network track meets no
/// information meeting and investigates before training).
pub fn steps_of(track: Track) -> &'static [FunnelStep] {
    match track {
        Track::NetworkHome => &[
            FunnelStep::Inquired,
            FunnelStep::Investigated,
            FunnelStep::Trained,
            FunnelStep::Approved,
        ],
        _ => &STEPS,
    }
}

/// One case as the statistics see it: dates and codes, no personal data
/// (a withdrawn case keeps exactly these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelCase {
    pub track: Track,
    /// When each of [`STEPS`] was reached.
    pub reached: [Option<NaiveDate>; 5],
    pub drop_out: Option<DropOutReason>,
    /// Empty = no campaign.
    pub campaign_id: String,
    pub channel: Channel,
}

impl FunnelCase {
    /// Inquired when received; met, trained, investigated when the stage was
    /// passed; approved on the decision date.
    pub fn from_case(c: &Case) -> FunnelCase {
        let day = |d: Option<&samling_proto::common::v1::Date>| {
            dates::opt_from_proto("date", d).ok().flatten()
        };
        let passed = |stage: Stage| {
            c.stages
                .iter()
                .find(|e| e.stage == stage as i32 && e.outcome() == StageOutcome::Passed)
                .and_then(|e| day(e.left_on.as_ref()))
        };
        let approved = c
            .approval
            .as_ref()
            .and_then(|a| day(a.decision_date.as_ref()))
            .or_else(|| {
                c.stages
                    .iter()
                    .find(|e| e.stage == Stage::Approved as i32)
                    .and_then(|e| day(e.entered_on.as_ref()))
            });
        FunnelCase {
            track: c.track(),
            reached: [
                day(c.received_on.as_ref()),
                passed(Stage::InfoMeeting),
                passed(Stage::Training),
                passed(Stage::Investigation),
                approved,
            ],
            drop_out: c.drop_out.as_ref().map(|d| d.reason()),
            campaign_id: c.campaign_id.clone(),
            channel: c.channel(),
        }
    }

    fn at(&self, step: FunnelStep) -> Option<NaiveDate> {
        self.reached[index(step)]
    }

    /// Days from the step before `step` on the case's track to `step`.
    fn days_to(&self, step: FunnelStep) -> Option<i64> {
        let order = steps_of(self.track);
        let i = order.iter().position(|s| *s == step)?;
        let prev = *order.get(i.checked_sub(1)?)?;
        Some((self.at(step)? - self.at(prev)?).num_days())
    }
}

/// The median in whole days, halves rounded up.
pub fn median_days(mut days: Vec<i64>) -> Option<i64> {
    if days.is_empty() {
        return None;
    }
    days.sort_unstable();
    let n = days.len();
    Some(if n % 2 == 1 {
        days[n / 2]
    } else {
        (days[n / 2 - 1] + days[n / 2] + 1).div_euclid(2)
    })
}

/// A count shown on its own: "<5" for 1–4 when suppressing.
fn alone(n: u32, suppress: bool) -> Shown {
    if suppress && (1..THRESHOLD).contains(&n) {
        Shown::Small
    } else {
        Shown::Count(n)
    }
}

/// A breakdown of a total shown elsewhere (as `alone` shows it): suppressed
/// as one table; if that would need the total hidden, every non-zero cell
/// is withheld instead.
fn breakdown(cells: &[u32], total: u32, suppress: bool) -> Vec<Shown> {
    if !suppress {
        return cells.iter().map(|c| Shown::Count(*c)).collect();
    }
    let (shown, t) = disclosure::suppress(cells, total);
    if t == alone(total, true) {
        shown
    } else {
        cells
            .iter()
            .map(|&c| {
                if c == 0 {
                    Shown::Count(0)
                } else {
                    Shown::Hidden
                }
            })
            .collect()
    }
}

/// The funnel of `cases` (already the cohort: period, municipality, track).
/// `campaign_names` name the campaigns by id; `suppress` for the
/// aggregate-only roles. The caller fills in region, municipality, period
/// and track.
pub fn funnel(
    cases: &[FunnelCase],
    campaign_names: &BTreeMap<String, String>,
    track: Track,
    suppress: bool,
) -> FunnelStatistics {
    let steps: &[FunnelStep] = match track {
        Track::NetworkHome => &[
            FunnelStep::Inquired,
            FunnelStep::Trained,
            FunnelStep::Investigated,
            FunnelStep::Approved,
        ],
        _ => &STEPS,
    };
    let count = |step: FunnelStep| cases.iter().filter(|c| c.at(step).is_some()).count() as u32;
    let step_figures: Vec<FunnelStepFigure> = steps
        .iter()
        .map(|&step| {
            let n = count(step);
            let shown = alone(n, suppress);
            let days: Vec<i64> = cases.iter().filter_map(|c| c.days_to(step)).collect();
            let enough = !suppress || days.len() >= THRESHOLD as usize;
            let median = median_days(days).filter(|_| enough);
            FunnelStepFigure {
                step: step as i32,
                count: shown.number(),
                count_display: shown.display(),
                median_days: median.map_or(0, |m| m.max(0) as u32),
                median_days_display: match median {
                    Some(m) => m.to_string(),
                    None if step == FunnelStep::Inquired => String::new(),
                    None if suppress && count(step) > 0 => disclosure::HIDDEN.into(),
                    None => String::new(),
                },
            }
        })
        .collect();

    // Drop-out reasons: one table adding up to its own total.
    let mut reasons: BTreeMap<i32, u32> = BTreeMap::new();
    for r in cases.iter().filter_map(|c| c.drop_out) {
        *reasons.entry(r as i32).or_default() += 1;
    }
    let cells: Vec<u32> = reasons.values().copied().collect();
    let total: u32 = cells.iter().sum();
    let (shown, total_shown) = if suppress {
        disclosure::suppress(&cells, total)
    } else {
        (
            cells.iter().map(|c| Shown::Count(*c)).collect(),
            Shown::Count(total),
        )
    };
    let drop_outs = reasons
        .keys()
        .zip(shown)
        .map(|(&reason, s)| DropOutFigure {
            reason,
            count: s.number(),
            count_display: s.display(),
        })
        .collect();

    // Yield per campaign and per channel: breakdowns of inquired and approved.
    let inquired = count(FunnelStep::Inquired);
    let approved = count(FunnelStep::Approved);
    let mut by_campaign: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let mut by_channel: BTreeMap<i32, (u32, u32)> = BTreeMap::new();
    for c in cases
        .iter()
        .filter(|c| c.at(FunnelStep::Inquired).is_some())
    {
        let ok = u32::from(c.at(FunnelStep::Approved).is_some());
        let e = by_campaign.entry(c.campaign_id.clone()).or_default();
        e.0 += 1;
        e.1 += ok;
        let e = by_channel.entry(c.channel as i32).or_default();
        e.0 += 1;
        e.1 += ok;
    }
    let split = |m: Vec<(u32, u32)>| -> (Vec<Shown>, Vec<Shown>) {
        let inq: Vec<u32> = m.iter().map(|x| x.0).collect();
        let app: Vec<u32> = m.iter().map(|x| x.1).collect();
        (
            breakdown(&inq, inquired, suppress),
            breakdown(&app, approved, suppress),
        )
    };
    let (ci, ca) = split(by_campaign.values().copied().collect());
    let campaigns = by_campaign
        .keys()
        .zip(ci.into_iter().zip(ca))
        .map(|(id, (i, a))| CampaignYield {
            campaign_id: id.clone(),
            campaign_name: campaign_names.get(id).cloned().unwrap_or_default(),
            inquiries: i.number(),
            inquiries_display: i.display(),
            approved: a.number(),
            approved_display: a.display(),
        })
        .collect();
    let (hi, ha) = split(by_channel.values().copied().collect());
    let channels = by_channel
        .keys()
        .zip(hi.into_iter().zip(ha))
        .map(|(&channel, (i, a))| ChannelYield {
            channel,
            inquiries: i.number(),
            inquiries_display: i.display(),
            approved: a.number(),
            approved_display: a.display(),
        })
        .collect();

    FunnelStatistics {
        track: track as i32,
        steps: step_figures,
        drop_outs,
        total_drop_outs: total_shown.number(),
        total_drop_outs_display: total_shown.display(),
        campaigns,
        channels,
        small_counts_suppressed: suppress,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// A standard case that reached `upto` steps, each `gap` days apart.
    fn case(
        upto: usize,
        gap: i64,
        campaign: &str,
        channel: Channel,
        drop: Option<DropOutReason>,
    ) -> FunnelCase {
        let start = d(2026, 1, 5);
        let mut reached = [None; 5];
        for (i, r) in reached.iter_mut().enumerate().take(upto) {
            *r = Some(start + Duration::days(gap * i as i64));
        }
        FunnelCase {
            track: Track::Standard,
            reached,
            drop_out: drop,
            campaign_id: campaign.into(),
            channel,
        }
    }

    fn fig(s: &FunnelStatistics, step: FunnelStep) -> &FunnelStepFigure {
        s.steps.iter().find(|f| f.step == step as i32).unwrap()
    }

    fn cohort() -> Vec<FunnelCase> {
        let mut v = Vec::new();
        // 30 inquiries: 20 from campaign A (web), 10 without (word of mouth).
        for i in 0..30 {
            let (camp, ch) = if i < 20 {
                ("a", Channel::Website)
            } else {
                ("", Channel::WordOfMouth)
            };
            // 12 met, 8 trained, 6 investigated, 6 approved; the rest dropped out.
            let upto = match i {
                0..=5 => 5,
                6..=7 => 3,
                8..=11 => 2,
                _ => 1,
            };
            let drop = match upto {
                5 => None,
                3 => Some(DropOutReason::Housing),
                2 => Some(DropOutReason::ChangedMind),
                _ if i % 3 == 0 => Some(DropOutReason::NoContact),
                _ => Some(DropOutReason::ChangedMind),
            };
            v.push(case(upto, 10 + i as i64, camp, ch, drop));
        }
        v
    }

    #[test]
    fn raw_figures_for_the_office() {
        let names = BTreeMap::from([("a".to_string(), "Hösten 2026".to_string())]);
        let s = funnel(&cohort(), &names, Track::Unspecified, false);
        let counts: Vec<u32> = s.steps.iter().map(|f| f.count).collect();
        assert_eq!(counts, vec![30, 12, 8, 6, 6]);
        assert!(!s.small_counts_suppressed);
        // Met: cases 0–11 with gaps 10..21 days: median of 10..=21 = 15.5 → 16.
        assert_eq!(fig(&s, FunnelStep::Met).median_days, 16);
        assert_eq!(fig(&s, FunnelStep::Approved).median_days_display, "13");
        assert_eq!(fig(&s, FunnelStep::Inquired).median_days_display, "");
        assert_eq!(s.total_drop_outs, 24);
        let a = s.campaigns.iter().find(|c| c.campaign_id == "a").unwrap();
        assert_eq!(
            (a.inquiries, a.approved, a.campaign_name.as_str()),
            (20, 6, "Hösten 2026")
        );
        let none = s
            .campaigns
            .iter()
            .find(|c| c.campaign_id.is_empty())
            .unwrap();
        assert_eq!((none.inquiries, none.approved), (10, 0));
        assert_eq!(s.channels.len(), 2);
    }

    #[test]
    fn small_counts_are_suppressed_with_their_complements() {
        let names = BTreeMap::new();
        let s = funnel(&cohort(), &names, Track::Unspecified, true);
        assert!(s.small_counts_suppressed);
        // Steps of 5 or more are shown.
        assert_eq!(fig(&s, FunnelStep::Inquired).count_display, "30");
        assert_eq!(fig(&s, FunnelStep::Approved).count_display, "6");
        // Drop-outs: housing 2 (small), changed mind 4+…, no contact …
        let reasons: BTreeMap<i32, String> = s
            .drop_outs
            .iter()
            .map(|f| (f.reason, f.count_display.clone()))
            .collect();
        assert_eq!(reasons[&(DropOutReason::Housing as i32)], "<5");
        // A lone small cell is never the total minus the rest: one more hidden.
        let hidden = reasons
            .values()
            .filter(|v| v.as_str() != "<5" && v.parse::<u32>().is_err())
            .count();
        assert!(hidden >= 1, "{reasons:?}");
        // Numbers of figures not shown are 0.
        for f in &s.drop_outs {
            if f.count_display.parse::<u32>().is_err() {
                assert_eq!(f.count, 0);
            }
        }
        // Approved per campaign: a = 6, none = 0: shown as they are.
        let a = s.campaigns.iter().find(|c| c.campaign_id == "a").unwrap();
        assert_eq!(a.approved_display, "6");
    }

    #[test]
    fn a_breakdown_that_would_pin_a_small_cell_is_withheld_not_the_step() {
        // 8 inquiries: 4 from campaign a, 4 from b. Shown: 8 inquired. Two
        // "<5" adding to 8 would both be 4: the breakdown is withheld.
        let mut v = Vec::new();
        for i in 0..8 {
            v.push(case(
                1,
                1,
                if i < 4 { "a" } else { "b" },
                Channel::Website,
                None,
            ));
        }
        let s = funnel(&v, &BTreeMap::new(), Track::Unspecified, true);
        assert_eq!(fig(&s, FunnelStep::Inquired).count_display, "8");
        for c in &s.campaigns {
            assert_eq!(c.inquiries_display, "..", "{c:?}");
            assert_eq!(c.inquiries, 0);
            // Nobody approved: zeros are shown.
            assert_eq!(c.approved_display, "0");
        }
        // One channel with all 8: the same as the total, shown.
        assert_eq!(s.channels[0].inquiries_display, "8");
    }

    #[test]
    fn medians_need_five_cases_when_suppressed() {
        let v: Vec<FunnelCase> = (0..4)
            .map(|i| case(2, 7 + i, "", Channel::Event, None))
            .collect();
        let raw = funnel(&v, &BTreeMap::new(), Track::Standard, false);
        assert_eq!(fig(&raw, FunnelStep::Met).median_days_display, "9");
        let s = funnel(&v, &BTreeMap::new(), Track::Standard, true);
        let met = fig(&s, FunnelStep::Met);
        assert_eq!(
            (
                met.count_display.as_str(),
                met.median_days_display.as_str(),
                met.median_days
            ),
            ("<5", "..", 0)
        );
        assert_eq!(median_days(vec![5, 1, 3]), Some(3));
        assert_eq!(median_days(vec![4, 1, 2, 3]), Some(3));
        assert_eq!(median_days(vec![]), None);
    }

    #[test]
    fn the_network_track_has_no_meeting_step_and_counts_its_own_order() {
        let start = d(2026, 2, 2);
        let net = FunnelCase {
            track: Track::NetworkHome,
            reached: [
                Some(start),
                None,
                Some(start + Duration::days(30)),
                Some(start + Duration::days(10)),
                Some(start + Duration::days(40)),
            ],
            drop_out: None,
            campaign_id: String::new(),
            channel: Channel::Municipality,
        };
        let s = funnel(
            std::slice::from_ref(&net),
            &BTreeMap::new(),
            Track::NetworkHome,
            false,
        );
        let steps: Vec<i32> = s.steps.iter().map(|f| f.step).collect();
        assert!(!steps.contains(&(FunnelStep::Met as i32)));
        // Investigated 10 days after the inquiry; trained 20 after that.
        assert_eq!(fig(&s, FunnelStep::Investigated).median_days, 10);
        assert_eq!(fig(&s, FunnelStep::Trained).median_days, 20);
        assert_eq!(fig(&s, FunnelStep::Approved).median_days, 10);
    }

    #[test]
    fn cases_become_funnel_rows_from_their_stage_history() {
        use crate::domain::pipeline::drop_out;
        use crate::domain::pipeline::tests::{answered_case, d as day};
        let c = answered_case(Track::Standard, day(2026, 3, 2));
        let mut c2 = c.clone();
        c2.stages[0].left_on = Some(dates::to_proto(day(2026, 3, 3)));
        c2.stages[0].outcome = StageOutcome::Passed as i32;
        c2.stages.push(samling_proto::recruitment::v1::StageEntry {
            stage: Stage::InfoMeeting as i32,
            entered_on: Some(dates::to_proto(day(2026, 3, 3))),
            left_on: Some(dates::to_proto(day(2026, 3, 12))),
            outcome: StageOutcome::Passed as i32,
            ..Default::default()
        });
        c2.stage = Stage::Training as i32;
        c2.stages.push(samling_proto::recruitment::v1::StageEntry {
            stage: Stage::Training as i32,
            entered_on: Some(dates::to_proto(day(2026, 3, 12))),
            ..Default::default()
        });
        let out = drop_out(
            &c2,
            DropOutReason::Health as i32,
            1,
            day(2026, 4, 1),
            day(2026, 4, 1),
        )
        .unwrap();
        let f = FunnelCase::from_case(&out);
        assert_eq!(f.reached[0], Some(day(2026, 3, 2)));
        assert_eq!(f.reached[1], Some(day(2026, 3, 12)));
        assert_eq!(f.reached[2], None, "dropped out in training");
        assert_eq!(f.drop_out, Some(DropOutReason::Health));
        assert_eq!(f.channel, Channel::SocialMedia);
    }
}
