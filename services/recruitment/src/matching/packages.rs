//! Information packages (issue 20 §6; seed 003 ≈6421–6432, 10055–10063):
//! the child's "CV" for a proposed home and the home's presentation for the
//! child. Each is built from a whitelist of what the other may see: never a
//! personnummer, surname, address, registry id, birth date or the places
//! of a protected child (anchors), and no street or town of a protected home.

use super::MatchingError;
use super::profile::{Profile, plain};
use chrono::{Datelike, NaiveDate};
use samling_kit::reference::MunicipalityCode;
use samling_proto::recruitment::v1::{
    ChildPackage, ChildStory, HomePackage, HomeStory, HouseholdPerson,
};
use samling_proto::registry::v1::{Home, MemberRole};

const MAX_STORY_TEXT: usize = 2000;
const MAX_ITEMS: usize = 20;
const MAX_ITEM: usize = 100;

fn items(field: &str, v: &[String]) -> Result<Vec<String>, MatchingError> {
    if v.len() > MAX_ITEMS {
        return Err(MatchingError::invalid(
            field,
            format!("at most {MAX_ITEMS} items"),
        ));
    }
    v.iter()
        .enumerate()
        .map(|(i, s)| plain(&format!("{field}[{i}]"), s, MAX_ITEM))
        .filter(|r| r.as_ref().map_or(true, |s| !s.is_empty()))
        .collect()
}

/// Validate a child's story for `profile`; fields named as in the request.
pub fn validate_child_story(
    profile: &Profile,
    s: &ChildStory,
) -> Result<ChildStory, MatchingError> {
    let key = s.child_key.trim();
    if !profile.children.iter().any(|c| c.key == key) {
        return Err(MatchingError::invalid(
            "story.child_key",
            "is not a child of the profile",
        ));
    }
    Ok(ChildStory {
        profile_id: s.profile_id.clone(),
        child_key: key.to_string(),
        called: plain("story.called", &s.called, 40)?,
        about_me: plain("story.about_me", &s.about_me, MAX_STORY_TEXT)?,
        likes: items("story.likes", &s.likes)?,
        dislikes: items("story.dislikes", &s.dislikes)?,
        comfort: plain("story.comfort", &s.comfort, MAX_STORY_TEXT)?,
        important_people: items("story.important_people", &s.important_people)?,
        routines: plain("story.routines", &s.routines, MAX_STORY_TEXT)?,
        wishes_for_new_home: plain(
            "story.wishes_for_new_home",
            &s.wishes_for_new_home,
            MAX_STORY_TEXT,
        )?,
        version: s.version,
    })
}

/// Validate a home's story.
pub fn validate_home_story(s: &HomeStory) -> Result<HomeStory, MatchingError> {
    Ok(HomeStory {
        home_id: s.home_id.clone(),
        greeting: plain("story.greeting", &s.greeting, MAX_STORY_TEXT)?,
        daily_life: plain("story.daily_life", &s.daily_life, MAX_STORY_TEXT)?,
        free_time: plain("story.free_time", &s.free_time, MAX_STORY_TEXT)?,
        house_rules: plain("story.house_rules", &s.house_rules, MAX_STORY_TEXT)?,
        photo_refs: items("story.photo_refs", &s.photo_refs)?,
        version: s.version,
    })
}

/// The child's "CV" for a home the child is proposed to.
pub fn child_package(
    profile: &Profile,
    child_key: &str,
    stories: &[ChildStory],
    as_of: NaiveDate,
) -> Result<ChildPackage, MatchingError> {
    let Some(i) = profile.children.iter().position(|c| c.key == child_key) else {
        return Err(MatchingError::NotFound("child".into()));
    };
    let c = &profile.children[i];
    let story = stories.iter().find(|s| s.child_key == child_key);
    let unit = profile
        .units()
        .into_iter()
        .find(|u| u.contains(&i))
        .unwrap_or_default();
    let siblings_together = unit
        .iter()
        .filter(|j| **j != i)
        .map(|j| {
            let s = &profile.children[*j];
            let called = stories
                .iter()
                .find(|st| st.child_key == s.key)
                .map(|st| st.called.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "a sibling".into());
            match s.age_on(as_of) {
                Some(a) => format!("{called}, {a}"),
                None => called,
            }
        })
        .collect();
    let s = story.cloned().unwrap_or_default();
    Ok(ChildPackage {
        child_key: c.key.clone(),
        called: s.called,
        age_years: c.age_on(as_of).unwrap_or(0),
        sex: c.sex as i32,
        languages: c.languages.clone(),
        culture: c.culture.clone(),
        religion: c.religion.clone(),
        needs: c.needs.iter().map(|n| *n as i32).collect(),
        allergies: c.allergies.clone(),
        siblings_together,
        siblings_elsewhere: (profile.children.len() - unit.len().max(1)) as u32,
        protected_identity: profile.protected_identity,
        about_me: s.about_me,
        likes: s.likes,
        dislikes: s.dislikes,
        comfort: s.comfort,
        important_people: s.important_people,
        routines: s.routines,
        wishes_for_new_home: s.wishes_for_new_home,
        placement_kind: profile.kind as i32,
    })
}

/// The home's presentation for a child it is proposed to, from the
/// registry's record of the home (the service's full read) and its story.
pub fn home_package(h: &Home, story: Option<&HomeStory>, as_of: NaiveDate) -> HomePackage {
    let age = |birth_year: i32| {
        if birth_year > 0 {
            u32::try_from(as_of.year() - birth_year).unwrap_or(0)
        } else {
            0
        }
    };
    let household = h
        .members
        .iter()
        .map(|m| {
            let role = MemberRole::try_from(m.role).unwrap_or(MemberRole::Unspecified);
            HouseholdPerson {
                // The carers introduce themselves by given name; others by role and age.
                given_name: if role == MemberRole::Carer {
                    m.given_name.clone()
                } else {
                    String::new()
                },
                role: m.role,
                age_years: age(m.birth_year),
            }
        })
        .collect();
    let (town, municipality_name) = if h.protected_identity {
        (String::new(), String::new())
    } else {
        (
            h.address
                .as_ref()
                .map(|a| a.city.clone())
                .unwrap_or_default(),
            MunicipalityCode::parse(&h.municipality_code)
                .map(|m| m.name().to_string())
                .unwrap_or_default(),
        )
    };
    let s = story.cloned().unwrap_or_default();
    HomePackage {
        home_id: h.id.clone(),
        home_type: h.home_type,
        town,
        municipality_name,
        household,
        pets: h.pets.clone(),
        languages: h.languages.clone(),
        other_placed_children: h.placed_count.max(0) as u32,
        greeting: s.greeting,
        daily_life: s.daily_life,
        free_time: s.free_time,
        house_rules: s.house_rules,
        photo_refs: s.photo_refs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::profile::tests::{draft, today};
    use crate::matching::profile::validate_draft;
    use samling_proto::recruitment::v1::{Anchor, AnchorKind};
    use samling_proto::registry::v1::{Address, HouseholdMember};

    fn home(protected: bool) -> Home {
        Home {
            id: "0190a000-0000-7000-8000-000000000001".into(),
            version: 3,
            municipality_code: "2281".into(),
            protected_identity: protected,
            address: Some(Address {
                street: "Storgatan 1".into(),
                postal_code: "852 30".into(),
                city: "Sundsvall".into(),
            }),
            members: vec![
                HouseholdMember {
                    id: "m1".into(),
                    given_name: "Anna".into(),
                    family_name: "Berg".into(),
                    personnummer: "191212121212".into(),
                    role: MemberRole::Carer as i32,
                    birth_year: 1980,
                    record_checks: vec![],
                },
                HouseholdMember {
                    id: "m2".into(),
                    given_name: "Olle".into(),
                    family_name: "Berg".into(),
                    personnummer: "201501012384".into(),
                    role: MemberRole::Child as i32,
                    birth_year: 2015,
                    record_checks: vec![],
                },
            ],
            pets: vec!["hund".into()],
            languages: vec!["svenska".into()],
            placed_count: 1,
            ..Default::default()
        }
    }

    #[test]
    fn the_home_package_has_no_personnummer_surname_or_street_and_hides_a_protected_town() {
        let story = HomeStory {
            greeting: "Välkommen!".into(),
            ..Default::default()
        };
        let p = home_package(&home(false), Some(&story), today());
        let text = format!("{p:?}");
        for secret in [
            "191212121212",
            "201501012384",
            "Berg",
            "Storgatan",
            "852 30",
            "Olle",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(p.town, "Sundsvall");
        assert_eq!(p.municipality_name, "Sundsvall");
        assert_eq!(p.household[0].given_name, "Anna");
        assert_eq!(p.household[1].age_years, 11);
        assert_eq!(p.greeting, "Välkommen!");
        let hidden = home_package(&home(true), None, today());
        assert!(hidden.town.is_empty() && hidden.municipality_name.is_empty());
        assert!(!format!("{hidden:?}").contains("Sundsvall"));
    }

    #[test]
    fn the_childs_cv_names_siblings_by_called_name_and_leaves_out_ids_dates_and_places() {
        let mut d = draft();
        d.children[0].child_id = "0190a000-0000-7000-8000-0000000000c1".into();
        d.protected_identity = true;
        d.anchors = vec![Anchor {
            kind: AnchorKind::Parents as i32,
            municipality_code: "0180".into(),
            ..Default::default()
        }];
        let p = validate_draft(&d, today()).unwrap();
        let stories = vec![
            ChildStory {
                child_key: "a".into(),
                called: "Sam".into(),
                likes: vec!["fotboll".into()],
                ..Default::default()
            },
            ChildStory {
                child_key: "b".into(),
                called: "Mo".into(),
                ..Default::default()
            },
        ];
        let cv = child_package(&p, "a", &stories, today()).unwrap();
        assert_eq!(cv.called, "Sam");
        assert_eq!(cv.age_years, 10);
        assert_eq!(cv.siblings_together, vec!["Mo, 7"]);
        assert_eq!(cv.siblings_elsewhere, 0);
        assert!(cv.protected_identity);
        let text = format!("{cv:?}");
        for secret in ["0190a000", "2016", "0180", "Stockholm"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(matches!(
            child_package(&p, "z", &stories, today()),
            Err(MatchingError::NotFound(_))
        ));
    }

    #[test]
    fn stories_are_checked_naming_the_field() {
        let p = validate_draft(&draft(), today()).unwrap();
        let bad = ChildStory {
            child_key: "x".into(),
            ..Default::default()
        };
        assert!(
            validate_child_story(&p, &bad)
                .unwrap_err()
                .to_string()
                .starts_with("story.child_key")
        );
        let bad = ChildStory {
            child_key: "a".into(),
            likes: vec!["a\u{202E}b".into()],
            ..Default::default()
        };
        assert!(
            validate_child_story(&p, &bad)
                .unwrap_err()
                .to_string()
                .starts_with("story.likes[0]")
        );
        let bad = HomeStory {
            greeting: "x".repeat(2001),
            ..Default::default()
        };
        assert!(
            validate_home_story(&bad)
                .unwrap_err()
                .to_string()
                .starts_with("story.greeting")
        );
    }
}
