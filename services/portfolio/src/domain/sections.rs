//! The sections' rules: what a valid section is (bad input names its
//! field), the referral waiting times, and what a protected child's
//! portfolio withholds.

use super::PortfolioError;
use chrono::NaiveDate;
use samling_kit::dates;
use samling_proto::common::v1::Date;
use samling_proto::portfolio::v1::*;

type R<T> = Result<T, PortfolioError>;

/// Longest free text of a section.
pub const MAX_TEXT: usize = 4000;
/// Longest short text (a name, a relation).
pub const MAX_SHORT: usize = 200;
/// Most items of a list.
pub const MAX_ITEMS: usize = 100;
/// Largest document file.
pub const MAX_FILE_BYTES: i64 = 20 * 1024 * 1024;
/// The file types a document may have.
pub const MEDIA_TYPES: &[&str] = &["application/pdf", "image/png", "image/jpeg"];

pub(crate) fn text(field: &str, s: &str, max: usize) -> R<()> {
    if s.chars().count() > max {
        return Err(PortfolioError::invalid(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(PortfolioError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn required(field: &str, s: &str, max: usize) -> R<()> {
    if s.trim().is_empty() {
        return Err(PortfolioError::invalid(field, "is required"));
    }
    text(field, s, max)
}

fn items<T>(field: &str, v: &[T]) -> R<()> {
    if v.len() > MAX_ITEMS {
        return Err(PortfolioError::invalid(
            field,
            format!("has more than {MAX_ITEMS} items"),
        ));
    }
    Ok(())
}

fn day(field: &str, d: Option<&Date>) -> R<Option<NaiveDate>> {
    Ok(dates::opt_from_proto(field, d)?)
}

fn not_after(field: &str, d: Option<NaiveDate>, today: NaiveDate) -> R<()> {
    if d.is_some_and(|d| d > today) {
        return Err(PortfolioError::invalid(field, "must not be in the future"));
    }
    Ok(())
}

pub fn check_about_me(a: &AboutMe) -> R<()> {
    text("about_me.in_my_words", &a.in_my_words, MAX_TEXT)?;
    text("about_me.how_to_comfort_me", &a.how_to_comfort_me, MAX_TEXT)?;
    items("about_me.things_i_like", &a.things_i_like)?;
    for (i, t) in a.things_i_like.iter().enumerate() {
        required(&format!("about_me.things_i_like[{i}]"), t, MAX_SHORT)?;
    }
    items("about_me.important_people", &a.important_people)?;
    for (i, t) in a.important_people.iter().enumerate() {
        required(&format!("about_me.important_people[{i}]"), t, MAX_SHORT)?;
    }
    Ok(())
}

/// Checks the health section and computes each referral's waiting days
/// (to the first appointment, or to `today` while the child waits).
pub fn check_health(h: &mut Health, today: NaiveDate) -> R<()> {
    if let Some(e) = &h.examination {
        let on = day("health.examination.examined_on", e.examined_on.as_ref())?;
        not_after("health.examination.examined_on", on, today)?;
        text("health.examination.care_unit", &e.care_unit, MAX_SHORT)?;
    }
    items("health.referrals", &h.referrals)?;
    for (i, r) in h.referrals.iter_mut().enumerate() {
        let f = |n: &str| format!("health.referrals[{i}].{n}");
        if ReferralKind::try_from(r.kind).unwrap_or_default() == ReferralKind::Unspecified {
            return Err(PortfolioError::invalid(f("kind"), "is required"));
        }
        let referred = day(&f("referred_on"), r.referred_on.as_ref())?
            .ok_or_else(|| PortfolioError::invalid(f("referred_on"), "is required"))?;
        not_after(&f("referred_on"), Some(referred), today)?;
        let first = day(&f("first_appointment_on"), r.first_appointment_on.as_ref())?;
        if first.is_some_and(|d| d < referred) {
            return Err(PortfolioError::invalid(
                f("first_appointment_on"),
                "must not be before referred_on",
            ));
        }
        text(&f("note"), &r.note, MAX_TEXT)?;
        let until = first.unwrap_or(today).max(referred);
        r.waiting_days = i32::try_from((until - referred).num_days()).unwrap_or(i32::MAX);
    }
    items("health.medications", &h.medications)?;
    for (i, m) in h.medications.iter().enumerate() {
        required(&format!("health.medications[{i}].name"), &m.name, MAX_SHORT)?;
        text(
            &format!("health.medications[{i}].dosage"),
            &m.dosage,
            MAX_SHORT,
        )?;
    }
    items("health.allergies", &h.allergies)?;
    for (i, a) in h.allergies.iter().enumerate() {
        required(&format!("health.allergies[{i}]"), a, MAX_SHORT)?;
    }
    items("health.vaccinations", &h.vaccinations)?;
    for (i, v) in h.vaccinations.iter().enumerate() {
        required(
            &format!("health.vaccinations[{i}].name"),
            &v.name,
            MAX_SHORT,
        )?;
        let f = format!("health.vaccinations[{i}].given_on");
        let on = day(&f, v.given_on.as_ref())?;
        not_after(&f, on, today)?;
    }
    Ok(())
}

pub fn check_dental(d: &Dental, today: NaiveDate) -> R<()> {
    let last = day("dental.last_visit_on", d.last_visit_on.as_ref())?;
    not_after("dental.last_visit_on", last, today)?;
    day("dental.next_visit_on", d.next_visit_on.as_ref())?;
    text("dental.clinic", &d.clinic, MAX_SHORT)?;
    text("dental.note", &d.note, MAX_TEXT)
}

pub fn check_school(s: &School, today: NaiveDate) -> R<()> {
    if !s.school_unit_code.is_empty()
        && (s.school_unit_code.len() != 8
            || !s.school_unit_code.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(PortfolioError::invalid(
            "school.school_unit_code",
            "must be a school unit code of 8 digits",
        ));
    }
    text("school.school_unit_name", &s.school_unit_name, MAX_SHORT)?;
    text("school.class_name", &s.class_name, MAX_SHORT)?;
    text("school.support_plan", &s.support_plan, MAX_TEXT)?;
    if s.has_support_plan && s.support_plan.trim().is_empty() {
        return Err(PortfolioError::invalid(
            "school.support_plan",
            "is required when has_support_plan is set",
        ));
    }
    if !(0..=1000).contains(&s.absence_per_mille) {
        return Err(PortfolioError::invalid(
            "school.absence_per_mille",
            "must be between 0 and 1000",
        ));
    }
    text("school.grades_follow_up", &s.grades_follow_up, MAX_TEXT)?;
    text("school.handover_note", &s.handover_note, MAX_TEXT)?;
    let on = day("school.handed_over_on", s.handed_over_on.as_ref())?;
    not_after("school.handed_over_on", on, today)
}

pub fn check_leisure(l: &Leisure) -> R<()> {
    text("leisure.plan", &l.plan, MAX_TEXT)?;
    if l.yearly_budget_ore < 0 {
        return Err(PortfolioError::invalid(
            "leisure.yearly_budget_ore",
            "must not be negative",
        ));
    }
    items("leisure.activities", &l.activities)?;
    let mut total: i64 = 0;
    for (i, a) in l.activities.iter().enumerate() {
        required(&format!("leisure.activities[{i}].name"), &a.name, MAX_SHORT)?;
        if a.yearly_cost_ore < 0 {
            return Err(PortfolioError::invalid(
                format!("leisure.activities[{i}].yearly_cost_ore"),
                "must not be negative",
            ));
        }
        total = total.saturating_add(a.yearly_cost_ore);
    }
    if total > l.yearly_budget_ore {
        return Err(PortfolioError::invalid(
            "leisure.activities",
            format!(
                "cost {total} öre a year, more than the budget of {} öre",
                l.yearly_budget_ore
            ),
        ));
    }
    Ok(())
}

pub fn check_documents(d: &Documents) -> R<()> {
    items("documents.documents", &d.documents)?;
    for (i, doc) in d.documents.iter().enumerate() {
        let f = |n: &str| format!("documents.documents[{i}].{n}");
        if DocumentKind::try_from(doc.kind).unwrap_or_default() == DocumentKind::Unspecified {
            return Err(PortfolioError::invalid(f("kind"), "is required"));
        }
        required(&f("title"), &doc.title, MAX_SHORT)?;
        if !MEDIA_TYPES.contains(&doc.media_type.as_str()) {
            return Err(PortfolioError::invalid(
                f("media_type"),
                format!("must be one of {}", MEDIA_TYPES.join(", ")),
            ));
        }
        if doc.size_bytes <= 0 || doc.size_bytes > MAX_FILE_BYTES {
            return Err(PortfolioError::invalid(
                f("size_bytes"),
                format!("must be between 1 and {MAX_FILE_BYTES} bytes"),
            ));
        }
        if doc.sha256.len() != 64
            || !doc
                .sha256
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        {
            return Err(PortfolioError::invalid(
                f("sha256"),
                "must be the SHA-256 of the content as 64 lowercase hex digits",
            ));
        }
        let dated = day(&f("dated"), doc.dated.as_ref())?;
        // A review or a custody consideration counts from the day it was held.
        if dated.is_none()
            && matches!(
                DocumentKind::try_from(doc.kind),
                Ok(DocumentKind::CareReview | DocumentKind::CustodyConsideration)
            )
        {
            return Err(PortfolioError::invalid(
                f("dated"),
                "is required for a care review or a custody consideration (the day it was held)",
            ));
        }
    }
    Ok(())
}

pub fn check_contacts(c: &Contacts) -> R<()> {
    items("contacts.contacts", &c.contacts)?;
    for (i, k) in c.contacts.iter().enumerate() {
        let f = |n: &str| format!("contacts.contacts[{i}].{n}");
        required(&f("name"), &k.name, MAX_SHORT)?;
        text(&f("relation"), &k.relation, MAX_SHORT)?;
        if !k
            .phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-'))
            || k.phone.len() > 20
        {
            return Err(PortfolioError::invalid(
                f("phone"),
                "must be a phone number (digits, +, - and spaces)",
            ));
        }
    }
    Ok(())
}

/// Withhold what would tell where a protected child lives.
pub fn withhold_location(p: &mut Portfolio) {
    let mut withheld = false;
    let mut clear = |s: &mut String| {
        if !s.is_empty() {
            s.clear();
            withheld = true;
        }
    };
    if let Some(h) = p.health.as_mut()
        && let Some(e) = h.examination.as_mut()
    {
        clear(&mut e.care_unit);
    }
    if let Some(d) = p.dental.as_mut() {
        clear(&mut d.clinic);
    }
    if let Some(s) = p.school.as_mut() {
        clear(&mut s.school_unit_code);
        clear(&mut s.school_unit_name);
    }
    if let Some(c) = p.contacts.as_mut() {
        let before = c.contacts.len();
        c.contacts.retain(|k| !k.reveals_location);
        withheld |= c.contacts.len() != before;
    }
    p.location_redacted = withheld;
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_kit::error::ServiceError;

    fn d(y: i32, m: i32, day: i32) -> Option<Date> {
        Some(Date {
            year: y,
            month: m,
            day,
        })
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    #[test]
    fn a_bup_referral_counts_its_waiting_days() {
        let mut h = Health {
            referrals: vec![
                Referral {
                    kind: ReferralKind::Bup as i32,
                    referred_on: d(2026, 9, 1),
                    ..Default::default()
                },
                Referral {
                    kind: ReferralKind::Paediatrics as i32,
                    referred_on: d(2026, 9, 1),
                    first_appointment_on: d(2026, 9, 11),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        check_health(&mut h, today()).unwrap();
        assert_eq!(h.referrals[0].waiting_days, 91);
        assert_eq!(h.referrals[1].waiting_days, 10);
    }

    #[test]
    fn bad_input_names_its_field() {
        let mut h = Health {
            referrals: vec![Referral {
                kind: ReferralKind::Bup as i32,
                ..Default::default()
            }],
            ..Default::default()
        };
        let e = check_health(&mut h, today()).unwrap_err();
        assert_eq!(e.field(), Some("health.referrals[0].referred_on"));
        let l = Leisure {
            yearly_budget_ore: 100_000,
            activities: vec![LeisureActivity {
                name: "Fotboll".into(),
                yearly_cost_ore: 150_000,
            }],
            ..Default::default()
        };
        assert_eq!(
            check_leisure(&l).unwrap_err().field(),
            Some("leisure.activities")
        );
        let doc = |media: &str, size: i64, hash: &str| Documents {
            documents: vec![Document {
                kind: DocumentKind::CarePlan as i32,
                title: "Vårdplan".into(),
                media_type: media.into(),
                size_bytes: size,
                sha256: hash.into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let good = "a".repeat(64);
        check_documents(&doc("application/pdf", 1000, &good)).unwrap();
        let field = |d: Documents| check_documents(&d).unwrap_err().field().map(str::to_string);
        assert_eq!(
            field(doc("application/x-msdownload", 1000, &good)).as_deref(),
            Some("documents.documents[0].media_type")
        );
        assert_eq!(
            field(doc("application/pdf", MAX_FILE_BYTES + 1, &good)).as_deref(),
            Some("documents.documents[0].size_bytes")
        );
        assert_eq!(
            field(doc("application/pdf", 10, &"A".repeat(64))).as_deref(),
            Some("documents.documents[0].sha256")
        );
    }

    #[test]
    fn a_protected_childs_places_are_withheld() {
        let mut p = Portfolio {
            school: Some(School {
                school_unit_name: "Byskolan".into(),
                class_name: "5B".into(),
                ..Default::default()
            }),
            contacts: Some(Contacts {
                contacts: vec![
                    Contact {
                        name: "Familjehemmet".into(),
                        reveals_location: true,
                        ..Default::default()
                    },
                    Contact {
                        name: "Ombudet".into(),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
            ..Default::default()
        };
        withhold_location(&mut p);
        assert!(p.location_redacted);
        assert_eq!(p.school.as_ref().unwrap().school_unit_name, "");
        assert_eq!(p.school.as_ref().unwrap().class_name, "5B");
        assert_eq!(p.contacts.as_ref().unwrap().contacts.len(), 1);
    }
}
