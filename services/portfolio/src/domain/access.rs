//! Who reads and writes which section (docs/portfolio.md "Access"): pure
//! rules over the caller's relation to the child, decided by the service
//! from the signed context, the portfolio and the placements of the feed.

use crate::domain::retention::{self, Stage};
use samling_proto::portfolio::v1::Section;

/// The caller's relation to one child's portfolio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The regional office (of the region).
    Office,
    /// Another Samling service.
    Service,
    /// The child itself; `of_age` from the own-view age on.
    Child { of_age: bool },
    /// The family home the child lives in today (a placement of the feed
    /// active today).
    CurrentHome,
    /// A caseworker or manager of the placing municipality.
    PlacingCaseworker,
    /// The child-rights ombud assigned to the child.
    AssignedOmbud,
    /// Staff of a care unit the portfolio names.
    HealthUnit,
    /// Staff of a school unit the portfolio names.
    SchoolUnit,
    /// A birth parent or guardian of the child.
    Guardian,
    /// Anyone else: the portfolio's existence is not disclosed.
    Stranger,
}

pub const ALL_SECTIONS: [Section; 7] = [
    Section::AboutMe,
    Section::Health,
    Section::Dental,
    Section::School,
    Section::Leisure,
    Section::Documents,
    Section::Contacts,
];

/// May `rel` read `section` (`sealed`: sealed from guardians)?
pub fn may_read(rel: Relation, section: Section, sealed: bool) -> bool {
    use Relation::*;
    use Section as S;
    match rel {
        Office | Service | PlacingCaseworker | CurrentHome | AssignedOmbud => true,
        Child { of_age } => of_age,
        HealthUnit => matches!(section, S::Health | S::Dental),
        SchoolUnit => matches!(section, S::School),
        Guardian => !sealed,
        Stranger => false,
    }
}

/// May `rel` write `section`?
pub fn may_write(rel: Relation, section: Section) -> bool {
    use Relation::*;
    use Section as S;
    match rel {
        // The child's own words: the child's, and the caseworker's when the
        // child asks for help (never the home's).
        Child { of_age } => of_age && section == S::AboutMe,
        PlacingCaseworker | Office => !matches!(section, S::AboutMe) || rel == PlacingCaseworker,
        CurrentHome => matches!(section, S::Leisure | S::Contacts | S::Dental),
        HealthUnit => matches!(section, S::Health | S::Dental),
        SchoolUnit => matches!(section, S::School),
        Service | AssignedOmbud | Guardian | Stranger => false,
    }
}

/// May `rel` see where a protected child lives (the home, the school,
/// the clinic, the care unit, contacts that reveal the place)?
pub fn sees_location(rel: Relation, protected: bool) -> bool {
    use Relation::*;
    !protected
        || matches!(
            rel,
            Office | Service | PlacingCaseworker | CurrentHome | Child { .. }
        )
}

/// May `rel` see which home the child lives in?
pub fn sees_home(rel: Relation, protected: bool) -> bool {
    use Relation::*;
    match rel {
        Office | Service | PlacingCaseworker | CurrentHome | Child { of_age: true } => true,
        AssignedOmbud | Guardian => !protected,
        _ => false,
    }
}

/// May `rel` read the access log (who read what and when)?
pub fn may_read_log(rel: Relation) -> bool {
    matches!(
        rel,
        Relation::Office | Relation::PlacingCaseworker | Relation::Child { of_age: true }
    )
}

/// May `rel` read what the child was told and the checklist? Those who
/// tell or carry on the telling: casework, the home the child lives in,
/// the assigned ombud, and the child from the own-view age. Not guardians
/// (what the child was told about them is the child's) nor care or school
/// units.
pub fn may_read_information(rel: Relation) -> bool {
    use Relation::*;
    matches!(
        rel,
        Office | Service | PlacingCaseworker | CurrentHome | AssignedOmbud | Child { of_age: true }
    )
}

/// May `rel` record that the child was told something? Informing the child
/// is the social services' duty (the placing caseworker, the office); the
/// ombud tells the child about their rights and themself.
pub fn may_record_information(rel: Relation) -> bool {
    matches!(
        rel,
        Relation::Office | Relation::PlacingCaseworker | Relation::AssignedOmbud
    )
}

/// May `rel` set the relations (ombud, units, sealed sections, own-view age)?
pub fn may_set_relations(rel: Relation) -> bool {
    matches!(rel, Relation::Office | Relation::PlacingCaseworker)
}

/// Does `rel` keep access to the portfolio in the retention `stage`
/// (ADR 0043)? Active: every relation. Restricted (care ended): the young
/// person, the placing municipality's caseworker, the office, services, and
/// guardians while the child is under 18 (`adult`: 18 or over). Archived:
/// the young person and the office (the authority's registrar) only.
pub fn admitted_in(rel: Relation, stage: Stage, adult: bool) -> bool {
    use Relation::*;
    match stage {
        Stage::Active => rel != Stranger,
        Stage::Restricted => {
            matches!(rel, Office | Service | PlacingCaseworker | Child { .. })
                || (rel == Guardian && !adult)
        }
        Stage::Archived => matches!(rel, Office | Child { .. }),
    }
}

/// May `rel` read `section` in `stage`?
pub fn may_read_in(
    rel: Relation,
    stage: Stage,
    adult: bool,
    section: Section,
    sealed: bool,
) -> bool {
    admitted_in(rel, stage, adult) && may_read(rel, section, sealed)
}

/// May `rel` write `section` in `stage`? Restricted: the aftercare sections
/// only; archived: nothing (read-only).
pub fn may_write_in(rel: Relation, stage: Stage, adult: bool, section: Section) -> bool {
    admitted_in(rel, stage, adult)
        && may_write(rel, section)
        && match stage {
            Stage::Active => true,
            Stage::Restricted => retention::written_in_aftercare(section),
            Stage::Archived => false,
        }
}

/// May `rel` change the portfolio's other parts (relations, what the child
/// was told) in `stage`? Not once archived.
pub fn may_change_in(stage: Stage) -> bool {
    stage != Stage::Archived
}

/// The section's name in the audit log and the access log.
pub fn section_name(s: Section) -> &'static str {
    match s {
        Section::Unspecified => "portfolio",
        Section::AboutMe => "about_me",
        Section::Health => "health",
        Section::Dental => "dental",
        Section::School => "school",
        Section::Leisure => "leisure",
        Section::Documents => "documents",
        Section::Contacts => "contacts",
    }
}

/// Whole years from `birth` to `today`.
pub fn age_on(birth: chrono::NaiveDate, today: chrono::NaiveDate) -> u32 {
    today.years_since(birth).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Relation::*;

    #[test]
    fn guardians_never_read_sealed_sections_and_strangers_nothing() {
        for s in ALL_SECTIONS {
            assert!(may_read(Guardian, s, false));
            assert!(!may_read(Guardian, s, true));
            assert!(!may_read(Stranger, s, false));
            assert!(!may_write(Guardian, s));
            assert!(!may_write(AssignedOmbud, s));
        }
    }

    #[test]
    fn only_the_child_of_age_and_its_caseworker_write_about_me() {
        assert!(may_write(Child { of_age: true }, Section::AboutMe));
        assert!(!may_write(Child { of_age: false }, Section::AboutMe));
        assert!(!may_read(Child { of_age: false }, Section::AboutMe, false));
        assert!(!may_write(CurrentHome, Section::AboutMe));
        assert!(!may_write(Office, Section::AboutMe));
        assert!(may_write(PlacingCaseworker, Section::AboutMe));
        assert!(!may_write(Child { of_age: true }, Section::Health));
    }

    #[test]
    fn units_write_their_own_section_only() {
        assert!(may_write(HealthUnit, Section::Health));
        assert!(!may_write(HealthUnit, Section::School));
        assert!(may_write(SchoolUnit, Section::School));
        assert!(!may_read(SchoolUnit, Section::Health, false));
        assert!(!may_read(HealthUnit, Section::School, false));
    }

    #[test]
    fn a_protected_childs_place_is_for_those_who_must_know() {
        assert!(!sees_location(Guardian, true));
        assert!(!sees_location(AssignedOmbud, true));
        assert!(sees_location(CurrentHome, true));
        assert!(!sees_home(Guardian, true));
        assert!(sees_home(Guardian, false));
        assert!(!sees_home(SchoolUnit, false));
    }

    #[test]
    fn the_stage_narrows_who_reads_and_writes() {
        let all = [
            Office,
            Service,
            Child { of_age: true },
            CurrentHome,
            PlacingCaseworker,
            AssignedOmbud,
            HealthUnit,
            SchoolUnit,
            Guardian,
            Stranger,
        ];
        for rel in all {
            assert_eq!(admitted_in(rel, Stage::Active, false), rel != Stranger);
            for s in ALL_SECTIONS {
                assert_eq!(
                    may_write_in(rel, Stage::Active, false, s),
                    may_write(rel, s)
                );
                assert!(
                    !may_write_in(rel, Stage::Archived, true, s),
                    "{rel:?} {s:?}"
                );
            }
        }
        for rel in [CurrentHome, AssignedOmbud, HealthUnit, SchoolUnit, Stranger] {
            assert!(!admitted_in(rel, Stage::Restricted, false), "{rel:?}");
        }
        assert!(admitted_in(Guardian, Stage::Restricted, false));
        assert!(!admitted_in(Guardian, Stage::Restricted, true));
        for rel in [Office, Child { of_age: true }] {
            assert!(admitted_in(rel, Stage::Archived, true));
        }
        for rel in [
            Service,
            PlacingCaseworker,
            CurrentHome,
            Guardian,
            HealthUnit,
            SchoolUnit,
        ] {
            assert!(!admitted_in(rel, Stage::Archived, true), "{rel:?}");
        }
        // Aftercare writes: health yes, leisure and dental no.
        assert!(may_write_in(
            PlacingCaseworker,
            Stage::Restricted,
            true,
            Section::Health
        ));
        assert!(!may_write_in(
            PlacingCaseworker,
            Stage::Restricted,
            true,
            Section::Leisure
        ));
        assert!(!may_write_in(
            PlacingCaseworker,
            Stage::Restricted,
            true,
            Section::Dental
        ));
        assert!(may_write_in(
            Child { of_age: true },
            Stage::Restricted,
            true,
            Section::AboutMe
        ));
        // Sealed stays sealed in aftercare.
        assert!(!may_read_in(
            Guardian,
            Stage::Restricted,
            false,
            Section::Health,
            true
        ));
        assert!(may_read_in(
            Guardian,
            Stage::Restricted,
            false,
            Section::Health,
            false
        ));
        assert!(may_read_in(
            Child { of_age: true },
            Stage::Archived,
            true,
            Section::Health,
            false
        ));
        assert!(!may_change_in(Stage::Archived) && may_change_in(Stage::Restricted));
    }

    #[test]
    fn ages_count_whole_years() {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(age_on(d("2013-06-01"), d("2026-05-31")), 12);
        assert_eq!(age_on(d("2013-06-01"), d("2026-06-01")), 13);
    }
}
