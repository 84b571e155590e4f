//! The matching standard's versioned configuration: weights per criterion,
//! the tag maps (needs → competences, ages → target groups, allergens →
//! pets), preferred home types and the policy numbers. Read from TOML; the
//! built-in default is `default.toml` beside this file, so the defaults and
//! their documentation are one text.

use super::MatchingError;
use super::geo::Proximity;
use samling_proto::recruitment::v1::{NeedKind, PlacementKind};
use samling_proto::registry::v1::HomeType;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The built-in configuration.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// The criteria of the weighted score, in the order they are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Criterion {
    Needs,
    AgeGroup,
    Language,
    CultureReligion,
    ProximityHome,
    ProximitySchool,
    ProximityParents,
    ProximityHealthCare,
    HomeTypeFit,
    HouseholdAges,
    Attention,
    JourReady,
    Deliverables,
}

pub const N_CRITERIA: usize = 13;

pub const CRITERIA: [Criterion; N_CRITERIA] = [
    Criterion::Needs,
    Criterion::AgeGroup,
    Criterion::Language,
    Criterion::CultureReligion,
    Criterion::ProximityHome,
    Criterion::ProximitySchool,
    Criterion::ProximityParents,
    Criterion::ProximityHealthCare,
    Criterion::HomeTypeFit,
    Criterion::HouseholdAges,
    Criterion::Attention,
    Criterion::JourReady,
    Criterion::Deliverables,
];

impl Criterion {
    /// The name used in config, answers and docs.
    pub fn key(self) -> &'static str {
        match self {
            Criterion::Needs => "needs",
            Criterion::AgeGroup => "age_group",
            Criterion::Language => "language",
            Criterion::CultureReligion => "culture_religion",
            Criterion::ProximityHome => "proximity_home",
            Criterion::ProximitySchool => "proximity_school",
            Criterion::ProximityParents => "proximity_parents",
            Criterion::ProximityHealthCare => "proximity_health_care",
            Criterion::HomeTypeFit => "home_type_fit",
            Criterion::HouseholdAges => "household_ages",
            Criterion::Attention => "attention",
            Criterion::JourReady => "jour_ready",
            Criterion::Deliverables => "deliverables",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: String,
    minimum_suitable: u32,
    default_limit: u32,
    max_limit: u32,
    record_check_valid_months: u32,
    protected_min_distance: Proximity,
    normal_capacity: u32,
    age_gap_years: u32,
    heavy_needs: Vec<String>,
    proximity_scores: ProximityScores,
    weights: BTreeMap<String, u32>,
    need_competences: BTreeMap<String, Vec<String>>,
    age_bands: Vec<AgeBand>,
    allergens: BTreeMap<String, Vec<String>>,
    preferred_types: PreferredTypes,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProximityScores {
    same_municipality: u32,
    same_county: u32,
    same_region: u32,
    national: u32,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct AgeBand {
    pub max_age: u32,
    pub tags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreferredTypes {
    emergency: Vec<String>,
    short_term: Vec<String>,
    long_term: Vec<String>,
    heavy_needs: Vec<String>,
}

/// The configuration as validated.
#[derive(Clone, Debug)]
pub struct MatchingConfig {
    pub version: String,
    pub minimum_suitable: u32,
    pub default_limit: u32,
    pub max_limit: u32,
    pub record_check_valid_months: u32,
    pub protected_min_distance: Proximity,
    pub normal_capacity: u8,
    pub age_gap_years: u32,
    /// Indexed by `Proximity as usize - 1`.
    pub proximity_scores: [u16; 4],
    /// Indexed by [`Criterion::index`].
    pub weights: [u32; N_CRITERIA],
    /// Indexed by `NeedKind as usize`.
    pub need_competences: Vec<Vec<String>>,
    /// Ascending by `max_age`.
    pub age_bands: Vec<AgeBand>,
    pub allergens: BTreeMap<String, Vec<String>>,
    /// Indexed by `PlacementKind as usize`.
    pub preferred_types: Vec<Vec<HomeType>>,
    pub heavy_need_types: Vec<HomeType>,
    pub heavy_needs: Vec<NeedKind>,
}

impl Default for MatchingConfig {
    fn default() -> Self {
        // The built-in file is checked by a test; a broken edit fails CI,
        // never a running service.
        MatchingConfig::from_toml(DEFAULT_TOML).unwrap_or_else(|e| panic!("default.toml: {e}"))
    }
}

fn cfg_err(m: impl Into<String>) -> MatchingError {
    MatchingError::Config(m.into())
}

/// Tags as the register keeps them: trimmed and lower-case.
pub fn norm_tag(s: &str) -> String {
    s.trim().to_lowercase()
}

fn tags(field: &str, v: &[String]) -> Result<Vec<String>, MatchingError> {
    let mut out = Vec::with_capacity(v.len());
    for t in v {
        let t = norm_tag(t);
        if t.is_empty() || t.len() > 64 {
            return Err(cfg_err(format!("{field}: tags must be 1–64 characters")));
        }
        out.push(t);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn home_type(field: &str, s: &str) -> Result<HomeType, MatchingError> {
    HomeType::from_str_name(&format!("HOME_TYPE_{}", s.trim().to_uppercase()))
        .filter(|t| *t != HomeType::Unspecified)
        .ok_or_else(|| cfg_err(format!("{field}: unknown home type {s:?}")))
}

pub fn need_from_key(s: &str) -> Option<NeedKind> {
    NeedKind::from_str_name(&format!("NEED_KIND_{}", s.trim().to_uppercase()))
        .filter(|n| *n != NeedKind::Unspecified)
}

/// The config key of a need ("npf", "suicide_risk").
pub fn need_key(n: NeedKind) -> String {
    n.as_str_name()
        .trim_start_matches("NEED_KIND_")
        .to_lowercase()
}

impl MatchingConfig {
    pub fn from_toml(text: &str) -> Result<MatchingConfig, MatchingError> {
        let f: File = toml::from_str(text).map_err(|e| cfg_err(e.to_string()))?;
        let version = f.version.trim().to_string();
        if version.is_empty() || version.len() > 64 {
            return Err(cfg_err("version: must be 1–64 characters"));
        }
        if !(1..=50).contains(&f.max_limit) {
            return Err(cfg_err("max_limit: must be 1–50"));
        }
        if f.default_limit == 0 || f.default_limit > f.max_limit {
            return Err(cfg_err("default_limit: must be 1–max_limit"));
        }
        if f.minimum_suitable == 0 || f.minimum_suitable > f.max_limit {
            return Err(cfg_err("minimum_suitable: must be 1–max_limit"));
        }
        if !(1..=60).contains(&f.record_check_valid_months) {
            return Err(cfg_err("record_check_valid_months: must be 1–60"));
        }
        if f.protected_min_distance == Proximity::National {
            return Err(cfg_err(
                "protected_min_distance: \"national\" would exclude every home",
            ));
        }
        let normal_capacity = u8::try_from(f.normal_capacity)
            .ok()
            .filter(|c| (1..=10).contains(c))
            .ok_or_else(|| cfg_err("normal_capacity: must be 1–10"))?;
        if f.age_gap_years > 18 {
            return Err(cfg_err("age_gap_years: must be 0–18"));
        }
        let p = &f.proximity_scores;
        let mut proximity_scores = [0u16; 4];
        for (i, v) in [
            p.same_municipality,
            p.same_county,
            p.same_region,
            p.national,
        ]
        .into_iter()
        .enumerate()
        {
            proximity_scores[i] = u16::try_from(v)
                .ok()
                .filter(|v| *v <= 1000)
                .ok_or_else(|| cfg_err("proximity_scores: each must be 0–1000"))?;
        }
        let mut weights = [0u32; N_CRITERIA];
        let mut seen = [false; N_CRITERIA];
        for (k, w) in &f.weights {
            let c = CRITERIA
                .iter()
                .find(|c| c.key() == k)
                .ok_or_else(|| cfg_err(format!("weights: unknown criterion {k:?}")))?;
            if *w > 1000 {
                return Err(cfg_err(format!("weights.{k}: must be 0–1000")));
            }
            weights[c.index()] = *w;
            seen[c.index()] = true;
        }
        if let Some(i) = seen.iter().position(|s| !s) {
            return Err(cfg_err(format!(
                "weights.{}: missing (every criterion needs a weight; 0 turns it off)",
                CRITERIA[i].key()
            )));
        }
        if weights.iter().all(|w| *w == 0) {
            return Err(cfg_err("weights: at least one must be above 0"));
        }
        let mut need_competences = vec![Vec::new(); NeedKind::Infant as usize + 1];
        for (k, v) in &f.need_competences {
            let n = need_from_key(k)
                .ok_or_else(|| cfg_err(format!("need_competences: unknown need {k:?}")))?;
            need_competences[n as usize] = tags(&format!("need_competences.{k}"), v)?;
        }
        let mut age_bands = Vec::with_capacity(f.age_bands.len());
        for (i, b) in f.age_bands.iter().enumerate() {
            if age_bands
                .last()
                .is_some_and(|l: &AgeBand| l.max_age >= b.max_age)
            {
                return Err(cfg_err(format!(
                    "age_bands[{i}].max_age: bands must ascend"
                )));
            }
            age_bands.push(AgeBand {
                max_age: b.max_age,
                tags: tags(&format!("age_bands[{i}].tags"), &b.tags)?,
            });
        }
        let mut allergens = BTreeMap::new();
        for (k, v) in &f.allergens {
            allergens.insert(norm_tag(k), tags(&format!("allergens.{k}"), v)?);
        }
        let types = |field: &str, v: &[String]| -> Result<Vec<HomeType>, MatchingError> {
            v.iter().map(|s| home_type(field, s)).collect()
        };
        let pt = &f.preferred_types;
        let mut preferred_types = vec![Vec::new(); 4];
        preferred_types[PlacementKind::Emergency as usize] =
            types("preferred_types.emergency", &pt.emergency)?;
        preferred_types[PlacementKind::ShortTerm as usize] =
            types("preferred_types.short_term", &pt.short_term)?;
        preferred_types[PlacementKind::LongTerm as usize] =
            types("preferred_types.long_term", &pt.long_term)?;
        let heavy_need_types = types("preferred_types.heavy_needs", &pt.heavy_needs)?;
        let heavy_needs = f
            .heavy_needs
            .iter()
            .map(|k| {
                need_from_key(k).ok_or_else(|| cfg_err(format!("heavy_needs: unknown need {k:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MatchingConfig {
            version,
            minimum_suitable: f.minimum_suitable,
            default_limit: f.default_limit,
            max_limit: f.max_limit,
            record_check_valid_months: f.record_check_valid_months,
            protected_min_distance: f.protected_min_distance,
            normal_capacity,
            age_gap_years: f.age_gap_years,
            proximity_scores,
            weights,
            need_competences,
            age_bands,
            allergens,
            preferred_types,
            heavy_need_types,
            heavy_needs,
        })
    }

    pub fn weight(&self, c: Criterion) -> u32 {
        self.weights[c.index()]
    }

    pub fn proximity_score(&self, p: Proximity) -> u16 {
        self.proximity_scores[p as usize - 1]
    }

    /// The target-group tags of a child's age band (empty past the last band).
    pub fn age_tags(&self, age: u32) -> &[String] {
        self.age_bands
            .iter()
            .find(|b| age <= b.max_age)
            .map_or(&[], |b| b.tags.as_slice())
    }

    /// Pets an allergy conflicts with: the allergen itself and its list.
    pub fn pets_for_allergy(&self, allergy: &str) -> Vec<String> {
        let mut out = vec![allergy.to_string()];
        if let Some(v) = self.allergens.get(allergy) {
            out.extend(v.iter().cloned());
        }
        out
    }

    /// Allergies a pet conflicts with: the pet itself and every allergen
    /// whose list holds it.
    pub fn allergies_for_pet(&self, pet: &str) -> Vec<String> {
        let mut out = vec![pet.to_string()];
        for (k, v) in &self.allergens {
            if v.iter().any(|p| p == pet) {
                out.push(k.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_config_is_valid_and_versioned() {
        let c = MatchingConfig::from_toml(DEFAULT_TOML).unwrap();
        assert_eq!(c.version, "2026.12-1");
        assert_eq!(c.minimum_suitable, 5);
        assert_eq!(c.weight(Criterion::Needs), 30);
        assert!(c.need_competences[NeedKind::Npf as usize].contains(&"npf".to_string()));
        assert!(c.pets_for_allergy("pälsdjur").contains(&"katt".to_string()));
        assert!(
            c.allergies_for_pet("katt")
                .contains(&"pälsdjur".to_string())
        );
        assert_eq!(c.age_tags(1), c.age_bands[0].tags.as_slice());
        assert!(c.age_tags(30).is_empty());
        assert_eq!(need_key(NeedKind::SuicideRisk), "suicide_risk");
    }

    #[test]
    fn a_missing_or_unknown_weight_is_refused() {
        let no_needs = DEFAULT_TOML.replace("needs = 30\n", "");
        let e = MatchingConfig::from_toml(&no_needs).unwrap_err();
        assert!(e.to_string().contains("weights.needs"), "{e}");
        let unknown = DEFAULT_TOML.replace("needs = 30\n", "needs = 30\nluck = 3\n");
        let e = MatchingConfig::from_toml(&unknown).unwrap_err();
        assert!(e.to_string().contains("luck"), "{e}");
    }

    #[test]
    fn an_empty_version_and_bad_numbers_are_refused() {
        for (from, to, field) in [
            ("version = \"2026.12-1\"", "version = \"\"", "version"),
            ("max_limit = 50", "max_limit = 500", "max_limit"),
            (
                "minimum_suitable = 5",
                "minimum_suitable = 0",
                "minimum_suitable",
            ),
            (
                "protected_min_distance = \"same_county\"",
                "protected_min_distance = \"national\"",
                "protected_min_distance",
            ),
            (
                "normal_capacity = 3",
                "normal_capacity = 0",
                "normal_capacity",
            ),
        ] {
            assert!(DEFAULT_TOML.contains(from), "{from}");
            let e = MatchingConfig::from_toml(&DEFAULT_TOML.replace(from, to)).unwrap_err();
            assert!(e.to_string().contains(field), "{field}: {e}");
        }
    }
}
