//! Rankings checked by hand, one test per hard constraint (each fails if
//! its constraint is taken out of `CHECKS` or the scan), the read model's
//! versions and restart, night mode, and the regional merge.

use super::bench;
use super::config::{Criterion, MatchingConfig};
use super::constraints::CHECKS;
use super::geo::{Geo, Muni, Proximity};
use super::model::{AgencyFacts, Applied, HomeFacts, ReadModel, Snapshot};
use super::profile::{Anchor, Child, Profile};
use super::rank::{NightRequest, RankOptions, Ranking, UnitRanking, merge_night, merge_regional};
use super::score::Applies;
use chrono::NaiveDate;
use samling_proto::recruitment::v1::{AnchorKind, MatchConstraint, NeedKind, PlacementKind};
use samling_proto::registry::v1::{HomeStatus, HomeType, ProviderKind, Sex, Willingness};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn id(n: u64) -> String {
    bench::home_id(n)
}

fn num(n: u64) -> u128 {
    uuid::Uuid::parse_str(&id(n)).unwrap().as_u128()
}

const AGENCY_OK: u64 = 1;
const AGENCY_LAPSED: u64 = 2;

/// A home that passes every constraint for [`pair`] and scores 1000.
fn good(n: u64) -> HomeFacts {
    HomeFacts {
        id: id(n),
        version: 1,
        home_type: HomeType::FamilyHome as i32,
        provider: ProviderKind::Public as i32,
        agency_id: String::new(),
        status: HomeStatus::Active as i32,
        municipality_code: "2281".into(),
        region_id: String::new(),
        protected_identity: false,
        languages: vec!["svenska".into()],
        competences: vec!["npf".into(), "trauma".into()],
        target_groups: vec!["6-12".into()],
        pets: vec![],
        allergies: vec![],
        willingness: vec![Willingness::LongTerm as i32],
        jour_available: false,
        capacity: 0,
        placed_count: 0,
        consent_withdrawn: false,
        reconfirmation_due_on: date(2027, 6, 1),
        record_checks_oldest: date(2026, 6, 1),
        adults: 2,
        own_children_birth_years: vec![],
        objections: vec![],
    }
}

fn child(key: &str, born: i32, needs: Vec<NeedKind>) -> Child {
    Child {
        key: key.into(),
        child_id: String::new(),
        birth_date: date(born, 3, 1),
        sex: Sex::Female,
        needs,
        languages: vec![],
        culture: String::new(),
        religion: String::new(),
        allergies: vec![],
        pets: vec![],
        together_group: "s".into(),
    }
}

/// A sibling pair (10 and 7), to be placed together long-term by Sundsvall,
/// school in Sundsvall.
fn pair() -> Profile {
    Profile {
        placing: Muni(2281),
        children: vec![
            child("a", 2016, vec![NeedKind::Npf]),
            child("b", 2019, vec![NeedKind::Trauma]),
        ],
        kind: PlacementKind::LongTerm,
        protected_identity: false,
        violence_exposure: false,
        anchors: vec![Anchor {
            kind: AnchorKind::School,
            muni: Muni(2281),
            within: None,
            keep_away: false,
        }],
        kinship: vec![],
        deliver: vec![],
        home_types: vec![],
    }
}

fn model(homes: &[HomeFacts]) -> ReadModel {
    let mut m = ReadModel::with_geo(Geo::default_map());
    for (n, until) in [(AGENCY_OK, None), (AGENCY_LAPSED, date(2026, 11, 30))] {
        m.apply_agency_facts(&AgencyFacts {
            id: bench::agency_id(n),
            version: 1,
            has_permit: true,
            permit_valid_from: date(2020, 1, 1),
            permit_valid_until: until,
            permit_revoked: false,
        })
        .unwrap();
    }
    for h in homes {
        m.apply_home_facts(h).unwrap();
    }
    m
}

fn opts() -> RankOptions {
    RankOptions {
        region: None,
        limit: None,
        as_of: today(),
        night: false,
    }
}

fn rank(m: &ReadModel, p: &Profile) -> Ranking {
    m.rank(&MatchingConfig::default(), p, &opts()).unwrap()
}

fn listed(u: &UnitRanking) -> Vec<String> {
    u.homes.iter().map(|h| h.home_id.clone()).collect()
}

/// Home 1 passes; home 2 is `good` changed by `f` and must be excluded by
/// `c` alone.
fn excluded_by(c: MatchConstraint, p: &Profile, night: bool, f: impl Fn(&mut HomeFacts)) {
    let mut bad = good(2);
    f(&mut bad);
    let mut ok = good(1);
    if night {
        ok.home_type = HomeType::EmergencyHome as i32;
        ok.willingness = vec![Willingness::Emergency as i32];
        ok.jour_available = true;
    }
    let m = model(&[ok, bad]);
    let o = RankOptions { night, ..opts() };
    let r = m.rank(&MatchingConfig::default(), p, &o).unwrap();
    let u = &r.units[0];
    assert_eq!(
        listed(u),
        vec![id(1)],
        "{c:?}: only the good home is listed"
    );
    assert_eq!(u.excluded_by(c), 1, "{c:?}: counted under its constraint");
    assert_eq!(u.excluded.iter().sum::<u32>(), 1, "{c:?}: and nowhere else");
    assert_eq!((u.considered, u.suitable), (2, 1));
}

#[test]
fn constraint_not_approved() {
    for s in [
        HomeStatus::Applicant,
        HomeStatus::InTraining,
        HomeStatus::UnderAssessment,
        HomeStatus::Ended,
    ] {
        excluded_by(MatchConstraint::NotApproved, &pair(), false, |h| {
            h.status = s as i32
        });
    }
}

#[test]
fn constraint_suspended_or_revoked() {
    excluded_by(MatchConstraint::SuspendedOrRevoked, &pair(), false, |h| {
        h.status = HomeStatus::Paused as i32
    });
    excluded_by(MatchConstraint::SuspendedOrRevoked, &pair(), false, |h| {
        h.consent_withdrawn = true
    });
}

#[test]
fn constraint_home_type() {
    for t in [
        HomeType::ContactFamily,
        HomeType::MentorFamily,
        // A network home is for the child it was found for.
        HomeType::NetworkHome,
    ] {
        excluded_by(MatchConstraint::HomeType, &pair(), false, |h| {
            h.home_type = t as i32
        });
    }
    let mut only_reinforced = pair();
    only_reinforced.home_types = vec![HomeType::ReinforcedFamilyHome];
    let mut m = model(&[good(1), good(2)]);
    let mut r = good(1);
    r.version = 2;
    r.home_type = HomeType::ReinforcedFamilyHome as i32;
    m.apply_home_facts(&r).unwrap();
    let u = &rank(&m, &only_reinforced).units[0];
    assert_eq!(listed(u), vec![id(1)]);
    assert_eq!(u.excluded_by(MatchConstraint::HomeType), 1);
}

#[test]
fn constraint_willingness() {
    excluded_by(MatchConstraint::Willingness, &pair(), false, |h| {
        h.willingness = vec![Willingness::Emergency as i32, Willingness::ShortTerm as i32]
    });
}

#[test]
fn constraint_not_available_now_at_night() {
    let night = NightRequest {
        location: Muni(2281),
        placing: Muni(2281),
        children: 1,
        allergies: vec![],
        pets: vec![],
        protected_identity: false,
        anchors: vec![],
    }
    .profile();
    excluded_by(MatchConstraint::NotAvailableNow, &night, true, |h| {
        h.home_type = HomeType::EmergencyHome as i32;
        h.willingness = vec![Willingness::Emergency as i32];
        h.jour_available = false;
    });
}

#[test]
fn constraint_reconfirmation_overdue() {
    // Due yesterday: overdue (the registry's rule: due < today).
    excluded_by(
        MatchConstraint::ReconfirmationOverdue,
        &pair(),
        false,
        |h| h.reconfirmation_due_on = date(2026, 11, 30),
    );
    excluded_by(
        MatchConstraint::ReconfirmationOverdue,
        &pair(),
        false,
        |h| h.reconfirmation_due_on = None,
    );
    // Due today is not yet overdue.
    let mut h = good(2);
    h.reconfirmation_due_on = Some(today());
    assert_eq!(rank(&model(&[h]), &pair()).units[0].suitable, 1);
}

#[test]
fn constraint_record_checks_current() {
    excluded_by(MatchConstraint::RecordChecks, &pair(), false, |h| {
        h.record_checks_oldest = date(2025, 11, 30)
    });
    excluded_by(MatchConstraint::RecordChecks, &pair(), false, |h| {
        h.record_checks_oldest = None
    });
    let mut h = good(2);
    h.record_checks_oldest = date(2025, 12, 1);
    assert_eq!(
        rank(&model(&[h]), &pair()).units[0].suitable,
        1,
        "12 months to the day is current"
    );
}

#[test]
fn constraint_agency_permit() {
    excluded_by(MatchConstraint::AgencyPermit, &pair(), false, |h| {
        h.provider = ProviderKind::Agency as i32;
        h.agency_id = bench::agency_id(AGENCY_LAPSED);
    });
    // An agency the model has not heard of has no known permit.
    excluded_by(MatchConstraint::AgencyPermit, &pair(), false, |h| {
        h.provider = ProviderKind::Agency as i32;
        h.agency_id = bench::agency_id(77);
    });
    let mut h = good(2);
    h.provider = ProviderKind::Agency as i32;
    h.agency_id = bench::agency_id(AGENCY_OK);
    assert_eq!(rank(&model(&[h]), &pair()).units[0].suitable, 1);
}

#[test]
fn constraint_capacity_for_every_sibling() {
    excluded_by(MatchConstraint::Capacity, &pair(), false, |h| {
        h.capacity = 1
    });
    // Normal capacity 3, two placed: one place left, the pair needs two.
    excluded_by(MatchConstraint::Capacity, &pair(), false, |h| {
        h.placed_count = 2
    });
}

#[test]
fn constraint_allergy_and_pet() {
    let mut allergic = pair();
    allergic.children[1].allergies = vec!["pälsdjur".into()];
    excluded_by(MatchConstraint::AllergyPet, &allergic, false, |h| {
        h.pets = vec!["katt".into()]
    });
    let mut with_dog = pair();
    with_dog.children[0].pets = vec!["hund".into()];
    excluded_by(MatchConstraint::AllergyPet, &with_dog, false, |h| {
        h.allergies = vec!["pälsdjur".into()]
    });
}

#[test]
fn constraint_objection_by_the_first_placing_municipality() {
    excluded_by(MatchConstraint::Objection, &pair(), false, |h| {
        h.objections = vec!["0180".into()]
    });
    // The objecting municipality itself may still place there.
    let mut h = good(2);
    h.objections = vec!["2281".into()];
    assert_eq!(rank(&model(&[h]), &pair()).units[0].suitable, 1);
}

#[test]
fn constraint_protected_identity_distance() {
    let mut p = pair();
    p.protected_identity = true;
    p.anchors.push(Anchor {
        kind: AnchorKind::Parents,
        muni: Muni(2281),
        within: None,
        keep_away: false,
    });
    // Umeå (county 24) is out of the parents' county (22): far enough.
    let mut ok = good(1);
    ok.municipality_code = "2480".into();
    let mut near = good(2);
    near.municipality_code = "2262".into(); // Timrå, county 22
    let mut unknown = good(3);
    unknown.municipality_code = String::new();
    unknown.region_id = "norr".into();
    let m = model(&[ok, near, unknown]);
    let u = &rank(&m, &p).units[0];
    assert_eq!(listed(u), vec![id(1)]);
    assert_eq!(u.excluded_by(MatchConstraint::ProtectedDistance), 2);
    // Without protected identity the parents are not kept away from.
    p.protected_identity = false;
    assert_eq!(rank(&m, &p).units[0].suitable, 3);
    // A threat is always kept away from.
    p.anchors.push(Anchor {
        kind: AnchorKind::Threat,
        muni: Muni(2262),
        within: None,
        keep_away: true,
    });
    assert_eq!(
        rank(&m, &p).units[0].excluded_by(MatchConstraint::ProtectedDistance),
        2
    );
}

#[test]
fn constraint_distance_rule() {
    let mut p = pair();
    p.anchors[0].within = Some(Proximity::SameCounty);
    excluded_by(MatchConstraint::DistanceRule, &p, false, |h| {
        h.municipality_code = "2480".into()
    });
}

#[test]
fn the_constraint_table_is_in_the_proto_order_and_complete() {
    let order: Vec<i32> = CHECKS.iter().map(|(c, _)| *c as i32).collect();
    assert_eq!(order, (1..=13).collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------
// Rankings checked by hand
// ---------------------------------------------------------------------------

#[test]
fn a_sibling_pair_ranked_and_explained_by_hand() {
    // A: everything fits: 1000.
    let a = good(1);
    // B: Timrå (same county as the school), only npf, targets 0-5, an own
    // child born 2017 (9: within 2 years of the 10-year-old).
    let mut b = good(2);
    b.municipality_code = "2262".into();
    b.competences = vec!["npf".into()];
    b.target_groups = vec!["0-5".into()];
    b.own_children_birth_years = vec![2017];
    // C: a reinforced home in Umeå (same region), both needs, no target
    // groups stated, one placed child.
    let mut c = good(3);
    c.home_type = HomeType::ReinforcedFamilyHome as i32;
    c.municipality_code = "2480".into();
    c.target_groups = vec![];
    c.placed_count = 1;
    // D: one place left: excluded, not ranked.
    let mut d = good(4);
    d.capacity = 2;
    d.placed_count = 1;
    let m = model(&[a, b, c, d]);
    let r = rank(&m, &pair());
    assert_eq!(r.config_version, MatchingConfig::default().version);
    assert_eq!(r.units.len(), 1);
    let u = &r.units[0];
    assert!(!u.all_together);
    assert_eq!(u.child_keys, vec!["a", "b"]);
    // Weights that apply: needs 30, age_group 10, proximity_school 10,
    // home_type_fit 5, household_ages 5, attention 5 = 65.
    // B = (30·500 + 10·0 + 10·700 + 5·1000 + 5·600 + 5·700) / 65 = 33500/65 = 515
    // C = (30·1000 + 10·500 + 10·400 + 5·800 + 5·1000 + 5·700) / 65 = 51500/65 = 792
    let got: Vec<(String, u32)> = u
        .homes
        .iter()
        .map(|h| (h.home_id.clone(), h.score))
        .collect();
    assert_eq!(got, vec![(id(1), 1000), (id(3), 792), (id(2), 515)]);
    assert_eq!(
        u.homes.iter().map(|h| h.rank).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(u.excluded_by(MatchConstraint::Capacity), 1);
    assert_eq!((u.considered, u.suitable), (4, 3));
    assert!(u.below_minimum, "three suitable homes are fewer than five");
    // Every criterion is reported, with its weight and words.
    let b = &u.homes[2];
    assert_eq!(b.criteria.len(), 13);
    let crit = |c: Criterion| b.criteria.iter().find(|x| x.criterion == c).unwrap();
    assert_eq!(crit(Criterion::Needs).score, 500);
    assert_eq!(
        crit(Criterion::Needs).detail,
        "meets 1 of 2 needs (npf); not met: trauma"
    );
    assert_eq!(
        crit(Criterion::ProximitySchool).detail,
        "same county as the school"
    );
    assert_eq!(crit(Criterion::HouseholdAges).score, 600);
    assert_eq!(crit(Criterion::Language).applies, Applies::NotApplicable);
    assert_eq!(crit(Criterion::Language).points, 0);
    assert_eq!(crit(Criterion::Attention).points, 5 * 700);
    let total: u64 = b.criteria.iter().map(|c| c.points).sum();
    assert_eq!(total / 65, 515);
    assert!(
        b.description.contains("Family home (public)"),
        "{}",
        b.description
    );
    assert!(
        b.description.contains("own children aged 9"),
        "{}",
        b.description
    );
    assert!(b.description.contains("in Timrå"), "{}", b.description);
}

#[test]
fn a_named_kinship_home_comes_first_when_it_passes() {
    let a = good(1);
    // K: the named network home, far away, no competences: a low score.
    let mut k = good(5);
    k.home_type = HomeType::NetworkHome as i32;
    k.municipality_code = "0180".into();
    k.competences = vec![];
    // N: a network home nobody named: excluded by type.
    let mut n = good(6);
    n.home_type = HomeType::NetworkHome as i32;
    // F: a named kinship home that is overdue: listed as excluded with why.
    let mut f = good(7);
    f.reconfirmation_due_on = date(2026, 1, 1);
    f.pets = vec!["katt".into()];
    let m = model(&[a, k, n, f]);
    let mut p = pair();
    p.children[0].allergies = vec!["katt".into()];
    p.kinship = vec![num(5), num(7), num(99)];
    let u = &rank(&m, &p).units[0];
    assert_eq!(listed(u), vec![id(5), id(1)]);
    assert!(u.homes[0].kinship && !u.homes[1].kinship);
    assert!(
        u.homes[0].score < u.homes[1].score,
        "first although it scores lower"
    );
    assert_eq!(u.excluded_by(MatchConstraint::HomeType), 1);
    assert_eq!(u.kinship_excluded.len(), 2);
    let fk = u
        .kinship_excluded
        .iter()
        .find(|e| e.home_id == id(7))
        .unwrap();
    assert_eq!(
        fk.constraints,
        vec![
            MatchConstraint::ReconfirmationOverdue,
            MatchConstraint::AllergyPet
        ]
    );
    assert!(
        u.kinship_excluded
            .iter()
            .any(|e| e.home_id == id(99) && e.not_found)
    );
    assert_eq!(u.excluded_by(MatchConstraint::ReconfirmationOverdue), 1);
}

#[test]
fn an_allergy_excludes_homes_with_the_pet_and_its_family() {
    let mut cat = good(2);
    cat.pets = vec!["katt".into()];
    let mut dog = good(3);
    dog.pets = vec!["hund".into()];
    let mut fish = good(4);
    fish.pets = vec!["fisk".into()];
    let m = model(&[good(1), cat, dog, fish]);
    let mut p = pair();
    p.children[0].allergies = vec!["katt".into()];
    let u = &rank(&m, &p).units[0];
    assert_eq!(listed(u), vec![id(1), id(3), id(4)], "equal scores: by id");
    p.children[0].allergies = vec!["pälsdjur".into()];
    let u = &rank(&m, &p).units[0];
    assert_eq!(listed(u), vec![id(1), id(4)]);
    assert_eq!(u.excluded_by(MatchConstraint::AllergyPet), 2);
}

#[test]
fn an_objection_excludes_only_other_municipalities() {
    let mut o = good(2);
    o.objections = vec!["2281".into()];
    let m = model(&[good(1), o]);
    let u = &rank(&m, &pair()).units[0];
    assert_eq!(listed(u), vec![id(1), id(2)]);
    let mut other = pair();
    other.placing = Muni(2262);
    let u = &rank(&m, &other).units[0];
    assert_eq!(listed(u), vec![id(1)]);
    assert_eq!(u.excluded_by(MatchConstraint::Objection), 1);
}

#[test]
fn an_overdue_home_drops_out_when_its_date_passes() {
    let mut h = good(2);
    h.reconfirmation_due_on = date(2026, 12, 10);
    let m = model(&[good(1), h]);
    assert_eq!(listed(&rank(&m, &pair()).units[0]), vec![id(1), id(2)]);
    let later = RankOptions {
        as_of: NaiveDate::from_ymd_opt(2026, 12, 11).unwrap(),
        ..opts()
    };
    let u = &m
        .rank(&MatchingConfig::default(), &pair(), &later)
        .unwrap()
        .units[0];
    assert_eq!(listed(u), vec![id(1)]);
    assert_eq!(u.excluded_by(MatchConstraint::ReconfirmationOverdue), 1);
}

#[test]
fn siblings_that_may_be_split_get_a_together_list_first() {
    let mut p = pair();
    p.children.push(child("c", 2012, vec![NeedKind::Teen]));
    p.children[2].together_group = String::new();
    let mut two = good(1);
    two.capacity = 2;
    let mut roomy = good(2);
    roomy.capacity = 4;
    let mut single = good(3);
    single.capacity = 1;
    let m = model(&[two, roomy, single]);
    let r = rank(&m, &p);
    assert_eq!(r.units.len(), 3);
    assert!(r.units[0].all_together);
    assert_eq!(r.units[0].child_keys, vec!["a", "b", "c"]);
    assert_eq!(
        listed(&r.units[0]),
        vec![id(2)],
        "only one home takes all three"
    );
    assert_eq!(r.units[1].child_keys, vec!["a", "b"]);
    assert_eq!(r.units[1].homes.len(), 2);
    assert_eq!(r.units[2].child_keys, vec!["c"]);
    assert_eq!(r.units[2].homes.len(), 3);
}

#[test]
fn five_homes_of_different_kinds_when_they_exist() {
    let mut homes: Vec<HomeFacts> = (1..=8).map(good).collect();
    let mut reinforced = good(20);
    reinforced.home_type = HomeType::ReinforcedFamilyHome as i32;
    reinforced.competences = vec![];
    let mut emergency = good(21);
    emergency.home_type = HomeType::EmergencyHome as i32;
    emergency.competences = vec![];
    let mut agency = good(22);
    agency.provider = ProviderKind::Agency as i32;
    agency.agency_id = bench::agency_id(AGENCY_OK);
    agency.competences = vec![];
    homes.extend([reinforced, emergency, agency]);
    let m = model(&homes);
    let o = RankOptions {
        limit: Some(5),
        ..opts()
    };
    let u = &m
        .rank(&MatchingConfig::default(), &pair(), &o)
        .unwrap()
        .units[0];
    assert_eq!(u.homes.len(), 5);
    assert_eq!(
        u.kinds_offered, 4,
        "the best of each of the four kinds, then the best of the rest"
    );
    assert!(u.homes.iter().any(|h| h.id == num(20)));
    assert!(u.homes.iter().any(|h| h.id == num(21)));
    assert!(u.homes.iter().any(|h| h.id == num(22)));
    assert!(u.homes.windows(2).all(|w| w[0].score >= w[1].score));
    assert_eq!(u.suitable, 11);
    assert!(!u.below_minimum);
}

#[test]
fn a_protected_home_is_ranked_without_showing_where_it_is() {
    let mut h = good(2);
    h.protected_identity = true;
    let m = model(&[h]);
    let u = &rank(&m, &pair()).units[0];
    let r = &u.homes[0];
    assert!(!r.municipality.is_known() && r.region_id.is_empty());
    let school = r
        .criteria
        .iter()
        .find(|c| c.criterion == Criterion::ProximitySchool)
        .unwrap();
    assert_eq!((school.applies, school.score), (Applies::Withheld, 500));
    assert!(r.description.contains("location withheld"));
    assert!(!r.description.contains("Sundsvall"));
}

#[test]
fn night_mode_lists_free_jourhem_now_with_descriptions() {
    let jour = |n: u64, available: bool, placed: i32| {
        let mut h = good(n);
        h.home_type = HomeType::ContractedEmergencyHome as i32;
        h.willingness = vec![Willingness::Emergency as i32];
        h.jour_available = available;
        h.placed_count = placed;
        h.pets = vec!["hund".into()];
        h
    };
    let mut far = jour(4, true, 0);
    far.municipality_code = "2480".into();
    let m = model(&[
        jour(1, true, 0),
        jour(2, false, 0),
        jour(3, true, 3),
        far,
        good(5),
    ]);
    let req = NightRequest {
        location: Muni(2281),
        placing: Muni(2281),
        children: 1,
        allergies: vec![],
        pets: vec![],
        protected_identity: false,
        anchors: vec![],
    };
    let r = m
        .night_mode(&MatchingConfig::default(), &req, None, None, today())
        .unwrap();
    let u = &r.units[0];
    assert_eq!(listed(u), vec![id(1), id(4)], "nearest first");
    assert_eq!(u.excluded_by(MatchConstraint::NotAvailableNow), 1);
    assert_eq!(u.excluded_by(MatchConstraint::Capacity), 1);
    assert_eq!(u.excluded_by(MatchConstraint::Willingness), 1);
    let d = &u.homes[0].description;
    assert!(
        d.starts_with("Contracted emergency home (public); 3 of 3 places free; available now"),
        "{d}"
    );
    assert!(
        d.contains("pets: hund") && d.contains("in Sundsvall"),
        "{d}"
    );
    let allergic = NightRequest {
        allergies: vec!["hund".into()],
        ..req
    };
    let r = m
        .night_mode(&MatchingConfig::default(), &allergic, None, None, today())
        .unwrap();
    assert!(r.units[0].homes.is_empty());
}

#[test]
fn night_mode_across_regions_lists_the_own_region_first_and_flags_a_missing_region() {
    let jour = |n: u64, muni: &str, competences: Vec<String>| {
        let mut h = good(n);
        h.home_type = HomeType::EmergencyHome as i32;
        h.willingness = vec![Willingness::Emergency as i32];
        h.jour_available = true;
        h.municipality_code = muni.into();
        h.competences = competences;
        h
    };
    // Norr has one free jourhem (Umeå, the child is in Sundsvall), mellan
    // two (Örebro, Västerås), Stockholm one.
    let m = model(&[
        jour(1, "2480", vec![]),
        jour(2, "1880", vec![]),
        jour(3, "1980", vec![]),
        jour(4, "0180", vec![]),
    ]);
    let req = NightRequest {
        location: Muni(2281),
        placing: Muni(2281),
        children: 1,
        allergies: vec![],
        pets: vec![],
        protected_identity: false,
        anchors: vec![],
    };
    let cfg = MatchingConfig::default();
    let night = |region: &str| {
        m.night_mode(&cfg, &req, Some(region.into()), None, today())
            .unwrap()
    };
    let own = night("norr");
    assert!(
        own.needs_national(),
        "one free jourhem is below the minimum"
    );
    let mellan = night("mellan");
    let stockholm = night("stockholm-gotland");
    assert_eq!(mellan.units[0].homes.len(), 2);
    let merged = merge_night(
        own.clone(),
        vec![mellan.clone(), stockholm.clone()],
        vec!["vast".into()],
        &cfg,
        None,
    );
    let u = &merged.units[0];
    assert_eq!(u.homes[0].home_id, id(1), "the own region's jourhem first");
    assert_eq!(u.homes[0].rank, 1);
    assert_eq!(u.homes.len(), 4);
    let rest: Vec<(u32, String)> = u.homes[1..]
        .iter()
        .map(|h| (h.score, h.home_id.clone()))
        .collect();
    let mut sorted = rest.clone();
    sorted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    assert_eq!(rest, sorted, "then the other regions' by score");
    assert_eq!(
        u.suitable,
        own.units[0].suitable + mellan.units[0].suitable + stockholm.units[0].suitable
    );
    assert_eq!(u.considered, 4);
    assert_eq!(merged.regions, vec!["norr", "mellan", "stockholm-gotland"]);
    assert!(merged.partial);
    assert_eq!(merged.regions_missing, vec!["vast"]);
    // The limit holds over all regions; every region answering: not partial.
    let two = merge_night(own, vec![mellan, stockholm], vec![], &cfg, Some(2));
    assert_eq!(
        listed(&two.units[0]),
        vec![id(1), u.homes[1].home_id.clone()]
    );
    assert!(!two.partial && two.regions_missing.is_empty());
}

// ---------------------------------------------------------------------------
// The read model
// ---------------------------------------------------------------------------

#[test]
fn applying_is_an_upsert_by_version() {
    let mut m = ReadModel::default();
    let mut h = good(1);
    h.version = 2;
    assert_eq!(m.apply_home_facts(&h).unwrap(), Applied::Inserted);
    assert_eq!(m.apply_home_facts(&h).unwrap(), Applied::Stale);
    let mut old = h.clone();
    old.version = 1;
    old.status = HomeStatus::Ended as i32;
    assert_eq!(m.apply_home_facts(&old).unwrap(), Applied::Stale);
    assert_eq!(m.facts(&id(1)).unwrap(), h);
    assert!(!m.needs_fetch(&id(1), 2));
    assert!(m.needs_fetch(&id(1), 3));
    assert!(m.needs_fetch(&id(9), 1));
    // A newer version moves the indexes: paused homes drop out.
    let mut paused = h.clone();
    paused.version = 3;
    paused.status = HomeStatus::Paused as i32;
    assert_eq!(m.apply_home_facts(&paused).unwrap(), Applied::Updated);
    let u = &rank(&m, &pair()).units[0];
    assert!(u.homes.is_empty());
    assert_eq!(u.excluded_by(MatchConstraint::SuspendedOrRevoked), 1);
    assert_eq!(m.len(), 1);
}

#[test]
fn a_registry_record_is_reduced_to_facts_without_personal_data() {
    use samling_proto::common::v1::Date;
    use samling_proto::registry::v1::{
        Address, Home, HouseholdMember, MemberRole, Objection, RecordCheck,
    };
    let check = |y, m, d| RecordCheck {
        checked_on: Some(Date {
            year: y,
            month: m,
            day: d,
        }),
        register: "belastningsregistret".into(),
        outcome: 1,
    };
    let home = Home {
        id: id(1),
        version: 4,
        home_type: HomeType::FamilyHome as i32,
        provider: ProviderKind::Public as i32,
        status: HomeStatus::Active as i32,
        municipality_code: "2281".into(),
        address: Some(Address {
            street: "Storgatan 1".into(),
            postal_code: "852 30".into(),
            city: "Sundsvall".into(),
        }),
        members: vec![
            HouseholdMember {
                given_name: "Anna".into(),
                family_name: "Berg".into(),
                personnummer: "191212121212".into(),
                role: MemberRole::Carer as i32,
                record_checks: vec![check(2025, 1, 1), check(2026, 5, 1)],
                ..Default::default()
            },
            HouseholdMember {
                given_name: "Bo".into(),
                family_name: "Berg".into(),
                personnummer: "197001011234".into(),
                role: MemberRole::OtherAdult as i32,
                record_checks: vec![check(2026, 2, 1)],
                ..Default::default()
            },
            HouseholdMember {
                given_name: "Olle".into(),
                role: MemberRole::Child as i32,
                birth_year: 2015,
                ..Default::default()
            },
        ],
        competences: vec![" NPF ".into()],
        willingness: vec![3],
        objections: vec![Objection {
            municipality_code: "0180".into(),
            reason: "too many children".into(),
            at: "t".into(),
        }],
        ..Default::default()
    };
    let mut m = ReadModel::default();
    assert_eq!(m.apply_home("norr", 17, &home).unwrap(), Applied::Inserted);
    assert_eq!(m.cursor("norr"), 17);
    let f = m.facts(&id(1)).unwrap();
    assert_eq!(
        f.record_checks_oldest,
        date(2026, 2, 1),
        "the oldest adult's latest check"
    );
    assert_eq!(
        (f.adults, f.own_children_birth_years.clone()),
        (2, vec![2015])
    );
    assert_eq!(f.competences, vec!["npf"]);
    assert_eq!(f.objections, vec!["0180"]);
    let json = serde_json::to_string(&m.snapshot()).unwrap();
    for secret in [
        "Anna",
        "Berg",
        "Olle",
        "1212",
        "Storgatan",
        "852",
        "too many",
    ] {
        assert!(!json.contains(secret), "{secret} kept in the read model");
    }
    // An adult without a check makes the home's checks not current.
    let mut unchecked = home.clone();
    unchecked.version = 5;
    unchecked.members[1].record_checks.clear();
    m.apply_home("norr", 18, &unchecked).unwrap();
    assert_eq!(m.facts(&id(1)).unwrap().record_checks_oldest, None);
    // A bad record names its field.
    let mut bad = home;
    bad.municipality_code = "9999".into();
    bad.version = 9;
    let e = m.apply_home("norr", 19, &bad).unwrap_err();
    assert!(e.to_string().starts_with("home.municipality_code"), "{e}");
}

/// The feed: each event is a home at a version (several per home).
fn feed(n: usize) -> Vec<(u64, HomeFacts)> {
    let homes = bench::synthetic_homes(n, 7, "norr", today());
    let mut out = Vec::new();
    let mut seq = 0;
    for round in 0..3 {
        for h in &homes {
            seq += 1;
            let mut h = h.clone();
            h.version = round + 1;
            h.placed_count = (h.placed_count + round as i32) % 3;
            out.push((seq, h));
        }
    }
    out
}

fn apply(m: &mut ReadModel, events: &[(u64, HomeFacts)]) {
    for (seq, h) in events {
        m.apply_home_facts(h).unwrap();
        m.advance("norr", *seq);
    }
}

#[test]
fn the_read_model_restarts_from_a_snapshot_without_missing_or_double_applying() {
    let events = feed(300);
    let mut whole = bench::synthetic_model(0, 0, "norr", today());
    apply(&mut whole, &events);

    // Crash after half the feed: the snapshot was taken at the cursor, a few
    // more events were applied but their cursor not saved.
    let mut before = bench::synthetic_model(0, 0, "norr", today());
    let half = events.len() / 2;
    apply(&mut before, &events[..half]);
    let snap: Snapshot =
        serde_json::from_str(&serde_json::to_string(&before.snapshot()).unwrap()).unwrap();
    assert_eq!(snap.cursors["norr"], half as u64);
    let mut after = ReadModel::restore(Geo::default_map(), &snap).unwrap();
    // Resume after the cursor, redelivering the last ten (at least once).
    let from = after.cursor("norr") as usize - 10;
    apply(&mut after, &events[from..]);
    assert_eq!(after.snapshot(), whole.snapshot());
    assert_eq!(after.cursor("norr"), events.len() as u64);
    // And it ranks the same.
    let p = bench::synthetic_profile(3, "norr", today());
    assert_eq!(rank(&after, &p), rank(&whole, &p));
    // Replaying the whole feed again changes nothing.
    apply(&mut after, &events);
    assert_eq!(after.snapshot(), whole.snapshot());
}

/// The scan (bitsets, then per-home checks from INDEXED on) must agree with
/// checking every home against every constraint in order.
#[test]
fn the_indexed_scan_agrees_with_checking_every_home() {
    let m = bench::synthetic_model(3000, 11, "norr", today());
    let cfg = MatchingConfig::default();
    for i in 0..20 {
        let mut p = bench::synthetic_profile(i, "norr", today());
        if i % 3 == 0 {
            p.kind = PlacementKind::Emergency;
        }
        if i % 4 == 0 {
            p.protected_identity = true;
        }
        let night = i % 5 == 0;
        let o = RankOptions { night, ..opts() };
        let r = m.rank(&cfg, &p, &o).unwrap();
        let ctx = super::rank::Ctx::new(&m, &cfg, &p, &[0, 1], today(), night);
        let mut excluded = [0u32; super::rank::N_CONSTRAINTS];
        let mut suitable = 0;
        for (slot, h) in m.homes.iter().enumerate() {
            match super::constraints::first_failure(slot as u32, h, &ctx, 0) {
                Some(c) => excluded[c as usize] += 1,
                None => suitable += 1,
            }
        }
        let u = &r.units[0];
        assert_eq!(u.excluded, excluded, "profile {i}");
        assert_eq!(u.suitable, suitable, "profile {i}");
        assert_eq!(u.considered as usize, m.len());
    }
}

#[test]
fn a_national_answer_merged_from_regions_equals_ranking_all_homes_at_once() {
    let homes = bench::synthetic_homes(1500, 5, "norr", today());
    let cfg = MatchingConfig::default();
    let all = {
        let mut m = bench::synthetic_model(0, 0, "norr", today());
        for h in &homes {
            m.apply_home_facts(h).unwrap();
        }
        m
    };
    let parts: Vec<ReadModel> = (0..3)
        .map(|k| {
            let mut m = bench::synthetic_model(0, 0, "norr", today());
            for h in homes.iter().skip(k).step_by(3) {
                m.apply_home_facts(h).unwrap();
            }
            m
        })
        .collect();
    for i in 0..10 {
        let mut p = bench::synthetic_profile(i, "norr", today());
        p.kinship = vec![num(3), num(4)];
        let whole = all.rank(&cfg, &p, &opts()).unwrap();
        let answers: Vec<Ranking> = parts
            .iter()
            .map(|m| m.rank(&cfg, &p, &opts()).unwrap())
            .collect();
        let merged = merge_regional(answers.clone(), vec![], &cfg, None).unwrap();
        let (w, g) = (&whole.units[0], &merged.units[0]);
        assert_eq!(listed(g), listed(w), "profile {i}");
        assert_eq!(
            (g.suitable, g.considered, g.excluded),
            (w.suitable, w.considered, w.excluded)
        );
        assert_eq!(g.kinds_offered, w.kinds_offered);
        let mut kw: Vec<_> = w
            .kinship_excluded
            .iter()
            .map(|k| k.home_id.clone())
            .collect();
        let mut kg: Vec<_> = g
            .kinship_excluded
            .iter()
            .map(|k| k.home_id.clone())
            .collect();
        kw.sort();
        kg.sort();
        assert_eq!(kg, kw);
        assert!(!merged.partial);
        let partial =
            merge_regional(answers[..2].to_vec(), vec!["syd".into()], &cfg, None).unwrap();
        assert!(partial.partial && partial.regions_missing == vec!["syd"]);
    }
}

#[test]
fn own_region_first_then_national_when_fewer_than_five() {
    let mut near = good(1);
    near.municipality_code = "2281".into();
    let mut south = good(2);
    south.municipality_code = "1280".into(); // Malmö
    let m = model(&[near, south]);
    let own = RankOptions {
        region: Some("norr".into()),
        ..opts()
    };
    let r = m.rank(&MatchingConfig::default(), &pair(), &own).unwrap();
    assert_eq!(r.regions, vec!["norr"]);
    assert_eq!(listed(&r.units[0]), vec![id(1)]);
    assert!(r.needs_national());
    let all = rank(&m, &pair());
    assert_eq!(all.units[0].homes.len(), 2);
    let e = m
        .rank(
            &MatchingConfig::default(),
            &pair(),
            &RankOptions {
                region: Some("atlantis".into()),
                ..opts()
            },
        )
        .unwrap_err();
    assert!(e.to_string().starts_with("region:"));
}

#[test]
fn memory_per_home_is_reported_and_small() {
    let m = bench::synthetic_model(5000, 1, "norr", today());
    let mem = m.memory();
    assert_eq!(mem.homes, 5000);
    assert!(
        mem.bytes_per_home > 80 && mem.bytes_per_home < 400,
        "{mem:?}"
    );
}

#[test]
fn the_benchmark_runs_and_reports_its_figures() {
    let f = bench::run(&bench::BenchOptions {
        homes: 2000,
        calls: 20,
        threads: 2,
        ..Default::default()
    });
    assert_eq!((f.homes, f.calls, f.threads), (2000, 20, 2));
    assert!(f.rank_p50_ms > 0.0 && f.rank_p99_ms >= f.rank_p50_ms);
    assert!(f.matches_per_s > 0.0 && f.bytes_per_home > 0 && f.suitable_median > 0);
    let json = serde_json::to_value(&f).unwrap();
    for k in [
        "homes",
        "rank_p50_ms",
        "rank_p99_ms",
        "matches_per_s",
        "bytes_per_home",
    ] {
        assert!(json.get(k).is_some(), "{k}");
    }
}
