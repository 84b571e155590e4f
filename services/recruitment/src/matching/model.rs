//! The in-memory read model of homes that ranking reads (issue 20 §4).
//!
//! Fed from the registry's event feed: an event names a home and its
//! version; the consumer applies the home's record (or, on a fresh start, a
//! snapshot). Applying is an upsert by version, so redelivered events and
//! re-applied records are no-ops and an older record never overwrites a newer
//! one. A cursor per feed records how far the feed was read.
//!
//! Each home is kept as a compact record of the facts matching needs and
//! nothing else: no names, personnummer, addresses or incidents. Tags are
//! interned; dates are day numbers. Bitset indexes by status, type,
//! willingness, region and live jour availability let a ranking skip most
//! homes before looking at any one of them.

use super::MatchingError;
use super::bits::BitSet;
use super::constraints;
use super::geo::{Geo, Muni, NO_REGION};
use chrono::{Datelike, NaiveDate};
use samling_kit::dates;
use samling_kit::reference::RegionMap;
use samling_proto::registry::v1::{
    Agency, Home, HomeStatus, HomeType, MemberRole, ProviderKind, Willingness,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Tag categories, in the top bits of an interned tag key.
pub mod cat {
    pub const LANGUAGE: u32 = 1 << 28;
    pub const COMPETENCE: u32 = 2 << 28;
    pub const TARGET: u32 = 3 << 28;
    pub const PET: u32 = 4 << 28;
    pub const ALLERGY: u32 = 5 << 28;
    pub const MASK: u32 = 0xF << 28;
}

/// A day number (days from the common era); `NO_DATE` when none.
pub const NO_DATE: i32 = i32::MIN;

pub fn day(d: NaiveDate) -> i32 {
    d.num_days_from_ce()
}

fn opt_day(d: Option<NaiveDate>) -> i32 {
    d.map_or(NO_DATE, day)
}

fn from_day(d: i32) -> Option<NaiveDate> {
    if d == NO_DATE {
        None
    } else {
        NaiveDate::from_num_days_from_ce_opt(d)
    }
}

pub mod flag {
    pub const PROTECTED: u8 = 1;
    pub const JOUR_AVAILABLE: u8 = 2;
    pub const CONSENT_WITHDRAWN: u8 = 4;
}

/// String interning for tags.
#[derive(Default, Debug, Clone)]
pub struct Interner {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    pub fn get(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }

    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |s| s)
    }

    fn bytes(&self) -> usize {
        let text: usize = self.names.iter().map(|s| s.len()).sum();
        // Each name is stored twice (map key and list) plus the slots.
        2 * text + self.names.capacity() * 16 + self.ids.capacity() * (16 + 4 + 1)
    }
}

/// The facts of one home that matching uses, in plain form: what a record
/// of the registry is reduced to, and what a snapshot holds. No personal
/// data (household members are a count of adults, their register checks'
/// dates and the birth years of children living there).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeFacts {
    pub id: String,
    pub version: i64,
    pub home_type: i32,
    pub provider: i32,
    pub agency_id: String,
    pub status: i32,
    /// Empty when unknown (withheld).
    pub municipality_code: String,
    pub region_id: String,
    pub protected_identity: bool,
    pub languages: Vec<String>,
    pub competences: Vec<String>,
    pub target_groups: Vec<String>,
    pub pets: Vec<String>,
    pub allergies: Vec<String>,
    pub willingness: Vec<i32>,
    pub jour_available: bool,
    /// Approved capacity; 0 = the normal maximum.
    pub capacity: i32,
    pub placed_count: i32,
    pub consent_withdrawn: bool,
    pub reconfirmation_due_on: Option<NaiveDate>,
    /// The oldest of the adults' latest register checks; None when an adult
    /// has none (or there is no adult).
    pub record_checks_oldest: Option<NaiveDate>,
    pub adults: u32,
    pub own_children_birth_years: Vec<i32>,
    pub objections: Vec<String>,
}

fn norm_tags(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = v
        .iter()
        .map(|t| super::config::norm_tag(t))
        .filter(|t| !t.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

impl HomeFacts {
    /// Reduce a registry record to the facts matching needs. The record must
    /// be the registry's full view for a service (members with their
    /// checks); names and personnummer are read for nothing and kept nowhere.
    pub fn from_home(h: &Home) -> Result<HomeFacts, MatchingError> {
        samling_kit::ids::parse_id("home.id", &h.id)?;
        if h.version <= 0 {
            return Err(MatchingError::invalid("home.version", "must be positive"));
        }
        let known = |field: &str, ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(MatchingError::invalid(field, "is not a known value"))
            }
        };
        known(
            "home.home_type",
            HomeType::try_from(h.home_type).is_ok_and(|t| t != HomeType::Unspecified),
        )?;
        known(
            "home.provider",
            ProviderKind::try_from(h.provider).is_ok_and(|p| p != ProviderKind::Unspecified),
        )?;
        known(
            "home.status",
            HomeStatus::try_from(h.status).is_ok_and(|s| s != HomeStatus::Unspecified),
        )?;
        if !h.municipality_code.is_empty() {
            Muni::parse("home.municipality_code", &h.municipality_code)?;
        }
        if !h.agency_id.is_empty() {
            samling_kit::ids::parse_id("home.agency_id", &h.agency_id)?;
        }
        let mut willingness = Vec::new();
        for w in &h.willingness {
            known(
                "home.willingness",
                Willingness::try_from(*w).is_ok_and(|w| w != Willingness::Unspecified),
            )?;
            if !willingness.contains(w) {
                willingness.push(*w);
            }
        }
        willingness.sort();
        if !(0..=super::MAX_CAPACITY).contains(&h.capacity) {
            return Err(MatchingError::invalid("home.capacity", "must be 0–10"));
        }
        let mut adults = 0u32;
        let mut oldest: Option<Option<NaiveDate>> = None;
        let mut own_children = Vec::new();
        for (i, m) in h.members.iter().enumerate() {
            let role = MemberRole::try_from(m.role).unwrap_or(MemberRole::Unspecified);
            match role {
                MemberRole::Carer | MemberRole::OtherAdult => {
                    adults += 1;
                    let mut latest: Option<NaiveDate> = None;
                    for (j, c) in m.record_checks.iter().enumerate() {
                        let d = dates::opt_from_proto(
                            &format!("home.members[{i}].record_checks[{j}].checked_on"),
                            c.checked_on.as_ref(),
                        )?;
                        latest = latest.max(d);
                    }
                    oldest = Some(match (oldest, latest) {
                        (None, l) => l,
                        (Some(None), _) | (Some(_), None) => None,
                        (Some(Some(o)), Some(l)) => Some(o.min(l)),
                    });
                }
                MemberRole::Child => {
                    if m.birth_year > 0 {
                        own_children.push(m.birth_year);
                    }
                }
                MemberRole::Unspecified => {}
            }
        }
        own_children.sort();
        let mut objections = Vec::new();
        for (i, o) in h.objections.iter().enumerate() {
            Muni::parse(
                &format!("home.objections[{i}].municipality_code"),
                &o.municipality_code,
            )?;
            objections.push(o.municipality_code.trim().to_string());
        }
        Ok(HomeFacts {
            id: h.id.clone(),
            version: h.version,
            home_type: h.home_type,
            provider: h.provider,
            agency_id: h.agency_id.clone(),
            status: h.status,
            municipality_code: h.municipality_code.trim().to_string(),
            region_id: h.region_id.clone(),
            protected_identity: h.protected_identity,
            languages: norm_tags(&h.languages),
            competences: norm_tags(&h.competences),
            target_groups: norm_tags(&h.target_groups),
            pets: norm_tags(&h.pets),
            allergies: norm_tags(&h.allergies),
            willingness,
            jour_available: h.jour_available,
            capacity: h.capacity,
            placed_count: h.placed_count.max(0),
            consent_withdrawn: h.consent_withdrawn,
            reconfirmation_due_on: dates::opt_from_proto(
                "home.reconfirmation_due_on",
                h.reconfirmation_due_on.as_ref(),
            )?,
            record_checks_oldest: oldest.flatten(),
            adults,
            own_children_birth_years: own_children,
            objections,
        })
    }
}

/// An agency's IVO permit as matching needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgencyFacts {
    pub id: String,
    pub version: i64,
    pub has_permit: bool,
    pub permit_valid_from: Option<NaiveDate>,
    pub permit_valid_until: Option<NaiveDate>,
    pub permit_revoked: bool,
}

impl AgencyFacts {
    pub fn from_agency(a: &Agency) -> Result<AgencyFacts, MatchingError> {
        samling_kit::ids::parse_id("agency.id", &a.id)?;
        if a.version <= 0 {
            return Err(MatchingError::invalid("agency.version", "must be positive"));
        }
        let p = a.permit.as_ref();
        Ok(AgencyFacts {
            id: a.id.clone(),
            version: a.version,
            has_permit: p.is_some_and(|p| !p.permit_number.trim().is_empty()),
            permit_valid_from: dates::opt_from_proto(
                "agency.permit.valid_from",
                p.and_then(|p| p.valid_from.as_ref()),
            )?,
            permit_valid_until: dates::opt_from_proto(
                "agency.permit.valid_until",
                p.and_then(|p| p.valid_until.as_ref()),
            )?,
            permit_revoked: p.is_some_and(|p| p.revoked),
        })
    }
}

/// One home in the model (see [`ReadModel::memory`] for its size).
#[derive(Clone, Debug)]
pub struct CompactHome {
    pub id: u128,
    pub version: i64,
    pub reconfirmation_due: i32,
    pub record_checks_oldest: i32,
    /// Sorted tag keys (category | interned id).
    pub tags: Box<[u32]>,
    /// Objecting municipalities (`n_objections` first), then the birth
    /// years of children living in the home.
    pub small: Box<[u16]>,
    /// 0 = no agency; otherwise the agency's slot + 1.
    pub agency: u32,
    pub muni: Muni,
    pub n_objections: u8,
    pub region: u8,
    pub home_type: u8,
    pub provider: u8,
    pub status: u8,
    /// Bit `1 << Willingness`.
    pub willingness: u8,
    pub flags: u8,
    /// Approved capacity; 0 = the normal maximum.
    pub capacity: u8,
    pub placed: u8,
    pub adults: u8,
}

impl CompactHome {
    pub fn has_tag(&self, key: u32) -> bool {
        self.tags.binary_search(&key).is_ok()
    }

    pub fn objections(&self) -> &[u16] {
        &self.small[..usize::from(self.n_objections)]
    }

    pub fn own_children_birth_years(&self) -> &[u16] {
        &self.small[usize::from(self.n_objections)..]
    }

    pub fn protected(&self) -> bool {
        self.flags & flag::PROTECTED != 0
    }

    pub fn jour_available(&self) -> bool {
        self.flags & flag::JOUR_AVAILABLE != 0
    }

    pub fn consent_withdrawn(&self) -> bool {
        self.flags & flag::CONSENT_WITHDRAWN != 0
    }

    pub fn home_type(&self) -> HomeType {
        HomeType::try_from(i32::from(self.home_type)).unwrap_or(HomeType::Unspecified)
    }

    pub fn provider(&self) -> ProviderKind {
        ProviderKind::try_from(i32::from(self.provider)).unwrap_or(ProviderKind::Unspecified)
    }

    pub fn status(&self) -> HomeStatus {
        HomeStatus::try_from(i32::from(self.status)).unwrap_or(HomeStatus::Unspecified)
    }

    pub fn willing(&self, w: Willingness) -> bool {
        self.willingness & (1 << (w as u8)) != 0
    }

    /// A kind for "homes of different kinds": type × provider.
    pub fn kind(&self) -> u8 {
        ((self.home_type & 0x0F) << 1) | u8::from(self.provider == ProviderKind::Agency as u8)
    }

    /// Free places with `normal` as the capacity of a home approved without one.
    pub fn free_places(&self, normal: u8) -> u8 {
        let cap = if self.capacity == 0 {
            normal
        } else {
            self.capacity
        };
        cap.saturating_sub(self.placed)
    }

    pub fn id_string(&self) -> String {
        uuid::Uuid::from_u128(self.id).hyphenated().to_string()
    }
}

#[derive(Clone, Debug)]
pub struct CompactAgency {
    pub id: u128,
    pub version: i64,
    pub has_permit: bool,
    pub valid_from: i32,
    pub valid_until: i32,
    pub revoked: bool,
}

impl CompactAgency {
    /// Is the permit valid on day `d`?
    pub fn permit_valid_on(&self, d: i32) -> bool {
        self.has_permit
            && !self.revoked
            && (self.valid_from == NO_DATE || self.valid_from <= d)
            && (self.valid_until == NO_DATE || d <= self.valid_until)
    }
}

/// The bitset indexes: which slots are in which set.
#[derive(Clone, Debug, Default)]
pub struct Indexes {
    pub present: BitSet,
    /// Approved, active or paused (a lifecycle that takes placements).
    pub approved: BitSet,
    /// Neither paused nor with consent withdrawn.
    pub in_service: BitSet,
    /// By `HomeType as usize` (0–7).
    pub by_type: [BitSet; 8],
    /// By `Willingness as usize` (0–3).
    pub by_willingness: [BitSet; 4],
    /// By region index; the last is "unknown".
    pub by_region: Vec<BitSet>,
    pub jour_available: BitSet,
}

/// What applying a record did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Inserted,
    Updated,
    /// The model already has this version or a newer one: nothing changed.
    Stale,
}

/// Memory the model uses (an estimate of its heap, counted from capacities).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Memory {
    pub homes: u32,
    pub bytes_total: u64,
    pub bytes_per_home: u32,
}

/// Everything needed to start again without reading the feed from the
/// start: facts and cursors (persisted by the service).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub cursors: BTreeMap<String, u64>,
    pub homes: Vec<HomeFacts>,
    pub agencies: Vec<AgencyFacts>,
}

#[derive(Clone, Debug)]
pub struct ReadModel {
    pub(crate) geo: Geo,
    pub(crate) homes: Vec<CompactHome>,
    by_id: HashMap<u128, u32>,
    pub(crate) tags: Interner,
    pub(crate) agencies: Vec<CompactAgency>,
    agency_by_id: HashMap<u128, u32>,
    pub(crate) idx: Indexes,
    cursors: BTreeMap<String, u64>,
}

fn uuid_num(field: &str, s: &str) -> Result<u128, MatchingError> {
    Ok(samling_kit::ids::parse_id(field, s)?.as_u128())
}

impl ReadModel {
    pub fn new(map: &RegionMap) -> ReadModel {
        ReadModel::with_geo(Geo::new(map))
    }

    pub fn with_geo(geo: Geo) -> ReadModel {
        let idx = Indexes {
            by_region: vec![BitSet::default(); geo.region_count() + 1],
            ..Indexes::default()
        };
        ReadModel {
            geo,
            homes: Vec::new(),
            by_id: HashMap::new(),
            tags: Interner::default(),
            agencies: Vec::new(),
            agency_by_id: HashMap::new(),
            idx,
            cursors: BTreeMap::new(),
        }
    }

    pub fn geo(&self) -> &Geo {
        &self.geo
    }

    pub fn len(&self) -> usize {
        self.homes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.homes.is_empty()
    }

    /// Apply a home record read for event `seq` of `feed`, and move that
    /// feed's cursor.
    pub fn apply_home(&mut self, feed: &str, seq: u64, h: &Home) -> Result<Applied, MatchingError> {
        let facts = HomeFacts::from_home(h)?;
        let a = self.apply_home_facts(&facts)?;
        self.advance(feed, seq);
        Ok(a)
    }

    /// Apply an agency record read for event `seq` of `feed`.
    pub fn apply_agency(
        &mut self,
        feed: &str,
        seq: u64,
        a: &Agency,
    ) -> Result<Applied, MatchingError> {
        let facts = AgencyFacts::from_agency(a)?;
        let r = self.apply_agency_facts(&facts)?;
        self.advance(feed, seq);
        Ok(r)
    }

    /// The feed was read up to `seq` (an event that needed no record, or
    /// after a batch). Never moves back.
    pub fn advance(&mut self, feed: &str, seq: u64) {
        let c = self.cursors.entry(feed.to_string()).or_insert(0);
        *c = (*c).max(seq);
    }

    /// Where to resume `feed` (0 = from the start).
    pub fn cursor(&self, feed: &str) -> u64 {
        self.cursors.get(feed).copied().unwrap_or(0)
    }

    pub fn cursors(&self) -> &BTreeMap<String, u64> {
        &self.cursors
    }

    /// Does an event about `home_id` at `version` need the record read?
    /// (No when the model already has that version or a newer one.)
    pub fn needs_fetch(&self, home_id: &str, version: i64) -> bool {
        let Ok(id) = uuid_num("home_id", home_id) else {
            return false;
        };
        self.by_id
            .get(&id)
            .is_none_or(|&s| self.homes[s as usize].version < version)
    }

    fn agency_slot(&mut self, id: u128) -> u32 {
        if let Some(&s) = self.agency_by_id.get(&id) {
            return s;
        }
        let s = self.agencies.len() as u32;
        // Unknown until its record arrives: no permit.
        self.agencies.push(CompactAgency {
            id,
            version: 0,
            has_permit: false,
            valid_from: NO_DATE,
            valid_until: NO_DATE,
            revoked: false,
        });
        self.agency_by_id.insert(id, s);
        s
    }

    pub fn apply_agency_facts(&mut self, f: &AgencyFacts) -> Result<Applied, MatchingError> {
        let id = uuid_num("agency.id", &f.id)?;
        let known = self.agency_by_id.contains_key(&id);
        let s = self.agency_slot(id) as usize;
        let a = &mut self.agencies[s];
        if a.version >= f.version {
            return Ok(Applied::Stale);
        }
        let first = a.version == 0;
        *a = CompactAgency {
            id,
            version: f.version,
            has_permit: f.has_permit,
            valid_from: opt_day(f.permit_valid_from),
            valid_until: opt_day(f.permit_valid_until),
            revoked: f.permit_revoked,
        };
        Ok(if known && !first {
            Applied::Updated
        } else {
            Applied::Inserted
        })
    }

    pub fn apply_home_facts(&mut self, f: &HomeFacts) -> Result<Applied, MatchingError> {
        let id = uuid_num("home.id", &f.id)?;
        let existing = self.by_id.get(&id).copied();
        if let Some(s) = existing
            && self.homes[s as usize].version >= f.version
        {
            return Ok(Applied::Stale);
        }
        let muni = if f.municipality_code.is_empty() {
            Muni::UNKNOWN
        } else {
            Muni::parse("home.municipality_code", &f.municipality_code)?
        };
        let region = if muni.is_known() {
            self.geo.region_of(muni)
        } else {
            self.geo.region_index(&f.region_id).unwrap_or(NO_REGION)
        };
        let agency = if f.agency_id.is_empty() {
            0
        } else {
            self.agency_slot(uuid_num("home.agency_id", &f.agency_id)?) + 1
        };
        let mut tags = Vec::new();
        for (c, list) in [
            (cat::LANGUAGE, &f.languages),
            (cat::COMPETENCE, &f.competences),
            (cat::TARGET, &f.target_groups),
            (cat::PET, &f.pets),
            (cat::ALLERGY, &f.allergies),
        ] {
            for t in list {
                tags.push(c | self.tags.intern(t));
            }
        }
        tags.sort_unstable();
        tags.dedup();
        let mut small = Vec::with_capacity(f.objections.len() + f.own_children_birth_years.len());
        for (i, o) in f.objections.iter().enumerate() {
            small.push(Muni::parse(&format!("home.objections[{i}]"), o)?.0);
        }
        let n_objections = u8::try_from(small.len())
            .map_err(|_| MatchingError::invalid("home.objections", "too many"))?;
        small.extend(
            f.own_children_birth_years
                .iter()
                .filter_map(|y| u16::try_from(*y).ok()),
        );
        let mut willingness = 0u8;
        for w in &f.willingness {
            if (1..=3).contains(w) {
                willingness |= 1 << *w;
            }
        }
        let mut flags = 0;
        if f.protected_identity {
            flags |= flag::PROTECTED;
        }
        if f.jour_available {
            flags |= flag::JOUR_AVAILABLE;
        }
        if f.consent_withdrawn {
            flags |= flag::CONSENT_WITHDRAWN;
        }
        let h = CompactHome {
            id,
            version: f.version,
            reconfirmation_due: opt_day(f.reconfirmation_due_on),
            record_checks_oldest: opt_day(f.record_checks_oldest),
            tags: tags.into_boxed_slice(),
            small: small.into_boxed_slice(),
            agency,
            muni,
            n_objections,
            region,
            home_type: u8::try_from(f.home_type).unwrap_or(0),
            provider: u8::try_from(f.provider).unwrap_or(0),
            status: u8::try_from(f.status).unwrap_or(0),
            willingness,
            flags,
            capacity: u8::try_from(f.capacity.clamp(0, super::MAX_CAPACITY)).unwrap_or(0),
            placed: u8::try_from(f.placed_count.clamp(0, 255)).unwrap_or(u8::MAX),
            adults: u8::try_from(f.adults.min(255)).unwrap_or(u8::MAX),
        };
        let (slot, applied) = match existing {
            Some(s) => {
                self.homes[s as usize] = h;
                (s as usize, Applied::Updated)
            }
            None => {
                let s = self.homes.len();
                self.homes.push(h);
                self.by_id.insert(id, s as u32);
                (s, Applied::Inserted)
            }
        };
        self.index(slot);
        Ok(applied)
    }

    /// Bring the indexes of `slot` up to date with its record.
    fn index(&mut self, slot: usize) {
        let h = &self.homes[slot];
        let idx = &mut self.idx;
        idx.present.set(slot, true);
        idx.approved
            .set(slot, constraints::lifecycle_takes_placements(h.status()));
        idx.in_service.set(
            slot,
            constraints::in_service(h.status(), h.consent_withdrawn()),
        );
        for (t, b) in idx.by_type.iter_mut().enumerate() {
            b.set(slot, usize::from(h.home_type) == t);
        }
        for (w, b) in idx.by_willingness.iter_mut().enumerate() {
            b.set(slot, w > 0 && h.willingness & (1 << w) != 0);
        }
        let unknown = idx.by_region.len() - 1;
        let r = usize::from(h.region).min(unknown);
        for (i, b) in idx.by_region.iter_mut().enumerate() {
            b.set(slot, i == r);
        }
        idx.jour_available.set(slot, h.jour_available());
    }

    pub(crate) fn slot_of(&self, id: u128) -> Option<u32> {
        self.by_id.get(&id).copied()
    }

    pub(crate) fn agency(&self, h: &CompactHome) -> Option<&CompactAgency> {
        if h.agency == 0 {
            None
        } else {
            self.agencies.get(h.agency as usize - 1)
        }
    }

    /// The tags of `h` in category `c`, by name.
    pub fn tag_names(&self, h: &CompactHome, c: u32) -> Vec<&str> {
        h.tags
            .iter()
            .filter(|k| *k & cat::MASK == c)
            .map(|k| self.tags.name(k & !cat::MASK))
            .collect()
    }

    /// A home's facts as the model holds them.
    pub fn facts(&self, home_id: &str) -> Option<HomeFacts> {
        let id = uuid_num("home_id", home_id).ok()?;
        let s = self.slot_of(id)?;
        Some(self.facts_at(&self.homes[s as usize]))
    }

    fn facts_at(&self, h: &CompactHome) -> HomeFacts {
        let names = |c| {
            self.tag_names(h, c)
                .into_iter()
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let mut willingness: Vec<i32> = (1..=3).filter(|w| h.willingness & (1 << w) != 0).collect();
        willingness.sort();
        HomeFacts {
            id: h.id_string(),
            version: h.version,
            home_type: i32::from(h.home_type),
            provider: i32::from(h.provider),
            agency_id: self
                .agency(h)
                .map(|a| uuid::Uuid::from_u128(a.id).hyphenated().to_string())
                .unwrap_or_default(),
            status: i32::from(h.status),
            municipality_code: h.muni.code(),
            region_id: if h.muni.is_known() {
                String::new()
            } else {
                self.geo.region_id(h.region).to_string()
            },
            protected_identity: h.protected(),
            languages: names(cat::LANGUAGE),
            competences: names(cat::COMPETENCE),
            target_groups: names(cat::TARGET),
            pets: names(cat::PET),
            allergies: names(cat::ALLERGY),
            willingness,
            jour_available: h.jour_available(),
            capacity: i32::from(h.capacity),
            placed_count: i32::from(h.placed),
            consent_withdrawn: h.consent_withdrawn(),
            reconfirmation_due_on: from_day(h.reconfirmation_due),
            record_checks_oldest: from_day(h.record_checks_oldest),
            adults: u32::from(h.adults),
            own_children_birth_years: h
                .own_children_birth_years()
                .iter()
                .map(|y| i32::from(*y))
                .collect(),
            objections: h.objections().iter().map(|m| Muni(*m).code()).collect(),
        }
    }

    /// Everything needed to restart without the feed's beginning.
    pub fn snapshot(&self) -> Snapshot {
        let mut homes: Vec<HomeFacts> = self.homes.iter().map(|h| self.facts_at(h)).collect();
        homes.sort_by(|a, b| a.id.cmp(&b.id));
        let mut agencies: Vec<AgencyFacts> = self
            .agencies
            .iter()
            .filter(|a| a.version > 0)
            .map(|a| AgencyFacts {
                id: uuid::Uuid::from_u128(a.id).hyphenated().to_string(),
                version: a.version,
                has_permit: a.has_permit,
                permit_valid_from: from_day(a.valid_from),
                permit_valid_until: from_day(a.valid_until),
                permit_revoked: a.revoked,
            })
            .collect();
        agencies.sort_by(|a, b| a.id.cmp(&b.id));
        Snapshot {
            cursors: self.cursors.clone(),
            homes,
            agencies,
        }
    }

    /// A model as it was at `s`; resume each feed after its cursor.
    pub fn restore(geo: Geo, s: &Snapshot) -> Result<ReadModel, MatchingError> {
        let mut m = ReadModel::with_geo(geo);
        for a in &s.agencies {
            m.apply_agency_facts(a)?;
        }
        for h in &s.homes {
            m.apply_home_facts(h)?;
        }
        m.cursors = s.cursors.clone();
        Ok(m)
    }

    /// What the model holds in memory, per home.
    pub fn memory(&self) -> Memory {
        let home = std::mem::size_of::<CompactHome>();
        let heap: usize = self
            .homes
            .iter()
            .map(|h| h.tags.len() * 4 + h.small.len() * 2)
            .sum();
        let map_bucket = |cap: usize, entry: usize| {
            if cap == 0 {
                0
            } else {
                (cap * 8 / 7).next_power_of_two() * (entry + 1)
            }
        };
        let idx = &self.idx;
        let bits = idx.present.bytes()
            + idx.approved.bytes()
            + idx.in_service.bytes()
            + idx.jour_available.bytes()
            + idx.by_type.iter().map(BitSet::bytes).sum::<usize>()
            + idx.by_willingness.iter().map(BitSet::bytes).sum::<usize>()
            + idx.by_region.iter().map(BitSet::bytes).sum::<usize>();
        let total = self.homes.capacity() * home
            + heap
            + map_bucket(self.by_id.capacity(), std::mem::size_of::<(u128, u32)>())
            + self.agencies.capacity() * std::mem::size_of::<CompactAgency>()
            + map_bucket(
                self.agency_by_id.capacity(),
                std::mem::size_of::<(u128, u32)>(),
            )
            + bits
            + self.tags.bytes();
        let n = self.homes.len();
        Memory {
            homes: n as u32,
            bytes_total: total as u64,
            bytes_per_home: total.checked_div(n).unwrap_or(0) as u32,
        }
    }
}

impl Default for ReadModel {
    fn default() -> Self {
        ReadModel::with_geo(Geo::default_map())
    }
}
