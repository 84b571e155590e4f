//! The weighted score (issue 20 §2): each criterion scores a home 0–1000,
//! the total is Σ weight × score / Σ weight over the criteria that apply to
//! this child. [`parts`] gives the numbers (for every candidate); [`explain`]
//! adds the words (for the listed homes only) from the same numbers.

use super::config::{CRITERIA, Criterion, N_CRITERIA, need_key};
use super::geo::Proximity;
use super::model::{CompactHome, cat};
use super::rank::Ctx;
use samling_proto::recruitment::v1::PlacementKind;
use samling_proto::registry::v1::HomeType;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applies {
    Scored,
    /// The profile states nothing for it: left out of the total.
    NotApplicable,
    /// The home's location is withheld (protected identity): neutral 500.
    Withheld,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    pub score: u16,
    pub applies: Applies,
}

const NA: Part = Part {
    score: 0,
    applies: Applies::NotApplicable,
};
const NEUTRAL: u16 = 500;

fn scored(score: u32) -> Part {
    Part {
        score: score.min(1000) as u16,
        applies: Applies::Scored,
    }
}

fn fraction(hit: usize, of: usize) -> u32 {
    (hit * 1000).checked_div(of).unwrap_or(0) as u32
}

/// One criterion's result with its words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CriterionResult {
    pub criterion: Criterion,
    pub weight: u32,
    pub score: u16,
    pub applies: Applies,
    /// weight × score.
    pub points: u64,
    pub detail: String,
}

fn covers_need(h: &CompactHome, keys: &[u32]) -> bool {
    keys.iter().any(|k| h.has_tag(*k))
}

fn any_tag(h: &CompactHome, ids: &[u32]) -> bool {
    ids.iter().any(|id| {
        h.has_tag(cat::LANGUAGE | id)
            || h.has_tag(cat::COMPETENCE | id)
            || h.has_tag(cat::TARGET | id)
    })
}

fn home_has_targets(h: &CompactHome) -> bool {
    h.tags.iter().any(|k| k & cat::MASK == cat::TARGET)
}

fn best_proximity(h: &CompactHome, ctx: &Ctx, anchors: &[super::geo::Muni]) -> Option<Proximity> {
    anchors
        .iter()
        .filter_map(|a| ctx.model.geo.proximity(h.muni, *a))
        .min()
}

fn own_children_near_in_age(h: &CompactHome, ctx: &Ctx) -> usize {
    let gap = ctx.cfg.age_gap_years as i32;
    h.own_children_birth_years()
        .iter()
        .filter(|y| {
            let own_age = ctx.as_of_year - i32::from(**y);
            ctx.ages
                .iter()
                .flatten()
                .any(|a| (own_age - *a as i32).abs() < gap)
        })
        .count()
}

const ATTENTION: [u16; 4] = [1000, 700, 400, 100];

fn type_fit(h: &CompactHome, ctx: &Ctx) -> u32 {
    let bit = 1u8 << (h.home_type & 7);
    let reinforced = h.home_type() == HomeType::ReinforcedFamilyHome;
    match (
        ctx.heavy,
        ctx.heavy_mask & bit != 0,
        ctx.preferred_mask & bit != 0,
    ) {
        (true, true, _) => 1000,
        (true, false, true) => 500,
        (true, false, false) => 400,
        (false, _, true) => 1000,
        (false, _, false) if reinforced => 800,
        _ => 500,
    }
}

/// The score of each criterion for one home.
pub fn parts(h: &CompactHome, ctx: &Ctx) -> [Part; N_CRITERIA] {
    let mut out = [NA; N_CRITERIA];
    for c in CRITERIA {
        out[c.index()] = part(c, h, ctx);
    }
    out
}

fn proximity_part(h: &CompactHome, ctx: &Ctx, i: usize) -> Part {
    let anchors = &ctx.prox[i];
    if anchors.is_empty() {
        return NA;
    }
    if h.protected() || !h.muni.is_known() {
        return Part {
            score: NEUTRAL,
            applies: Applies::Withheld,
        };
    }
    match best_proximity(h, ctx, anchors) {
        Some(p) => scored(u32::from(ctx.cfg.proximity_score(p))),
        None => NA,
    }
}

fn part(c: Criterion, h: &CompactHome, ctx: &Ctx) -> Part {
    match c {
        Criterion::Needs => {
            if ctx.needs.is_empty() {
                return NA;
            }
            let hit = ctx.needs.iter().filter(|(_, k)| covers_need(h, k)).count();
            scored(fraction(hit, ctx.needs.len()))
        }
        Criterion::AgeGroup => {
            if ctx.age_keys.is_empty() {
                return NA;
            }
            if !home_has_targets(h) {
                return scored(u32::from(NEUTRAL));
            }
            let hit = ctx
                .age_keys
                .iter()
                .filter(|keys| keys.iter().any(|k| h.has_tag(*k)))
                .count();
            scored(fraction(hit, ctx.age_keys.len()))
        }
        Criterion::Language => {
            if ctx.langs.is_empty() {
                return NA;
            }
            let hit = ctx
                .langs
                .iter()
                .filter(|keys| keys.iter().any(|k| h.has_tag(*k)))
                .count();
            scored(fraction(hit, ctx.langs.len()))
        }
        Criterion::CultureReligion => {
            if ctx.culture.is_empty() {
                return NA;
            }
            let hit = ctx.culture.iter().filter(|ids| any_tag(h, ids)).count();
            scored(fraction(hit, ctx.culture.len()))
        }
        Criterion::ProximityHome => proximity_part(h, ctx, 0),
        Criterion::ProximitySchool => proximity_part(h, ctx, 1),
        Criterion::ProximityParents => proximity_part(h, ctx, 2),
        Criterion::ProximityHealthCare => proximity_part(h, ctx, 3),
        Criterion::HomeTypeFit => scored(type_fit(h, ctx)),
        Criterion::HouseholdAges => {
            if ctx.ages.iter().all(Option::is_none) {
                return NA;
            }
            let near = own_children_near_in_age(h, ctx) as u32;
            scored(1000u32.saturating_sub(400 * near))
        }
        Criterion::Attention => {
            let others = h.own_children_birth_years().len() + usize::from(h.placed);
            scored(u32::from(ATTENTION[others.min(3)]))
        }
        Criterion::JourReady => {
            if ctx.kind != PlacementKind::Emergency {
                return NA;
            }
            scored(if h.jour_available() { 1000 } else { 0 })
        }
        Criterion::Deliverables => {
            if ctx.deliver.is_empty() {
                return NA;
            }
            let hit = ctx
                .deliver
                .iter()
                .filter(|(_, id)| {
                    id.is_some_and(|id| {
                        h.has_tag(cat::COMPETENCE | id) || h.has_tag(cat::TARGET | id)
                    })
                })
                .count();
            scored(fraction(hit, ctx.deliver.len()))
        }
    }
}

/// Σ weight × score / Σ weight over the criteria that apply (0–1000).
pub fn total(parts: &[Part; N_CRITERIA], weights: &[u32; N_CRITERIA]) -> u32 {
    let mut num = 0u64;
    let mut den = 0u64;
    for (p, w) in parts.iter().zip(weights) {
        if p.applies != Applies::NotApplicable {
            num += u64::from(*w) * u64::from(p.score);
            den += u64::from(*w);
        }
    }
    num.checked_div(den).unwrap_or(0) as u32
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(", ")
    }
}

/// The criteria of one home with their words.
pub fn explain(h: &CompactHome, ctx: &Ctx) -> Vec<CriterionResult> {
    let ps = parts(h, ctx);
    CRITERIA
        .iter()
        .map(|c| {
            let p = ps[c.index()];
            let weight = ctx.cfg.weight(*c);
            CriterionResult {
                criterion: *c,
                weight,
                score: p.score,
                applies: p.applies,
                points: if p.applies == Applies::NotApplicable {
                    0
                } else {
                    u64::from(weight) * u64::from(p.score)
                },
                detail: detail(*c, p, h, ctx),
            }
        })
        .collect()
}

const ANCHOR_WORDS: [&str; 4] = [
    "the child's home municipality",
    "the school",
    "the parents",
    "the child's health care",
];

fn detail(c: Criterion, p: Part, h: &CompactHome, ctx: &Ctx) -> String {
    if p.applies == Applies::NotApplicable {
        return match c {
            Criterion::JourReady => "not an emergency placement".into(),
            _ => "nothing stated in the profile".into(),
        };
    }
    if p.applies == Applies::Withheld {
        return "location withheld (protected identity): neutral score".into();
    }
    let name = |id: u32| ctx.model.tags.name(id).to_string();
    match c {
        Criterion::Needs => {
            let (met, not): (Vec<_>, Vec<_>) =
                ctx.needs.iter().partition(|(_, k)| covers_need(h, k));
            format!(
                "meets {} of {} needs ({}); not met: {}",
                met.len(),
                ctx.needs.len(),
                list(&met.iter().map(|(n, _)| need_key(*n)).collect::<Vec<_>>()),
                list(&not.iter().map(|(n, _)| need_key(*n)).collect::<Vec<_>>())
            )
        }
        Criterion::AgeGroup => {
            if !home_has_targets(h) {
                return "the home states no target groups: neutral score".into();
            }
            let hit = ctx
                .age_keys
                .iter()
                .filter(|keys| keys.iter().any(|k| h.has_tag(*k)))
                .count();
            format!(
                "target groups ({}) fit the age of {} of {} children",
                list(
                    &ctx.model
                        .tag_names(h, cat::TARGET)
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                ),
                hit,
                ctx.age_keys.len()
            )
        }
        Criterion::Language => {
            let shared: Vec<String> = ctx
                .langs
                .iter()
                .flatten()
                .filter(|k| h.has_tag(**k))
                .map(|k| name(*k & !cat::MASK))
                .collect();
            let hit = ctx
                .langs
                .iter()
                .filter(|keys| keys.iter().any(|k| h.has_tag(*k)))
                .count();
            format!(
                "shares a language with {} of {} children ({})",
                hit,
                ctx.langs.len(),
                list(&dedup(shared))
            )
        }
        Criterion::CultureReligion => {
            let hit = ctx.culture.iter().filter(|ids| any_tag(h, ids)).count();
            format!(
                "the home's profile names the culture or religion of {} of {} children",
                hit,
                ctx.culture.len()
            )
        }
        Criterion::ProximityHome
        | Criterion::ProximitySchool
        | Criterion::ProximityParents
        | Criterion::ProximityHealthCare => {
            let i = match c {
                Criterion::ProximityHome => 0,
                Criterion::ProximitySchool => 1,
                Criterion::ProximityParents => 2,
                _ => 3,
            };
            match best_proximity(h, ctx, &ctx.prox[i]) {
                Some(pr) => format!("{} as {}", pr.words(), ANCHOR_WORDS[i]),
                None => "location unknown".into(),
            }
        }
        Criterion::HomeTypeFit => {
            let t = type_words(h.home_type());
            let kind = kind_words(ctx.kind);
            match p.score {
                1000 if ctx.heavy => format!("{t}: fits children with heavy needs"),
                1000 => format!("{t}: fits a {kind} placement"),
                800 => format!("{t}: more support than a {kind} placement needs"),
                _ if ctx.heavy => {
                    format!("{t}: children with heavy needs fit a reinforced home best")
                }
                _ => format!("{t}: not the usual home type for a {kind} placement"),
            }
        }
        Criterion::HouseholdAges => {
            let own = h.own_children_birth_years().len();
            if own == 0 {
                return "no children of its own at home".into();
            }
            format!(
                "{} of {} own children within {} years of a placed child's age",
                own_children_near_in_age(h, ctx),
                own,
                ctx.cfg.age_gap_years
            )
        }
        Criterion::Attention => {
            format!(
                "{} other children in the home ({} own, {} placed)",
                h.own_children_birth_years().len() + usize::from(h.placed),
                h.own_children_birth_years().len(),
                h.placed
            )
        }
        Criterion::JourReady => {
            if h.jour_available() {
                "declared available now".into()
            } else {
                "not declared available now".into()
            }
        }
        Criterion::Deliverables => {
            let (yes, no): (Vec<_>, Vec<_>) = ctx.deliver.iter().partition(|(_, id)| {
                id.is_some_and(|id| h.has_tag(cat::COMPETENCE | id) || h.has_tag(cat::TARGET | id))
            });
            format!(
                "delivers {}; not: {}",
                list(&yes.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()),
                list(&no.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>())
            )
        }
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

pub fn type_words(t: HomeType) -> &'static str {
    match t {
        HomeType::NetworkHome => "network home",
        HomeType::FamilyHome => "family home",
        HomeType::ReinforcedFamilyHome => "reinforced family home",
        HomeType::EmergencyHome => "emergency home",
        HomeType::ContractedEmergencyHome => "contracted emergency home",
        HomeType::MentorFamily => "mentor family",
        HomeType::ContactFamily => "contact family",
        HomeType::Unspecified => "home",
    }
}

pub fn kind_words(k: PlacementKind) -> &'static str {
    match k {
        PlacementKind::Emergency => "emergency",
        PlacementKind::ShortTerm => "short-term",
        PlacementKind::LongTerm => "long-term",
        PlacementKind::Unspecified => "",
    }
}
