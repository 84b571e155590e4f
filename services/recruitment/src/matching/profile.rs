//! The needs profile of a child or a sibling group (issue 20 §1), validated
//! from what a caseworker enters. It holds no personnummer, name or address:
//! children are keys ("a", "b") with an optional registry child id.

use super::MatchingError;
use super::geo::{Muni, Proximity};
use chrono::{Datelike, NaiveDate};
use samling_kit::dates;
use samling_proto::recruitment::v1::{
    AnchorKind, NeedKind, NeedsProfile, NeedsProfileDraft, PlacementKind, ProfileChild,
};
use samling_proto::registry::v1::{HomeType, Sex};

pub const MAX_CHILDREN: usize = 12;
pub const MAX_ANCHORS: usize = 20;
pub const MAX_KINSHIP: usize = 10;
const MAX_TAGS: usize = 30;

#[derive(Clone, Debug, PartialEq)]
pub struct Child {
    pub key: String,
    pub child_id: String,
    /// None in night mode, when only a count of children is known.
    pub birth_date: Option<NaiveDate>,
    pub sex: Sex,
    pub needs: Vec<NeedKind>,
    pub languages: Vec<String>,
    pub culture: String,
    pub religion: String,
    pub allergies: Vec<String>,
    pub pets: Vec<String>,
    pub together_group: String,
}

impl Child {
    /// Whole years on `on`.
    pub fn age_on(&self, on: NaiveDate) -> Option<u32> {
        let b = self.birth_date?;
        let mut years = on.year() - b.year();
        if (on.month(), on.day()) < (b.month(), b.day()) {
            years -= 1;
        }
        u32::try_from(years).ok()
    }

    /// A child of the given count with nothing else known (night mode).
    pub fn anonymous(i: usize) -> Child {
        Child {
            key: format!("c{}", i + 1),
            child_id: String::new(),
            birth_date: None,
            sex: Sex::Unspecified,
            needs: vec![],
            languages: vec![],
            culture: String::new(),
            religion: String::new(),
            allergies: vec![],
            pets: vec![],
            together_group: "all".into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub kind: AnchorKind,
    pub muni: Muni,
    pub within: Option<Proximity>,
    pub keep_away: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub placing: Muni,
    pub children: Vec<Child>,
    pub kind: PlacementKind,
    pub protected_identity: bool,
    pub violence_exposure: bool,
    pub anchors: Vec<Anchor>,
    /// Registry home ids (as UUID numbers) of named kinship/network homes.
    pub kinship: Vec<u128>,
    pub deliver: Vec<String>,
    /// Empty = every type that takes 24-hour care.
    pub home_types: Vec<HomeType>,
}

/// Does text hold control or invisible format characters (bidi overrides,
/// zero-width)? They make a text display as something else.
pub fn has_hidden_chars(s: &str) -> bool {
    s.chars().any(|c| {
        c.is_control()
            || matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
    })
}

/// A plain text of at most `max` characters, trimmed.
pub fn plain(field: &str, s: &str, max: usize) -> Result<String, MatchingError> {
    let t = s.trim();
    if t.chars().count() > max {
        return Err(MatchingError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if has_hidden_chars(t) {
        return Err(MatchingError::invalid(
            field,
            "must not contain control or invisible format characters",
        ));
    }
    Ok(t.to_string())
}

/// Tags as the register keeps them: trimmed, lower-case, unique, sorted.
pub fn tags(field: &str, v: &[String]) -> Result<Vec<String>, MatchingError> {
    if v.len() > MAX_TAGS {
        return Err(MatchingError::invalid(
            field,
            format!("at most {MAX_TAGS} values"),
        ));
    }
    let mut out = Vec::with_capacity(v.len());
    for (i, t) in v.iter().enumerate() {
        let t = t.trim().to_lowercase();
        if t.is_empty()
            || t.chars().count() > 64
            || !t.chars().all(|c| c.is_alphanumeric() || "-_ ".contains(c))
        {
            return Err(MatchingError::invalid(
                format!("{field}[{i}]"),
                "must be 1–64 letters, digits, '-', '_' or spaces",
            ));
        }
        out.push(t);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn uuid_num(field: &str, s: &str) -> Result<u128, MatchingError> {
    Ok(samling_kit::ids::parse_id(field, s)?.as_u128())
}

fn short_key(field: &str, s: &str, max: usize, required: bool) -> Result<String, MatchingError> {
    let t = s.trim();
    if t.is_empty() && required {
        return Err(MatchingError::invalid(field, "is required"));
    }
    if t.len() > max
        || !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(MatchingError::invalid(
            field,
            format!("must be at most {max} ASCII letters, digits, '-' or '_'"),
        ));
    }
    Ok(t.to_string())
}

fn child(field: &str, c: &ProfileChild, today: NaiveDate) -> Result<Child, MatchingError> {
    let key = short_key(&format!("{field}.key"), &c.key, 16, true)?;
    let child_id = if c.child_id.trim().is_empty() {
        String::new()
    } else {
        samling_kit::ids::parse_id(&format!("{field}.child_id"), c.child_id.trim())?;
        c.child_id.trim().to_string()
    };
    let bf = format!("{field}.birth_date");
    let birth = dates::from_proto(&bf, c.birth_date.as_ref())?;
    if birth > today {
        return Err(MatchingError::invalid(bf, "must not be in the future"));
    }
    let out = Child {
        key,
        child_id,
        birth_date: Some(birth),
        sex: Sex::try_from(c.sex)
            .map_err(|_| MatchingError::invalid(format!("{field}.sex"), "is not a known value"))?,
        needs: {
            let mut v = Vec::new();
            for (i, n) in c.needs.iter().enumerate() {
                let n = NeedKind::try_from(*n)
                    .ok()
                    .filter(|n| *n != NeedKind::Unspecified)
                    .ok_or_else(|| {
                        MatchingError::invalid(
                            format!("{field}.needs[{i}]"),
                            "is not a known value",
                        )
                    })?;
                if !v.contains(&n) {
                    v.push(n);
                }
            }
            v.sort();
            v
        },
        languages: tags(&format!("{field}.languages"), &c.languages)?,
        culture: plain(&format!("{field}.culture"), &c.culture, 64)?.to_lowercase(),
        religion: plain(&format!("{field}.religion"), &c.religion, 64)?.to_lowercase(),
        allergies: tags(&format!("{field}.allergies"), &c.allergies)?,
        pets: tags(&format!("{field}.pets"), &c.pets)?,
        together_group: short_key(
            &format!("{field}.together_group"),
            &c.together_group,
            32,
            false,
        )?,
    };
    if out.age_on(today).is_none_or(|a| a > 20) {
        return Err(MatchingError::invalid(
            format!("{field}.birth_date"),
            "the child must be under 21",
        ));
    }
    Ok(out)
}

/// Anchors as entered; errors name `{field}[i].…`.
pub fn validate_anchors(
    field: &str,
    v: &[samling_proto::recruitment::v1::Anchor],
) -> Result<Vec<Anchor>, MatchingError> {
    if v.len() > MAX_ANCHORS {
        return Err(MatchingError::invalid(
            field,
            format!("at most {MAX_ANCHORS} anchors"),
        ));
    }
    let mut anchors = Vec::with_capacity(v.len());
    for (i, a) in v.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let kind = AnchorKind::try_from(a.kind)
            .ok()
            .filter(|k| *k != AnchorKind::Unspecified)
            .ok_or_else(|| MatchingError::invalid(format!("{f}.kind"), "is required"))?;
        let muni = Muni::parse(&format!("{f}.municipality_code"), &a.municipality_code)?;
        let within = Proximity::from_proto(&format!("{f}.within"), a.within)?;
        if within.is_some() && a.keep_away {
            return Err(MatchingError::invalid(
                format!("{f}.within"),
                "an anchor is either kept away from or kept within reach, not both",
            ));
        }
        if kind == AnchorKind::Threat && within.is_some() {
            return Err(MatchingError::invalid(
                format!("{f}.within"),
                "a threat's place is kept away from, never within reach",
            ));
        }
        anchors.push(Anchor {
            kind,
            muni,
            within,
            keep_away: a.keep_away || kind == AnchorKind::Threat,
        });
    }
    Ok(anchors)
}

/// Validate what a caseworker entered. `today` bounds birth dates.
pub fn validate_draft(d: &NeedsProfileDraft, today: NaiveDate) -> Result<Profile, MatchingError> {
    let placing = Muni::parse(
        "draft.placing_municipality_code",
        &d.placing_municipality_code,
    )?;
    if d.children.is_empty() {
        return Err(MatchingError::invalid(
            "draft.children",
            "at least one child is required",
        ));
    }
    if d.children.len() > MAX_CHILDREN {
        return Err(MatchingError::invalid(
            "draft.children",
            format!("at most {MAX_CHILDREN} children"),
        ));
    }
    let mut children = Vec::with_capacity(d.children.len());
    for (i, c) in d.children.iter().enumerate() {
        let c = child(&format!("draft.children[{i}]"), c, today)?;
        if children.iter().any(|o: &Child| o.key == c.key) {
            return Err(MatchingError::invalid(
                format!("draft.children[{i}].key"),
                "appears twice in the profile",
            ));
        }
        children.push(c);
    }
    let kind = PlacementKind::try_from(d.placement_kind)
        .ok()
        .filter(|k| *k != PlacementKind::Unspecified)
        .ok_or_else(|| MatchingError::invalid("draft.placement_kind", "is required"))?;
    let anchors = validate_anchors("draft.anchors", &d.anchors)?;
    if d.kinship_home_ids.len() > MAX_KINSHIP {
        return Err(MatchingError::invalid(
            "draft.kinship_home_ids",
            format!("at most {MAX_KINSHIP} homes"),
        ));
    }
    let mut kinship = Vec::new();
    for (i, id) in d.kinship_home_ids.iter().enumerate() {
        let n = uuid_num(&format!("draft.kinship_home_ids[{i}]"), id.trim())?;
        if !kinship.contains(&n) {
            kinship.push(n);
        }
    }
    let mut home_types = Vec::new();
    for (i, t) in d.home_types.iter().enumerate() {
        let f = format!("draft.home_types[{i}]");
        let t = HomeType::try_from(*t)
            .ok()
            .filter(|t| *t != HomeType::Unspecified)
            .ok_or_else(|| MatchingError::invalid(&f, "is not a known value"))?;
        if matches!(t, HomeType::ContactFamily | HomeType::MentorFamily) {
            return Err(MatchingError::invalid(
                f,
                "contact and mentor families take no 24-hour placements",
            ));
        }
        if !home_types.contains(&t) {
            home_types.push(t);
        }
    }
    Ok(Profile {
        placing,
        children,
        kind,
        protected_identity: d.protected_identity,
        violence_exposure: d.violence_exposure,
        anchors,
        kinship,
        deliver: tags("draft.provider_must_deliver", &d.provider_must_deliver)?,
        home_types,
    })
}

/// The draft a stored profile was made from (to validate it again).
pub fn draft_of(p: &NeedsProfile) -> NeedsProfileDraft {
    NeedsProfileDraft {
        placing_municipality_code: p.placing_municipality_code.clone(),
        children: p.children.clone(),
        placement_kind: p.placement_kind,
        protected_identity: p.protected_identity,
        violence_exposure: p.violence_exposure,
        anchors: p.anchors.clone(),
        kinship_home_ids: p.kinship_home_ids.clone(),
        provider_must_deliver: p.provider_must_deliver.clone(),
        home_types: p.home_types.clone(),
    }
}

impl Profile {
    /// Placement units: children sharing a `together_group` must be placed
    /// together; a child without one is a unit of its own. In order of first
    /// appearance; indexes into `children`.
    pub fn units(&self) -> Vec<Vec<usize>> {
        let mut units: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, c) in self.children.iter().enumerate() {
            if c.together_group.is_empty() {
                units.push((String::new(), vec![i]));
            } else if let Some(u) = units
                .iter_mut()
                .find(|(g, _)| !g.is_empty() && *g == c.together_group)
            {
                u.1.push(i);
            } else {
                units.push((c.together_group.clone(), vec![i]));
            }
        }
        units.into_iter().map(|(_, v)| v).collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use samling_proto::common::v1::Date;
    use samling_proto::recruitment::v1::Anchor as PAnchor;

    pub fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    pub fn pchild(key: &str, year: i32, group: &str) -> ProfileChild {
        ProfileChild {
            key: key.into(),
            birth_date: Some(Date {
                year,
                month: 3,
                day: 1,
            }),
            together_group: group.into(),
            ..Default::default()
        }
    }

    pub fn draft() -> NeedsProfileDraft {
        NeedsProfileDraft {
            placing_municipality_code: "2281".into(),
            children: vec![pchild("a", 2016, "s"), pchild("b", 2019, "s")],
            placement_kind: PlacementKind::LongTerm as i32,
            ..Default::default()
        }
    }

    #[test]
    fn a_sibling_pair_is_one_unit_and_split_groups_are_several() {
        let p = validate_draft(&draft(), today()).unwrap();
        assert_eq!(p.units(), vec![vec![0, 1]]);
        let mut d = draft();
        d.children[1].together_group = String::new();
        d.children.push(pchild("c", 2020, "s"));
        let p = validate_draft(&d, today()).unwrap();
        assert_eq!(p.units(), vec![vec![0, 2], vec![1]]);
        assert_eq!(p.children[0].age_on(today()), Some(10));
    }

    #[test]
    fn bad_input_is_refused_naming_the_field() {
        type Edit = Box<dyn Fn(&mut NeedsProfileDraft)>;
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|d| d.placing_municipality_code = "9999".into()),
                "draft.placing_municipality_code",
            ),
            (Box::new(|d| d.children.clear()), "draft.children"),
            (
                Box::new(|d| d.children[1].key = "a".into()),
                "draft.children[1].key",
            ),
            (
                Box::new(|d| d.children[0].key = " ".into()),
                "draft.children[0].key",
            ),
            (
                Box::new(|d| d.children[0].birth_date = None),
                "draft.children[0].birth_date",
            ),
            (
                Box::new(|d| {
                    d.children[0].birth_date = Some(Date {
                        year: 2027,
                        month: 1,
                        day: 1,
                    })
                }),
                "draft.children[0].birth_date",
            ),
            (
                Box::new(|d| {
                    d.children[0].birth_date = Some(Date {
                        year: 2000,
                        month: 1,
                        day: 1,
                    })
                }),
                "draft.children[0].birth_date",
            ),
            (
                Box::new(|d| d.children[0].needs = vec![99]),
                "draft.children[0].needs[0]",
            ),
            (
                Box::new(|d| d.children[0].allergies = vec!["k@tt".into()]),
                "draft.children[0].allergies[0]",
            ),
            (
                Box::new(|d| d.children[0].culture = "a\u{202E}b".into()),
                "draft.children[0].culture",
            ),
            (Box::new(|d| d.placement_kind = 0), "draft.placement_kind"),
            (
                Box::new(|d| {
                    d.anchors = vec![PAnchor {
                        kind: 2,
                        municipality_code: "0180".into(),
                        within: 2,
                        keep_away: true,
                    }]
                }),
                "draft.anchors[0].within",
            ),
            (
                Box::new(|d| {
                    d.anchors = vec![PAnchor {
                        kind: 0,
                        municipality_code: "0180".into(),
                        ..Default::default()
                    }]
                }),
                "draft.anchors[0].kind",
            ),
            (
                Box::new(|d| {
                    d.anchors = vec![PAnchor {
                        kind: 2,
                        municipality_code: "01800".into(),
                        ..Default::default()
                    }]
                }),
                "draft.anchors[0].municipality_code",
            ),
            (
                Box::new(|d| d.kinship_home_ids = vec!["not-a-uuid".into()]),
                "draft.kinship_home_ids[0]",
            ),
            (
                Box::new(|d| d.home_types = vec![HomeType::ContactFamily as i32]),
                "draft.home_types[0]",
            ),
        ];
        for (f, field) in cases {
            let mut d = draft();
            f(&mut d);
            match validate_draft(&d, today()) {
                Err(MatchingError::Invalid { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_threat_anchor_is_always_kept_away_from() {
        let mut d = draft();
        d.anchors = vec![PAnchor {
            kind: AnchorKind::Threat as i32,
            municipality_code: "0180".into(),
            ..Default::default()
        }];
        let p = validate_draft(&d, today()).unwrap();
        assert!(p.anchors[0].keep_away);
    }
}
