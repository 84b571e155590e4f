//! Mentor families (seed 003 lines 11538–11724): experienced homes that
//! support other homes outside office hours. A mentor family supports at
//! most its cap of homes at a time (about ten, lines 11598–11600; the
//! default is configurable, a family's own cap may be lower or higher); a
//! home has one mentor family at a time, never itself.
use super::RecruitmentError;
use super::text::id;
use chrono::NaiveDate;
use samling_kit::dates;
use samling_proto::recruitment::v1::{MentorAssignment, MentorFamily};

/// A family's own cap, or the default when it has none.
pub fn effective_cap(family: &MentorFamily, default_cap: u32) -> u32 {
    if family.cap == 0 {
        default_cap
    } else {
        family.cap
    }
}

fn active(a: &MentorAssignment) -> bool {
    a.until.is_none()
}

/// The most homes a mentor family may be given as its own cap.
pub const MAX_OWN_CAP: u32 = 30;

/// A family's own cap (0 = the default) and languages, checked.
pub fn check_registration(cap: u32, languages: &[String]) -> Result<Vec<String>, RecruitmentError> {
    if cap > MAX_OWN_CAP {
        return Err(RecruitmentError::invalid(
            "cap",
            format!("must be at most {MAX_OWN_CAP} (0 = the default)"),
        ));
    }
    let mut out = Vec::new();
    for l in languages {
        let l = super::text::line("languages", l, true, 40)?;
        if !out.contains(&l) {
            out.push(l);
        }
    }
    Ok(out)
}

/// Homes the family supports now.
pub fn active_count(family: &MentorFamily) -> u32 {
    family.assignments.iter().filter(|a| active(a)).count() as u32
}

/// The figures a family's answer shows: cap in force and active homes.
pub fn with_figures(mut family: MentorFamily, default_cap: u32) -> MentorFamily {
    family.effective_cap = effective_cap(&family, default_cap);
    family.active_assignments = active_count(&family);
    family
}

/// Assigns `home_id` to the family from `from`. `home_mentor` is the family
/// currently mentoring that home, if any (the store knows it).
pub fn assign(
    family: &MentorFamily,
    assignment_id: &str,
    home_id: &str,
    from: NaiveDate,
    home_mentor: Option<&str>,
    default_cap: u32,
) -> Result<MentorFamily, RecruitmentError> {
    let home_id = id("home_id", home_id)?;
    let assignment_id = id("assignment_id", assignment_id)?;
    if home_id == family.home_id {
        return Err(RecruitmentError::invalid(
            "home_id",
            "a mentor family does not mentor itself",
        ));
    }
    match home_mentor {
        Some(m) if m == family.id => {
            return Err(RecruitmentError::precondition(
                "the home already has this mentor family",
            ));
        }
        Some(_) => {
            return Err(RecruitmentError::precondition(
                "the home already has a mentor family; end that assignment first",
            ));
        }
        None => {}
    }
    let cap = effective_cap(family, default_cap);
    if active_count(family) >= cap {
        return Err(RecruitmentError::MentorAtCap { cap });
    }
    let mut f = family.clone();
    f.assignments.push(MentorAssignment {
        id: assignment_id,
        home_id,
        from: Some(dates::to_proto(from)),
        until: None,
    });
    Ok(with_figures(f, default_cap))
}

/// Ends an active assignment on `until` (not before it began).
pub fn end_assignment(
    family: &MentorFamily,
    assignment_id: &str,
    until: NaiveDate,
    default_cap: u32,
) -> Result<MentorFamily, RecruitmentError> {
    let assignment_id = id("assignment_id", assignment_id)?;
    let mut f = family.clone();
    let a = f
        .assignments
        .iter_mut()
        .find(|a| a.id == assignment_id)
        .ok_or_else(|| RecruitmentError::not_found("assignment"))?;
    if !active(a) {
        return Err(RecruitmentError::precondition("the assignment has ended"));
    }
    let from = dates::opt_from_proto("from", a.from.as_ref())?;
    if from.is_some_and(|f| until < f) {
        return Err(RecruitmentError::invalid(
            "until",
            "is before the assignment began",
        ));
    }
    a.until = Some(dates::to_proto(until));
    Ok(with_figures(f, default_cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn uuid(n: u32) -> String {
        format!("0190a0b1-0000-7000-8000-{n:012x}")
    }

    fn family(cap: u32) -> MentorFamily {
        MentorFamily {
            id: uuid(0xfa),
            home_id: uuid(0xf0),
            cap,
            ..Default::default()
        }
    }

    #[test]
    fn the_default_cap_of_ten_is_enforced() {
        let mut f = family(0);
        for i in 0..10 {
            f = assign(&f, &uuid(100 + i), &uuid(200 + i), d(2026, 1, 1), None, 10).unwrap();
        }
        assert_eq!((f.effective_cap, f.active_assignments), (10, 10));
        let e = assign(&f, &uuid(110), &uuid(210), d(2026, 1, 1), None, 10).unwrap_err();
        assert_eq!(
            e.to_string(),
            "mentor_family_id: the mentor family is at its cap of 10 homes"
        );
        assert!(matches!(e, RecruitmentError::MentorAtCap { cap: 10 }));
        // Ending one frees a place; ended assignments stay in the history.
        let f = end_assignment(&f, &uuid(103), d(2026, 6, 1), 10).unwrap();
        assert_eq!(f.active_assignments, 9);
        let f = assign(&f, &uuid(110), &uuid(210), d(2026, 6, 2), None, 10).unwrap();
        assert_eq!((f.assignments.len(), f.active_assignments), (11, 10));
    }

    #[test]
    fn a_familys_own_cap_and_a_configured_default_apply() {
        let mut f = family(3);
        for i in 0..3 {
            f = assign(&f, &uuid(100 + i), &uuid(200 + i), d(2026, 1, 1), None, 10).unwrap();
        }
        assert!(matches!(
            assign(&f, &uuid(109), &uuid(209), d(2026, 1, 1), None, 10),
            Err(RecruitmentError::MentorAtCap { cap: 3 })
        ));
        let mut g = family(0);
        for i in 0..7 {
            g = assign(&g, &uuid(100 + i), &uuid(200 + i), d(2026, 1, 1), None, 7).unwrap();
        }
        assert!(matches!(
            assign(&g, &uuid(109), &uuid(209), d(2026, 1, 1), None, 7),
            Err(RecruitmentError::MentorAtCap { cap: 7 })
        ));
    }

    #[test]
    fn registration_bounds_the_own_cap() {
        assert!(check_registration(0, &[]).unwrap().is_empty());
        assert_eq!(
            check_registration(30, &["arabiska".into(), "arabiska".into()])
                .unwrap()
                .len(),
            1
        );
        let e = check_registration(31, &[]).unwrap_err();
        assert!(e.to_string().starts_with("cap:"));
        assert!(
            check_registration(5, &[" ".into()])
                .unwrap_err()
                .to_string()
                .starts_with("languages:")
        );
    }

    #[test]
    fn one_mentor_per_home_never_itself() {
        let f = family(0);
        let e = assign(&f, &uuid(100), &uuid(0xf0), d(2026, 1, 1), None, 10).unwrap_err();
        assert!(e.to_string().starts_with("home_id:"));
        let own = f.id.clone();
        assert!(matches!(
            assign(&f, &uuid(100), &uuid(200), d(2026, 1, 1), Some(own.as_str()), 10),
            Err(RecruitmentError::Precondition(m)) if m.contains("already has this")
        ));
        assert!(matches!(
            assign(&f, &uuid(100), &uuid(200), d(2026, 1, 1), Some("other"), 10),
            Err(RecruitmentError::Precondition(m)) if m.contains("end that assignment first")
        ));
        let f = assign(&f, &uuid(100), &uuid(200), d(2026, 3, 1), None, 10).unwrap();
        let e = end_assignment(&f, &uuid(100), d(2026, 2, 1), 10).unwrap_err();
        assert!(e.to_string().starts_with("until:"));
        let f = end_assignment(&f, &uuid(100), d(2026, 3, 1), 10).unwrap();
        assert!(matches!(
            end_assignment(&f, &uuid(100), d(2026, 4, 1), 10),
            Err(RecruitmentError::Precondition(_))
        ));
        assert!(matches!(
            end_assignment(&f, &uuid(999), d(2026, 4, 1), 10),
            Err(RecruitmentError::NotFound(_))
        ));
    }
}
