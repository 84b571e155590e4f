//! Retention (issue 22 §8, ADR 0043, docs/portfolio.md "Retention"): the
//! stage a portfolio must be in on a day, from what the portfolio knows
//! (the placements of the registry's feed, the birth date, the stage it is
//! in), and what changes when it moves there. Pure: the service reads the
//! facts, the job applies the plan.
//!
//! * **Active** — in care: a placement active today, one still to start,
//!   or none ended yet.
//! * **Restricted** — care ended (every placement ended on or before
//!   today): aftercare. The young person, the placing municipality's
//!   caseworker and the office; writes only to the aftercare sections.
//! * **Archived** — from the 25th birthday, or `years_after_care_end`
//!   after the care ended if that is later, and never while in care:
//!   read-only, thinned to its archive form (the section rules below). Final:
//!   nothing makes an archived portfolio active again.

use chrono::{Months, NaiveDate};
use samling_proto::portfolio::v1::{Portfolio, RetentionStage, Section};

/// The stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Active,
    Restricted,
    Archived,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::Active, Stage::Restricted, Stage::Archived];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Active => "active",
            Stage::Restricted => "restricted",
            Stage::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn to_proto(self) -> RetentionStage {
        match self {
            Stage::Active => RetentionStage::Active,
            Stage::Restricted => RetentionStage::Restricted,
            Stage::Archived => RetentionStage::Archived,
        }
    }

    /// A stored portfolio's stage (unset: active, as every portfolio was
    /// before retention existed).
    pub fn of(p: &Portfolio) -> Stage {
        match RetentionStage::try_from(p.retention_stage) {
            Ok(RetentionStage::Restricted) => Stage::Restricted,
            Ok(RetentionStage::Archived) => Stage::Archived,
            _ => Stage::Active,
        }
    }
}

/// The policy's configurable ages (`[portfolio] archive_age`,
/// `archive_years_after_care_end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The age at which the portfolio is archived (aftercare runs to 25,
    /// seed 003 ≈8993–8998, ≈9347–9350).
    pub archive_age: u32,
    /// At least this many whole years after the care ended (for a young
    /// person whose care ended late).
    pub years_after_care_end: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            archive_age: 25,
            years_after_care_end: 1,
        }
    }
}

/// One placement as the feed recorded it (`None` end: open-ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
}

/// What the portfolio knows about the child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub birth_date: Option<NaiveDate>,
    pub placements: Vec<Placement>,
    /// The stage stored (the job's last word).
    pub stage: Stage,
}

/// The day a person born `birth` turns `age`: the first day on which
/// [`crate::domain::access::age_on`] says so (born on 29 February: 1 March
/// in a common year).
pub fn birthday(birth: NaiveDate, age: u32) -> Option<NaiveDate> {
    let d = birth.checked_add_months(Months::new(age.checked_mul(12)?))?;
    if crate::domain::access::age_on(birth, d) >= age {
        Some(d)
    } else {
        d.succ_opt()
    }
}

/// The day care ended: every placement ended on or before `today` (none
/// open-ended, none to end or start later). `None` while in care or never
/// placed.
pub fn care_end(facts: &Facts, today: NaiveDate) -> Option<NaiveDate> {
    let mut last: Option<NaiveDate> = None;
    for p in &facts.placements {
        match p.ends_on {
            Some(end) if end <= today && p.starts_on.is_none_or(|s| s <= today) => {
                last = Some(last.map_or(end, |l| l.max(end)));
            }
            _ => return None,
        }
    }
    last
}

/// Is the child in care on `today` (a placement not ended, or one to
/// start)?
pub fn in_care(facts: &Facts, today: NaiveDate) -> bool {
    !facts.placements.is_empty() && care_end(facts, today).is_none()
}

/// The first day of the archived stage: the birthday of `archive_age`, or
/// `years_after_care_end` after the care ended if later. `None` without a
/// birth date (never archived by age: the dry run lists it).
pub fn archive_on(facts: &Facts, policy: &Policy, today: NaiveDate) -> Option<NaiveDate> {
    let by_age = birthday(facts.birth_date?, policy.archive_age)?;
    match care_end(facts, today) {
        Some(end) => {
            let after = end.checked_add_months(Months::new(policy.years_after_care_end * 12))?;
            Some(by_age.max(after))
        }
        None => Some(by_age),
    }
}

/// The stage the portfolio must be in on `today`.
pub fn stage_on(facts: &Facts, policy: &Policy, today: NaiveDate) -> Stage {
    if facts.stage == Stage::Archived {
        // Thinned: final.
        return Stage::Archived;
    }
    if in_care(facts, today) {
        return Stage::Active;
    }
    if archive_on(facts, policy, today).is_some_and(|d| today >= d) {
        return Stage::Archived;
    }
    if care_end(facts, today).is_some() {
        Stage::Restricted
    } else {
        // Never placed (opened by hand): nothing ended.
        Stage::Active
    }
}

/// What becomes of a section in the archive form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionRule {
    /// Kept whole (read-only).
    Keep,
    /// Kept as the record of the child's rights: dates, kinds, codes and
    /// hashes; free text, names of places and the everyday detail removed.
    Reduce,
    /// Thinned (gallras): removed.
    Delete,
}

/// The per-section rule table (ADR 0043): what the archive keeps and why.
pub const ARCHIVE_RULES: [(Section, SectionRule, &str); 7] = [
    (
        Section::AboutMe,
        SectionRule::Keep,
        "the young person's own words: theirs to read back",
    ),
    (
        Section::Health,
        SectionRule::Reduce,
        "the examination at care start and the referrals with their waiting days (the record that the child's right to care was met); medication, allergies, vaccinations, notes and the care unit are the care providers' journals",
    ),
    (
        Section::Dental,
        SectionRule::Reduce,
        "the visit dates; the clinic and the note removed",
    ),
    (
        Section::School,
        SectionRule::Reduce,
        "the school unit code, whether there was a support plan, the absence and the handover date; free text and class removed",
    ),
    (
        Section::Leisure,
        SectionRule::Delete,
        "the home's activity plan and budget: no record value after care",
    ),
    (
        Section::Documents,
        SectionRule::Keep,
        "the documents' metadata and SHA-256 (the files are the municipality's personakt)",
    ),
    (
        Section::Contacts,
        SectionRule::Delete,
        "transient contacts (names, phone numbers): thinned",
    ),
];

/// The rule for one section.
pub fn archive_rule(s: Section) -> SectionRule {
    ARCHIVE_RULES
        .iter()
        .find(|(x, _, _)| *x == s)
        .map(|(_, r, _)| *r)
        .unwrap_or(SectionRule::Delete)
}

/// What a change of stage does beside recording the stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Revoke the child's prescription credentials not yet revoked (care
    /// ended: no home holds one).
    RevokeCredentials,
    /// Delete the child's prescription credentials (thinned at archiving).
    DeleteCredentials,
    /// Apply a section's archive rule.
    Section(Section, SectionRule),
    /// Forget who worked with the child (ombud, health and school units):
    /// none of them reads an archived portfolio. The sealed list stays.
    ClearWorkingRelations,
}

/// The stage on `today` and what moving there from the stored stage does
/// (nothing when it stays).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub from: Stage,
    pub to: Stage,
    pub actions: Vec<Action>,
}

impl Plan {
    pub fn changes(&self) -> bool {
        self.from != self.to
    }
}

pub fn plan(facts: &Facts, policy: &Policy, today: NaiveDate) -> Plan {
    let to = stage_on(facts, policy, today);
    let from = facts.stage;
    let mut actions = Vec::new();
    if from != to {
        match to {
            Stage::Active => {}
            Stage::Restricted => actions.push(Action::RevokeCredentials),
            Stage::Archived => {
                actions.push(Action::DeleteCredentials);
                actions.extend(
                    ARCHIVE_RULES
                        .iter()
                        .map(|(s, r, _)| Action::Section(*s, *r)),
                );
                actions.push(Action::ClearWorkingRelations);
            }
        }
    }
    Plan { from, to, actions }
}

/// Apply a section's archive rule to the portfolio.
pub fn apply_section_rule(p: &mut Portfolio, s: Section, rule: SectionRule) {
    match (s, rule) {
        (_, SectionRule::Keep) | (Section::Unspecified, _) => {}
        (Section::AboutMe, SectionRule::Delete) => p.about_me = None,
        (Section::Health, SectionRule::Delete) => p.health = None,
        (Section::Dental, SectionRule::Delete) => p.dental = None,
        (Section::School, SectionRule::Delete) => p.school = None,
        (Section::Leisure, SectionRule::Delete) => p.leisure = None,
        (Section::Documents, SectionRule::Delete) => p.documents = None,
        (Section::Contacts, SectionRule::Delete) => p.contacts = None,
        (Section::Health, SectionRule::Reduce) => {
            if let Some(h) = p.health.as_mut() {
                if let Some(e) = h.examination.as_mut() {
                    e.care_unit.clear();
                }
                for r in &mut h.referrals {
                    r.note.clear();
                }
                h.medications.clear();
                h.allergies.clear();
                h.vaccinations.clear();
            }
        }
        (Section::Dental, SectionRule::Reduce) => {
            if let Some(d) = p.dental.as_mut() {
                d.clinic.clear();
                d.note.clear();
            }
        }
        (Section::School, SectionRule::Reduce) => {
            if let Some(x) = p.school.as_mut() {
                x.school_unit_name.clear();
                x.class_name.clear();
                x.support_plan.clear();
                x.grades_follow_up.clear();
                x.handover_note.clear();
            }
        }
        (Section::Leisure, SectionRule::Reduce) => {
            if let Some(l) = p.leisure.as_mut() {
                l.plan.clear();
                l.activities.clear();
            }
        }
        (Section::Documents, SectionRule::Reduce) => {
            if let Some(d) = p.documents.as_mut() {
                for doc in &mut d.documents {
                    doc.title.clear();
                }
            }
        }
        (Section::Contacts, SectionRule::Reduce) => {
            if let Some(c) = p.contacts.as_mut() {
                c.contacts.retain(|c| !c.reveals_location);
                for c in &mut c.contacts {
                    c.phone.clear();
                }
            }
        }
        (Section::AboutMe, SectionRule::Reduce) => {}
    }
}

/// The portfolio in its archive form: every section's rule applied and the
/// working relations forgotten (the sealed list and the own-view age kept).
pub fn archive_form(p: &mut Portfolio) {
    for (s, r, _) in ARCHIVE_RULES {
        apply_section_rule(p, s, r);
    }
    if let Some(r) = p.relations.as_mut() {
        r.ombud_subjects.clear();
        r.health_units.clear();
        r.school_units.clear();
    }
}

/// The sections written in the restricted stage (aftercare: support in
/// contacts with health care, school and working life, seed 003
/// ≈9347–9351; the young person's own words; documents and contacts).
/// Leisure and dental were the home's.
pub fn written_in_aftercare(s: Section) -> bool {
    matches!(
        s,
        Section::AboutMe
            | Section::Health
            | Section::School
            | Section::Documents
            | Section::Contacts
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_proto::portfolio::v1::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn placed(start: &str, end: Option<&str>) -> Placement {
        Placement {
            starts_on: Some(d(start)),
            ends_on: end.map(d),
        }
    }

    /// Born 2002-06-15 (25 on 2027-06-15); care ended 2020-06-15 (at 18).
    fn aftercare() -> Facts {
        Facts {
            birth_date: Some(d("2002-06-15")),
            placements: vec![placed("2012-01-01", Some("2020-06-15"))],
            stage: Stage::Restricted,
        }
    }

    const P: Policy = Policy {
        archive_age: 25,
        years_after_care_end: 1,
    };

    #[test]
    fn the_day_before_on_and_after_the_25th_birthday() {
        let f = aftercare();
        assert_eq!(stage_on(&f, &P, d("2027-06-14")), Stage::Restricted);
        assert_eq!(stage_on(&f, &P, d("2027-06-15")), Stage::Archived);
        assert_eq!(stage_on(&f, &P, d("2027-06-16")), Stage::Archived);
        assert_eq!(archive_on(&f, &P, d("2027-06-15")), Some(d("2027-06-15")));
    }

    #[test]
    fn the_day_before_on_and_after_care_ends() {
        let mut f = aftercare();
        f.stage = Stage::Active;
        f.placements = vec![placed("2012-01-01", Some("2020-06-15"))];
        assert_eq!(stage_on(&f, &P, d("2020-06-14")), Stage::Active);
        assert!(in_care(&f, d("2020-06-14")));
        // The home has no access on the end date: care ended that day.
        assert_eq!(stage_on(&f, &P, d("2020-06-15")), Stage::Restricted);
        assert_eq!(stage_on(&f, &P, d("2020-06-16")), Stage::Restricted);
        assert_eq!(care_end(&f, d("2020-06-16")), Some(d("2020-06-15")));
    }

    #[test]
    fn an_open_ended_or_later_placement_is_care() {
        let mut f = aftercare();
        f.stage = Stage::Active;
        f.placements = vec![placed("2012-01-01", None)];
        assert_eq!(stage_on(&f, &P, d("2019-01-01")), Stage::Active);
        // A move: the first ended, the next starts in a week.
        f.placements = vec![
            placed("2012-01-01", Some("2019-01-01")),
            placed("2019-01-08", None),
        ];
        assert_eq!(stage_on(&f, &P, d("2019-01-03")), Stage::Active);
        // A placement ending after today is care too.
        f.placements = vec![placed("2012-01-01", Some("2019-02-01"))];
        assert_eq!(stage_on(&f, &P, d("2019-01-31")), Stage::Active);
    }

    #[test]
    fn a_new_placement_after_care_end_makes_it_active_again() {
        let mut f = aftercare();
        assert_eq!(stage_on(&f, &P, d("2021-01-01")), Stage::Restricted);
        f.placements.push(placed("2021-01-01", None));
        let p = plan(&f, &P, d("2021-01-01"));
        assert_eq!((p.from, p.to), (Stage::Restricted, Stage::Active));
        assert!(p.actions.is_empty(), "reactivating thins nothing");
        // …decided before it starts: care again from the decision.
        f.placements.last_mut().unwrap().starts_on = Some(d("2021-02-01"));
        assert_eq!(stage_on(&f, &P, d("2021-01-15")), Stage::Active);
    }

    #[test]
    fn archived_is_final_even_if_placed_again() {
        let mut f = aftercare();
        f.stage = Stage::Archived;
        f.placements.push(placed("2028-01-01", None));
        assert_eq!(stage_on(&f, &P, d("2028-02-01")), Stage::Archived);
        assert!(!plan(&f, &P, d("2028-02-01")).changes());
    }

    #[test]
    fn never_archived_while_in_care_nor_before_the_years_after_care() {
        // In care at 25 (an error of the data, or care beyond 21): active.
        let mut f = aftercare();
        f.stage = Stage::Active;
        f.placements = vec![placed("2020-01-01", None)];
        assert_eq!(stage_on(&f, &P, d("2027-07-01")), Stage::Active);
        // Care ended at 24½: archived a year after, not at 25.
        f.placements = vec![placed("2020-01-01", Some("2027-01-10"))];
        assert_eq!(stage_on(&f, &P, d("2027-06-15")), Stage::Restricted);
        assert_eq!(stage_on(&f, &P, d("2028-01-09")), Stage::Restricted);
        assert_eq!(stage_on(&f, &P, d("2028-01-10")), Stage::Archived);
        // Configurable: 0 years after the care end archives at 25.
        let p0 = Policy {
            years_after_care_end: 0,
            ..P
        };
        assert_eq!(stage_on(&f, &p0, d("2027-06-15")), Stage::Archived);
        // A later archive age.
        let p30 = Policy {
            archive_age: 30,
            ..P
        };
        assert_eq!(stage_on(&f, &p30, d("2028-01-10")), Stage::Restricted);
    }

    #[test]
    fn without_a_birth_date_it_is_never_archived_by_age() {
        let mut f = aftercare();
        f.birth_date = None;
        assert_eq!(archive_on(&f, &P, d("2040-01-01")), None);
        assert_eq!(stage_on(&f, &P, d("2040-01-01")), Stage::Restricted);
    }

    #[test]
    fn a_portfolio_never_placed_stays_active_until_archived_at_25() {
        let f = Facts {
            birth_date: Some(d("2002-06-15")),
            placements: vec![],
            stage: Stage::Active,
        };
        assert_eq!(stage_on(&f, &P, d("2027-06-14")), Stage::Active);
        assert_eq!(stage_on(&f, &P, d("2027-06-15")), Stage::Archived);
    }

    #[test]
    fn a_leap_day_child_turns_25_on_the_first_of_march() {
        assert_eq!(birthday(d("2004-02-29"), 25), Some(d("2029-03-01")));
        assert_eq!(birthday(d("2004-02-29"), 24), Some(d("2028-02-29")));
        let f = Facts {
            birth_date: Some(d("2004-02-29")),
            placements: vec![placed("2010-01-01", Some("2022-02-28"))],
            stage: Stage::Restricted,
        };
        assert_eq!(stage_on(&f, &P, d("2029-02-28")), Stage::Restricted);
        assert_eq!(stage_on(&f, &P, d("2029-03-01")), Stage::Archived);
    }

    #[test]
    fn the_plans_actions_per_stage() {
        let mut f = aftercare();
        f.stage = Stage::Active;
        let p = plan(&f, &P, d("2021-01-01"));
        assert_eq!(p.to, Stage::Restricted);
        assert_eq!(p.actions, vec![Action::RevokeCredentials]);
        // Staying: nothing.
        f.stage = Stage::Restricted;
        assert!(plan(&f, &P, d("2021-01-01")).actions.is_empty());
        // Archiving: credentials deleted, every section's rule, relations.
        let p = plan(&f, &P, d("2027-06-15"));
        assert_eq!(p.to, Stage::Archived);
        assert_eq!(p.actions[0], Action::DeleteCredentials);
        assert!(
            p.actions
                .contains(&Action::Section(Section::Contacts, SectionRule::Delete))
        );
        assert!(
            p.actions
                .contains(&Action::Section(Section::AboutMe, SectionRule::Keep))
        );
        assert_eq!(p.actions.last(), Some(&Action::ClearWorkingRelations));
        assert_eq!(p.actions.len(), 2 + ARCHIVE_RULES.len());
        // Skipping restricted (never placed): archived directly.
        let never = Facts {
            placements: vec![],
            stage: Stage::Active,
            ..aftercare()
        };
        assert_eq!(plan(&never, &P, d("2027-06-15")).to, Stage::Archived);
    }

    #[test]
    fn the_archive_form_keeps_the_record_and_thins_the_rest() {
        let mut p = Portfolio {
            about_me: Some(AboutMe {
                in_my_words: "jag gillar fotboll".into(),
                ..Default::default()
            }),
            health: Some(Health {
                examination: Some(HealthExamination {
                    care_unit: "BVC".into(),
                    physical: true,
                    ..Default::default()
                }),
                referrals: vec![Referral {
                    kind: ReferralKind::Bup as i32,
                    waiting_days: 40,
                    note: "note".into(),
                    ..Default::default()
                }],
                allergies: vec!["nötter".into()],
                medications: vec![Medication {
                    name: "x".into(),
                    dosage: "y".into(),
                }],
                ..Default::default()
            }),
            dental: Some(Dental {
                clinic: "Folktandvården".into(),
                note: "n".into(),
                last_visit_on: Some(samling_proto::common::v1::Date {
                    year: 2020,
                    month: 1,
                    day: 2,
                }),
                ..Default::default()
            }),
            school: Some(School {
                school_unit_code: "12345678".into(),
                school_unit_name: "Skolan".into(),
                support_plan: "plan".into(),
                has_support_plan: true,
                ..Default::default()
            }),
            leisure: Some(Leisure::default()),
            documents: Some(Documents {
                documents: vec![Document {
                    sha256: "a".repeat(64),
                    title: "Vårdplan".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            contacts: Some(Contacts::default()),
            relations: Some(Relations {
                ombud_subjects: vec!["o".into()],
                health_units: vec!["h".into()],
                school_units: vec!["s".into()],
                sealed_sections: vec![Section::Health as i32],
                own_view_age: 12,
            }),
            ..Default::default()
        };
        archive_form(&mut p);
        assert_eq!(p.about_me.unwrap().in_my_words, "jag gillar fotboll");
        let h = p.health.unwrap();
        assert!(h.examination.as_ref().unwrap().physical);
        assert_eq!(h.examination.unwrap().care_unit, "");
        assert_eq!(h.referrals[0].waiting_days, 40);
        assert_eq!(h.referrals[0].note, "");
        assert!(h.allergies.is_empty() && h.medications.is_empty());
        let dental = p.dental.unwrap();
        assert!(
            dental.clinic.is_empty() && dental.note.is_empty() && dental.last_visit_on.is_some()
        );
        let s = p.school.unwrap();
        assert_eq!(s.school_unit_code, "12345678");
        assert!(s.has_support_plan && s.support_plan.is_empty() && s.school_unit_name.is_empty());
        assert!(p.leisure.is_none() && p.contacts.is_none());
        let docs = p.documents.unwrap();
        assert_eq!(docs.documents[0].sha256, "a".repeat(64));
        let r = p.relations.unwrap();
        assert!(
            r.ombud_subjects.is_empty() && r.health_units.is_empty() && r.school_units.is_empty()
        );
        assert_eq!(
            r.sealed_sections,
            vec![Section::Health as i32],
            "sealed stays sealed"
        );
    }

    #[test]
    fn every_section_has_exactly_one_archive_rule_and_stages_round_trip() {
        for s in crate::domain::access::ALL_SECTIONS {
            assert_eq!(ARCHIVE_RULES.iter().filter(|(x, _, _)| *x == s).count(), 1);
        }
        for st in Stage::ALL {
            assert_eq!(Stage::parse(st.as_str()), Some(st));
            let p = Portfolio {
                retention_stage: st.to_proto() as i32,
                ..Default::default()
            };
            assert_eq!(Stage::of(&p), st);
        }
        assert_eq!(Stage::of(&Portfolio::default()), Stage::Active);
        assert!(written_in_aftercare(Section::Health));
        assert!(!written_in_aftercare(Section::Leisure));
        assert!(!written_in_aftercare(Section::Dental));
    }
}
