//! Ranking (issue 20 §2–3): hard constraints first, then the weighted,
//! explained score; kinship candidates first; at least five suitable homes
//! of different kinds when they exist, and when fewer, which constraint
//! excluded how many. Also the night mode and the merge of regional answers
//! for a national search.

use super::MatchingError;
use super::bits::ones;
use super::config::{MatchingConfig, N_CRITERIA};
use super::constraints::{self, CHECKS, INDEXED};
use super::geo::{Muni, Proximity};
use super::model::{CompactHome, ReadModel, cat, day};
use super::profile::{Anchor, Child, Profile};
use super::score::{self, CriterionResult};
use chrono::{Datelike, Months, NaiveDate};
use samling_proto::recruitment::v1::{AnchorKind, MatchConstraint, NeedKind, PlacementKind};
use samling_proto::registry::v1::{HomeType, ProviderKind, Willingness};
use std::collections::BTreeMap;

/// Number of [`MatchConstraint`] values (including UNSPECIFIED).
pub const N_CONSTRAINTS: usize = 14;

/// What a ranking is asked for besides the profile.
#[derive(Clone, Debug)]
pub struct RankOptions {
    /// Only homes of this region of the model (None = every home in it).
    pub region: Option<String>,
    /// Homes per list besides the kinship candidates; None = the default.
    pub limit: Option<u32>,
    /// The day the date rules are checked on.
    pub as_of: NaiveDate,
    /// Night mode: only jourhem declared available now.
    pub night: bool,
}

/// One listed home.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RankedHome {
    pub rank: u32,
    pub id: u128,
    pub home_id: String,
    pub home_type: HomeType,
    pub provider: ProviderKind,
    pub kinship: bool,
    /// 0–1000.
    pub score: u32,
    pub criteria: Vec<CriterionResult>,
    /// Unknown for a protected home (withheld).
    pub municipality: Muni,
    /// Empty for a protected home.
    pub region_id: String,
    pub free_places: u8,
    pub jour_available: bool,
    pub version: i64,
    pub description: String,
}

impl RankedHome {
    fn kind(&self) -> u8 {
        ((self.home_type as u8 & 0x0F) << 1) | u8::from(self.provider == ProviderKind::Agency)
    }
}

/// A named kinship home that did not pass, with every reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KinExclusion {
    pub home_id: String,
    pub constraints: Vec<MatchConstraint>,
    /// Not in the read model.
    pub not_found: bool,
}

/// The list for one placement unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitRanking {
    pub child_keys: Vec<String>,
    pub all_together: bool,
    pub homes: Vec<RankedHome>,
    pub considered: u32,
    pub suitable: u32,
    pub kinds_offered: u32,
    pub below_minimum: bool,
    /// Indexed by `MatchConstraint as usize`; every home excluded is
    /// counted once, under the first constraint it fails.
    pub excluded: [u32; N_CONSTRAINTS],
    pub kinship_excluded: Vec<KinExclusion>,
}

impl UnitRanking {
    pub fn excluded_by(&self, c: MatchConstraint) -> u32 {
        self.excluded[c as usize]
    }

    /// (constraint, count) for every constraint, in check order.
    pub fn exclusion_counts(&self) -> Vec<(MatchConstraint, u32)> {
        CHECKS
            .iter()
            .map(|(c, _)| (*c, self.excluded[*c as usize]))
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranking {
    pub config_version: String,
    pub units: Vec<UnitRanking>,
    pub regions: Vec<String>,
    pub partial: bool,
    pub regions_missing: Vec<String>,
    pub cursors: BTreeMap<String, u64>,
    pub as_of: NaiveDate,
}

impl Ranking {
    /// Own region first: widen to a national search when a list has fewer
    /// suitable homes than the minimum.
    pub fn needs_national(&self) -> bool {
        self.units.iter().any(|u| u.below_minimum)
    }
}

/// Everything one unit's ranking needs, worked out once per request.
pub struct Ctx<'a> {
    pub cfg: &'a MatchingConfig,
    pub model: &'a ReadModel,
    pub as_of: i32,
    pub as_of_year: i32,
    pub record_threshold: i32,
    pub n: u8,
    pub kind: PlacementKind,
    pub willingness: Willingness,
    pub type_mask: u8,
    pub kin_type_mask: u8,
    pub kin_slots: Vec<u32>,
    pub night: bool,
    pub placing: Muni,
    pub allergy_pets: Vec<u32>,
    pub pet_allergies: Vec<u32>,
    pub keep_away: Vec<Muni>,
    pub within: Vec<(Muni, Proximity)>,
    pub needs: Vec<(NeedKind, Vec<u32>)>,
    pub ages: Vec<Option<u32>>,
    pub age_keys: Vec<Vec<u32>>,
    pub langs: Vec<Vec<u32>>,
    pub culture: Vec<Vec<u32>>,
    /// Scored anchors: home, school, parents, health care.
    pub prox: [Vec<Muni>; 4],
    pub preferred_mask: u8,
    pub heavy: bool,
    pub heavy_mask: u8,
    pub deliver: Vec<(String, Option<u32>)>,
}

fn type_bit(t: HomeType) -> u8 {
    1u8 << (t as u8 & 7)
}

const CARE_TYPES: [HomeType; 5] = [
    HomeType::NetworkHome,
    HomeType::FamilyHome,
    HomeType::ReinforcedFamilyHome,
    HomeType::EmergencyHome,
    HomeType::ContractedEmergencyHome,
];

impl<'a> Ctx<'a> {
    pub fn is_kin(&self, slot: u32) -> bool {
        self.kin_slots.binary_search(&slot).is_ok()
    }

    pub fn new(
        model: &'a ReadModel,
        cfg: &'a MatchingConfig,
        p: &Profile,
        unit: &[usize],
        as_of: NaiveDate,
        night: bool,
    ) -> Ctx<'a> {
        let children: Vec<&Child> = unit.iter().map(|i| &p.children[*i]).collect();
        let tag = |c: u32, s: &str| model.tags.get(s).map(|id| c | id);
        let mut allergy_pets = Vec::new();
        let mut pet_allergies = Vec::new();
        for c in &children {
            for a in &c.allergies {
                allergy_pets.extend(
                    cfg.pets_for_allergy(a)
                        .iter()
                        .filter_map(|p| tag(cat::PET, p)),
                );
            }
            for pet in &c.pets {
                pet_allergies.extend(
                    cfg.allergies_for_pet(pet)
                        .iter()
                        .filter_map(|a| tag(cat::ALLERGY, a)),
                );
            }
        }
        for v in [&mut allergy_pets, &mut pet_allergies] {
            v.sort_unstable();
            v.dedup();
        }
        let mut needs: Vec<NeedKind> = children
            .iter()
            .flat_map(|c| c.needs.iter().copied())
            .collect();
        if p.violence_exposure {
            needs.push(NeedKind::Protection);
        }
        needs.sort();
        needs.dedup();
        let needs = needs
            .into_iter()
            .map(|n| {
                let keys = cfg.need_competences[n as usize]
                    .iter()
                    .filter_map(|t| tag(cat::COMPETENCE, t))
                    .collect();
                (n, keys)
            })
            .collect();
        let ages: Vec<Option<u32>> = children.iter().map(|c| c.age_on(as_of)).collect();
        let age_keys = ages
            .iter()
            .flatten()
            .map(|a| {
                cfg.age_tags(*a)
                    .iter()
                    .filter_map(|t| tag(cat::TARGET, t))
                    .collect()
            })
            .collect();
        let langs = children
            .iter()
            .filter(|c| !c.languages.is_empty())
            .map(|c| {
                c.languages
                    .iter()
                    .filter_map(|l| tag(cat::LANGUAGE, l))
                    .collect()
            })
            .collect();
        let culture = children
            .iter()
            .filter(|c| !c.culture.is_empty() || !c.religion.is_empty())
            .map(|c| {
                [&c.culture, &c.religion]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .filter_map(|s| model.tags.get(s))
                    .collect()
            })
            .collect();
        let keep =
            |a: &Anchor| a.keep_away || (p.protected_identity && a.kind == AnchorKind::Parents);
        let keep_away = p
            .anchors
            .iter()
            .filter(|a| keep(a))
            .map(|a| a.muni)
            .collect();
        let within = p
            .anchors
            .iter()
            .filter_map(|a| a.within.map(|w| (a.muni, w)))
            .collect();
        let mut prox: [Vec<Muni>; 4] = Default::default();
        for a in p.anchors.iter().filter(|a| !keep(a)) {
            let i = match a.kind {
                AnchorKind::Home => 0,
                AnchorKind::School => 1,
                AnchorKind::Parents => 2,
                AnchorKind::HealthCare => 3,
                _ => continue,
            };
            prox[i].push(a.muni);
        }
        let mut type_mask = 0u8;
        for t in CARE_TYPES {
            if t != HomeType::NetworkHome && (p.home_types.is_empty() || p.home_types.contains(&t))
            {
                type_mask |= type_bit(t);
            }
        }
        let kin_type_mask = CARE_TYPES.iter().fold(0, |m, t| m | type_bit(*t));
        let mut kin_slots: Vec<u32> = p
            .kinship
            .iter()
            .filter_map(|id| model.slot_of(*id))
            .collect();
        kin_slots.sort_unstable();
        let willingness = match p.kind {
            PlacementKind::Emergency => Willingness::Emergency,
            PlacementKind::ShortTerm => Willingness::ShortTerm,
            _ => Willingness::LongTerm,
        };
        let mask_of = |v: &[HomeType]| v.iter().fold(0u8, |m, t| m | type_bit(*t));
        let preferred_mask = cfg
            .preferred_types
            .get(p.kind as usize)
            .map_or(0, |v| mask_of(v));
        let heavy = children
            .iter()
            .any(|c| c.needs.iter().any(|n| cfg.heavy_needs.contains(n)));
        let record_threshold = as_of
            .checked_sub_months(Months::new(cfg.record_check_valid_months))
            .map_or(i32::MIN + 1, day);
        Ctx {
            cfg,
            model,
            as_of: day(as_of),
            as_of_year: as_of.year(),
            record_threshold,
            n: u8::try_from(children.len()).unwrap_or(u8::MAX),
            kind: p.kind,
            willingness,
            type_mask,
            kin_type_mask,
            kin_slots,
            night,
            placing: p.placing,
            allergy_pets,
            pet_allergies,
            keep_away,
            within,
            needs,
            ages,
            age_keys,
            langs,
            culture,
            prox,
            preferred_mask,
            heavy,
            heavy_mask: mask_of(&cfg.heavy_need_types),
            deliver: p
                .deliver
                .iter()
                .map(|d| (d.clone(), model.tags.get(d)))
                .collect(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Cand {
    score: u32,
    id: u128,
    slot: u32,
    kind: u8,
}

/// Best first: higher score, then lower id (stable across runs).
fn order(a: (u32, u128), b: (u32, u128)) -> std::cmp::Ordering {
    b.0.cmp(&a.0).then(a.1.cmp(&b.1))
}

/// Choose up to `limit` of `items` (score, id, kind): the best of up to
/// `min_kinds` different kinds first, then the best of the rest. Returns
/// indexes into `items`, best first.
fn select(items: &[(u32, u128, u8)], limit: usize, min_kinds: usize) -> Vec<usize> {
    let key = |i: usize| (items[i].0, items[i].1);
    let mut best: [Option<usize>; 32] = [None; 32];
    for (i, it) in items.iter().enumerate() {
        let k = usize::from(it.2 & 31);
        if best[k].is_none_or(|b| order(key(i), key(b)).is_lt()) {
            best[k] = Some(i);
        }
    }
    let mut bests: Vec<usize> = best.iter().flatten().copied().collect();
    bests.sort_by(|a, b| order(key(*a), key(*b)));
    bests.truncate(min_kinds.min(limit));
    let mut top: Vec<usize> = (0..items.len()).collect();
    if top.len() > limit && limit > 0 {
        top.select_nth_unstable_by(limit - 1, |a, b| order(key(*a), key(*b)));
        top.truncate(limit);
    }
    top.sort_by(|a, b| order(key(*a), key(*b)));
    let mut chosen = bests;
    for i in top {
        if chosen.len() >= limit {
            break;
        }
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    chosen.sort_by(|a, b| order(key(*a), key(*b)));
    chosen
}

fn ranked(model: &ReadModel, ctx: &Ctx, c: &Cand, kinship: bool) -> RankedHome {
    let h = &model.homes[c.slot as usize];
    let protected = h.protected();
    RankedHome {
        rank: 0,
        id: h.id,
        home_id: h.id_string(),
        home_type: h.home_type(),
        provider: h.provider(),
        kinship,
        score: c.score,
        criteria: score::explain(h, ctx),
        municipality: if protected { Muni::UNKNOWN } else { h.muni },
        region_id: if protected {
            String::new()
        } else {
            model.geo.region_id(h.region).to_string()
        },
        free_places: h.free_places(ctx.cfg.normal_capacity),
        jour_available: h.jour_available(),
        version: h.version,
        description: describe(model, ctx.cfg, h, ctx.as_of_year),
    }
}

/// A short description of a home from the register's profile: what
/// socialjouren asks for at night (seed 003 ≈14562–14575). No names, no
/// address; a protected home's place is withheld.
pub fn describe(model: &ReadModel, cfg: &MatchingConfig, h: &CompactHome, year: i32) -> String {
    let names = |c| model.tag_names(h, c).join(", ");
    let mut parts = vec![format!(
        "{} ({})",
        capitalised(score::type_words(h.home_type())),
        if h.provider() == ProviderKind::Agency {
            "agency-supported"
        } else {
            "public"
        }
    )];
    let cap = if h.capacity == 0 {
        cfg.normal_capacity
    } else {
        h.capacity
    };
    parts.push(format!(
        "{} of {} places free",
        h.free_places(cfg.normal_capacity),
        cap
    ));
    if h.jour_available() {
        parts.push("available now".into());
    }
    parts.push(format!(
        "{} adult{}",
        h.adults,
        if h.adults == 1 { "" } else { "s" }
    ));
    let own: Vec<String> = h
        .own_children_birth_years()
        .iter()
        .map(|y| (year - i32::from(*y)).max(0).to_string())
        .collect();
    if own.is_empty() {
        parts.push("no children of their own at home".into());
    } else {
        parts.push(format!("own children aged {}", own.join(", ")));
    }
    if h.placed > 0 {
        parts.push(format!("{} placed", h.placed));
    }
    for (c, label) in [
        (cat::LANGUAGE, "languages"),
        (cat::COMPETENCE, "competences"),
        (cat::TARGET, "target groups"),
        (cat::PET, "pets"),
    ] {
        let v = names(c);
        if !v.is_empty() {
            parts.push(format!("{label}: {v}"));
        }
    }
    if h.tags.iter().all(|k| k & cat::MASK != cat::PET) {
        parts.push("no pets".into());
    }
    if h.protected() || !h.muni.is_known() {
        parts.push("location withheld".into());
    } else {
        parts.push(format!("in {}", h.muni.name()));
    }
    parts.join("; ")
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

impl ReadModel {
    /// Rank the homes of this model for a profile: one list per placement
    /// unit, with an "all together" list first when the siblings may be
    /// split.
    pub fn rank(
        &self,
        cfg: &MatchingConfig,
        p: &Profile,
        opts: &RankOptions,
    ) -> Result<Ranking, MatchingError> {
        let limit = match opts.limit {
            None | Some(0) => cfg.default_limit,
            Some(l) if l > cfg.max_limit => {
                return Err(MatchingError::invalid(
                    "limit",
                    format!("must be at most {}", cfg.max_limit),
                ));
            }
            Some(l) => l,
        } as usize;
        let region = match &opts.region {
            None => None,
            Some(r) => Some(self.geo.region_index(r).ok_or_else(|| {
                MatchingError::invalid("region", "is not a region of this read model")
            })?),
        };
        if p.children.is_empty() {
            return Err(MatchingError::invalid(
                "children",
                "at least one child is required",
            ));
        }
        let units = p.units();
        let mut lists: Vec<(Vec<usize>, bool)> = Vec::new();
        if units.len() > 1 {
            lists.push(((0..p.children.len()).collect(), true));
        }
        lists.extend(units.into_iter().map(|u| (u, false)));
        let out = lists
            .iter()
            .map(|(u, all)| self.rank_unit(cfg, p, u, *all, region, limit, opts))
            .collect();
        Ok(Ranking {
            config_version: cfg.version.clone(),
            units: out,
            regions: match region {
                Some(r) => vec![self.geo.region_id(r).to_string()],
                None => (0..self.geo.region_count())
                    .map(|r| self.geo.region_id(r as u8).to_string())
                    .collect(),
            },
            partial: false,
            regions_missing: vec![],
            cursors: self.cursors().clone(),
            as_of: opts.as_of,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn rank_unit(
        &self,
        cfg: &MatchingConfig,
        p: &Profile,
        unit: &[usize],
        all_together: bool,
        region: Option<u8>,
        limit: usize,
        opts: &RankOptions,
    ) -> UnitRanking {
        let ctx = Ctx::new(self, cfg, p, unit, opts.as_of, opts.night);
        let mut excluded = [0u32; N_CONSTRAINTS];
        let mut considered = 0u32;

        // Named kinship homes: wherever they are in the model, every reason.
        let mut kin_pass: Vec<Cand> = Vec::new();
        let mut kinship_excluded = Vec::new();
        for id in &p.kinship {
            let Some(slot) = self.slot_of(*id) else {
                kinship_excluded.push(KinExclusion {
                    home_id: uuid::Uuid::from_u128(*id).hyphenated().to_string(),
                    constraints: vec![],
                    not_found: true,
                });
                continue;
            };
            let h = &self.homes[slot as usize];
            considered += 1;
            let fails = constraints::all_failures(slot, h, &ctx);
            match fails.first() {
                None => kin_pass.push(self.cand(slot, h, &ctx)),
                Some(first) => {
                    excluded[*first as usize] += 1;
                    kinship_excluded.push(KinExclusion {
                        home_id: h.id_string(),
                        constraints: fails,
                        not_found: false,
                    });
                }
            }
        }

        // Everyone else: the indexed constraints 64 homes at a time, then
        // the rest home by home.
        let idx = &self.idx;
        let scope = match region {
            Some(r) => &idx.by_region[usize::from(r).min(idx.by_region.len() - 1)],
            None => &idx.present,
        };
        let mut kin_words = vec![0u64; idx.present.words()];
        for s in &ctx.kin_slots {
            kin_words[*s as usize / 64] |= 1 << (s % 64);
        }
        let mut cands: Vec<Cand> = Vec::new();
        for (w, kin_w) in kin_words.iter().enumerate() {
            let s0 = scope.word(w) & !kin_w;
            if s0 == 0 {
                continue;
            }
            considered += s0.count_ones();
            let mut types = 0u64;
            for (t, b) in idx.by_type.iter().enumerate() {
                if ctx.type_mask & (1 << t) != 0 {
                    types |= b.word(w);
                }
            }
            let stages = [
                idx.approved.word(w),
                idx.in_service.word(w),
                types,
                idx.by_willingness[ctx.willingness as usize].word(w),
                if ctx.night {
                    idx.jour_available.word(w)
                } else {
                    u64::MAX
                },
            ];
            let mut live = s0;
            for (i, st) in stages.iter().enumerate() {
                let next = live & st;
                excluded[CHECKS[i].0 as usize] += (live & !next).count_ones();
                live = next;
            }
            for b in ones(live) {
                let slot = (w * 64 + b) as u32;
                let h = &self.homes[slot as usize];
                match constraints::first_failure(slot, h, &ctx, INDEXED) {
                    Some(c) => excluded[c as usize] += 1,
                    None => cands.push(self.cand(slot, h, &ctx)),
                }
            }
        }

        let suitable = (cands.len() + kin_pass.len()) as u32;
        let items: Vec<(u32, u128, u8)> = cands.iter().map(|c| (c.score, c.id, c.kind)).collect();
        let chosen = select(&items, limit, cfg.minimum_suitable as usize);
        kin_pass.sort_by(|a, b| order((a.score, a.id), (b.score, b.id)));
        let mut homes: Vec<RankedHome> = kin_pass
            .iter()
            .map(|c| ranked(self, &ctx, c, true))
            .chain(chosen.iter().map(|i| ranked(self, &ctx, &cands[*i], false)))
            .collect();
        finish_ranks(&mut homes);
        UnitRanking {
            child_keys: unit.iter().map(|i| p.children[*i].key.clone()).collect(),
            all_together,
            kinds_offered: kinds(&homes),
            homes,
            considered,
            suitable,
            below_minimum: suitable < cfg.minimum_suitable,
            excluded,
            kinship_excluded,
        }
    }

    fn cand(&self, slot: u32, h: &CompactHome, ctx: &Ctx) -> Cand {
        let parts = score::parts(h, ctx);
        Cand {
            score: score::total(&parts, &ctx.cfg.weights),
            id: h.id,
            slot,
            kind: h.kind(),
        }
    }
}

fn finish_ranks(homes: &mut [RankedHome]) {
    for (i, h) in homes.iter_mut().enumerate() {
        h.rank = i as u32 + 1;
    }
}

fn kinds(homes: &[RankedHome]) -> u32 {
    let mut k: Vec<u8> = homes.iter().map(RankedHome::kind).collect();
    k.sort_unstable();
    k.dedup();
    k.len() as u32
}

/// Socialjouren's night mode: the profile of a night call.
#[derive(Clone, Debug, PartialEq)]
pub struct NightRequest {
    /// Where the child is now: nearer homes score higher.
    pub location: Muni,
    pub placing: Muni,
    pub children: u8,
    pub allergies: Vec<String>,
    pub pets: Vec<String>,
    pub protected_identity: bool,
    pub anchors: Vec<Anchor>,
}

impl NightRequest {
    /// The profile ranked at night: `children` children together, for an
    /// emergency placement, the current place as the home anchor.
    pub fn profile(&self) -> Profile {
        let n = usize::from(self.children.max(1));
        let mut children: Vec<Child> = (0..n).map(Child::anonymous).collect();
        children[0].allergies = self.allergies.clone();
        children[0].pets = self.pets.clone();
        let mut anchors = self.anchors.clone();
        anchors.push(Anchor {
            kind: AnchorKind::Home,
            muni: self.location,
            within: None,
            keep_away: false,
        });
        Profile {
            placing: self.placing,
            children,
            kind: PlacementKind::Emergency,
            protected_identity: self.protected_identity,
            violence_exposure: false,
            anchors,
            kinship: vec![],
            deliver: vec![],
            home_types: vec![],
        }
    }
}

impl ReadModel {
    /// Free jourhem now, nearest and best first, with their descriptions.
    pub fn night_mode(
        &self,
        cfg: &MatchingConfig,
        req: &NightRequest,
        region: Option<String>,
        limit: Option<u32>,
        as_of: NaiveDate,
    ) -> Result<Ranking, MatchingError> {
        self.rank(
            cfg,
            &req.profile(),
            &RankOptions {
                region,
                limit,
                as_of,
                night: true,
            },
        )
    }
}

/// A national answer from the regions' answers (the gateway's fan-out):
/// counts add up, lists are chosen again from the regions' lists (each
/// region's list holds its best homes and its best of each kind, so the
/// national choice is the same as over all homes at once), ranks renumbered.
/// `missing` are regions that did not answer in time: the answer is partial.
pub fn merge_regional(
    parts: Vec<Ranking>,
    missing: Vec<String>,
    cfg: &MatchingConfig,
    limit: Option<u32>,
) -> Result<Ranking, MatchingError> {
    let limit = match limit {
        None | Some(0) => cfg.default_limit,
        Some(l) if l > cfg.max_limit => {
            return Err(MatchingError::invalid(
                "limit",
                format!("must be at most {}", cfg.max_limit),
            ));
        }
        Some(l) => l,
    } as usize;
    let Some(first) = parts.first() else {
        return Err(MatchingError::precondition("no region answered"));
    };
    let n_units = first.units.len();
    if parts.iter().any(|p| p.units.len() != n_units) {
        return Err(MatchingError::precondition(
            "the regions' answers are for different profiles",
        ));
    }
    let mut units = Vec::with_capacity(n_units);
    for u in 0..n_units {
        let mut out = UnitRanking {
            child_keys: first.units[u].child_keys.clone(),
            all_together: first.units[u].all_together,
            homes: vec![],
            considered: 0,
            suitable: 0,
            kinds_offered: 0,
            below_minimum: false,
            excluded: [0; N_CONSTRAINTS],
            kinship_excluded: vec![],
        };
        let mut kin: Vec<RankedHome> = Vec::new();
        let mut others: Vec<RankedHome> = Vec::new();
        let mut kin_ex: BTreeMap<String, KinExclusion> = BTreeMap::new();
        for p in &parts {
            let r = &p.units[u];
            out.considered += r.considered;
            out.suitable += r.suitable;
            for (a, b) in out.excluded.iter_mut().zip(r.excluded) {
                *a += b;
            }
            for h in &r.homes {
                let list = if h.kinship { &mut kin } else { &mut others };
                if !list.iter().any(|o| o.id == h.id) {
                    list.push(h.clone());
                }
            }
            for k in &r.kinship_excluded {
                kin_ex
                    .entry(k.home_id.clone())
                    .and_modify(|e| {
                        if e.not_found {
                            *e = k.clone();
                        }
                    })
                    .or_insert_with(|| k.clone());
            }
        }
        // A kinship home found (passing or not) in some region is not "not found".
        let found: Vec<String> = kin.iter().map(|h| h.home_id.clone()).collect();
        out.kinship_excluded = kin_ex
            .into_values()
            .filter(|k| !(k.not_found && found.contains(&k.home_id)))
            .collect();
        kin.sort_by(|a, b| order((a.score, a.id), (b.score, b.id)));
        let items: Vec<(u32, u128, u8)> =
            others.iter().map(|h| (h.score, h.id, h.kind())).collect();
        let chosen = select(&items, limit, cfg.minimum_suitable as usize);
        out.homes = kin
            .into_iter()
            .chain(chosen.into_iter().map(|i| others[i].clone()))
            .collect();
        finish_ranks(&mut out.homes);
        out.kinds_offered = kinds(&out.homes);
        out.below_minimum = out.suitable < cfg.minimum_suitable;
        units.push(out);
    }
    let mut regions: Vec<String> = parts.iter().flat_map(|p| p.regions.clone()).collect();
    regions.sort();
    regions.dedup();
    let mut cursors = BTreeMap::new();
    for p in &parts {
        cursors.extend(p.cursors.clone());
    }
    Ok(Ranking {
        config_version: first.config_version.clone(),
        units,
        regions,
        partial: !missing.is_empty(),
        regions_missing: missing,
        cursors,
        as_of: first.as_of,
    })
}

/// Night mode across regions: the own region's free jourhem first, as it
/// ranked them, then the other regions' answers by score (ties to the lower
/// id), up to `limit` in all; counts add up. `missing` are regions that did
/// not answer in time: the answer is partial and names them.
pub fn merge_night(
    own: Ranking,
    others: Vec<Ranking>,
    missing: Vec<String>,
    cfg: &MatchingConfig,
    limit: Option<u32>,
) -> Ranking {
    let limit = limit
        .filter(|l| *l > 0)
        .unwrap_or(cfg.default_limit)
        .min(cfg.max_limit) as usize;
    let mut out = own;
    let mut regions = out.regions.clone();
    let mut other_regions: Vec<String> = others.iter().flat_map(|p| p.regions.clone()).collect();
    other_regions.sort();
    other_regions.dedup();
    other_regions.retain(|r| !regions.contains(r));
    regions.extend(other_regions);
    if let Some(u) = out.units.first_mut() {
        let mut rest: Vec<RankedHome> = Vec::new();
        for p in &others {
            let Some(r) = p.units.first() else { continue };
            u.considered += r.considered;
            u.suitable += r.suitable;
            for (a, b) in u.excluded.iter_mut().zip(r.excluded) {
                *a += b;
            }
            for h in &r.homes {
                if !u.homes.iter().any(|o| o.id == h.id) && !rest.iter().any(|o| o.id == h.id) {
                    rest.push(h.clone());
                }
            }
        }
        rest.sort_by(|a, b| order((a.score, a.id), (b.score, b.id)));
        u.homes.truncate(limit);
        let room = limit - u.homes.len();
        u.homes.extend(rest.into_iter().take(room));
        finish_ranks(&mut u.homes);
        u.kinds_offered = kinds(&u.homes);
        u.below_minimum = u.suitable < cfg.minimum_suitable;
    }
    for p in &others {
        out.cursors.extend(p.cursors.clone());
    }
    out.regions = regions;
    out.partial = !missing.is_empty();
    out.regions_missing = missing;
    out
}

/// The weights as (criterion key, weight), for answers and docs.
pub fn weights(cfg: &MatchingConfig) -> Vec<(&'static str, u32)> {
    super::config::CRITERIA
        .iter()
        .map(|c| (c.key(), cfg.weight(*c)))
        .collect::<Vec<_>>()
}

const _: () = assert!(N_CRITERIA == 13);
