//! Information meetings, courses, sessions and attendance. The basic
//! training ("Ett hem att växa i") is mandatory before approval and the same
//! for municipal and agency homes (seed 003 lines 15062–15066): a course has
//! no provider. A case has finished training when every carer attended every
//! mandatory session of the basic course it is enrolled in; a session missed
//! may be made up in another run of the basic course (the same number).
use super::RecruitmentError;
use super::text::{id, line, opt_id};
use chrono::NaiveDate;
use samling_kit::dates;
use samling_kit::reference::MunicipalityCode;
use samling_proto::recruitment::v1::{
    AdultRole, Attendance, Case, Course, CourseKind, CourseSession, InfoMeeting, MeetingFormat,
    Participant,
};

pub const MAX_SESSIONS: usize = 50;

/// A case or an approved home: exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Case(String),
    Home(String),
}

impl Who {
    /// From a request's `case_id` / `home_id` pair.
    pub fn from_ids(case_id: &str, home_id: &str) -> Result<Who, RecruitmentError> {
        match (opt_id("case_id", case_id)?, opt_id("home_id", home_id)?) {
            (Some(c), None) => Ok(Who::Case(c)),
            (None, Some(h)) => Ok(Who::Home(h)),
            (Some(_), Some(_)) => Err(RecruitmentError::invalid(
                "home_id",
                "give either case_id or home_id, not both",
            )),
            (None, None) => Err(RecruitmentError::invalid(
                "case_id",
                "case_id or home_id is required",
            )),
        }
    }

    fn is(&self, case_id: &str, home_id: &str) -> bool {
        match self {
            Who::Case(c) => c == case_id,
            Who::Home(h) => h == home_id,
        }
    }

    fn ids(&self) -> (String, String) {
        match self {
            Who::Case(c) => (c.clone(), String::new()),
            Who::Home(h) => (String::new(), h.clone()),
        }
    }
}

/// A new information meeting's values, checked.
pub fn check_meeting(m: &InfoMeeting) -> Result<(), RecruitmentError> {
    MunicipalityCode::parse(m.municipality_code.trim()).map_err(|_| {
        RecruitmentError::invalid("municipality_code", "is not a Swedish municipality code")
    })?;
    dates::from_proto("held_on", m.held_on.as_ref())?;
    if MeetingFormat::try_from(m.format)
        .ok()
        .filter(|f| *f != MeetingFormat::Unspecified)
        .is_none()
    {
        return Err(RecruitmentError::invalid("format", "is required"));
    }
    line("place", &m.place, false, 200)?;
    if m.capacity > 1000 {
        return Err(RecruitmentError::invalid(
            "capacity",
            "must be at most 1000",
        ));
    }
    Ok(())
}

/// Cases whose household attended a meeting that has taken place.
pub fn record_meeting_attendance(
    meeting: &InfoMeeting,
    case_ids: &[String],
    today: NaiveDate,
) -> Result<InfoMeeting, RecruitmentError> {
    let held = dates::from_proto("held_on", meeting.held_on.as_ref())?;
    if held > today {
        return Err(RecruitmentError::precondition(
            "attendance is recorded once the meeting has taken place",
        ));
    }
    if case_ids.is_empty() {
        return Err(RecruitmentError::invalid("case_ids", "is required"));
    }
    let mut m = meeting.clone();
    for c in case_ids {
        let c = id("case_ids", c)?;
        if !m.attended_case_ids.contains(&c) {
            m.attended_case_ids.push(c);
        }
    }
    Ok(m)
}

/// A new course's values, checked.
pub fn check_course(
    name: &str,
    kind: i32,
    municipality_code: &str,
) -> Result<(String, CourseKind), RecruitmentError> {
    let name = line("name", name, true, 200)?;
    let kind = CourseKind::try_from(kind)
        .ok()
        .filter(|k| *k != CourseKind::Unspecified)
        .ok_or_else(|| RecruitmentError::invalid("kind", "is required"))?;
    if !municipality_code.trim().is_empty() {
        MunicipalityCode::parse(municipality_code.trim()).map_err(|_| {
            RecruitmentError::invalid("municipality_code", "is not a Swedish municipality code")
        })?;
    }
    Ok((name, kind))
}

/// A session; its number is unique in the course.
pub fn add_session(course: &Course, session: CourseSession) -> Result<Course, RecruitmentError> {
    let session_id = id("session_id", &session.id)?;
    if !(1..=MAX_SESSIONS as u32).contains(&session.number) {
        return Err(RecruitmentError::invalid(
            "number",
            format!("must be 1–{MAX_SESSIONS}"),
        ));
    }
    dates::from_proto("held_on", session.held_on.as_ref())?;
    let topic = line("topic", &session.topic, false, 200)?;
    if course.sessions.iter().any(|s| s.number == session.number) {
        return Err(RecruitmentError::invalid(
            "number",
            format!("the course already has a session {}", session.number),
        ));
    }
    let mut c = course.clone();
    c.sessions.push(CourseSession {
        id: session_id,
        topic,
        attendance: vec![],
        ..session
    });
    c.sessions.sort_by_key(|s| s.number);
    Ok(c)
}

/// Enrols a case or a home, once.
pub fn enrol(course: &Course, who: &Who, on: NaiveDate) -> Result<Course, RecruitmentError> {
    if course
        .participants
        .iter()
        .any(|p| who.is(&p.case_id, &p.home_id))
    {
        return Err(RecruitmentError::precondition(
            "already enrolled in the course",
        ));
    }
    let (case_id, home_id) = who.ids();
    let mut c = course.clone();
    c.participants.push(Participant {
        case_id,
        home_id,
        enrolled_on: Some(dates::to_proto(on)),
    });
    Ok(c)
}

/// Who of an enrolled participant attended a session that has taken place;
/// replaces what was recorded for that participant. `household` are the ids
/// that may attend (the case's adults, the home's members).
pub fn record_attendance(
    course: &Course,
    session_id: &str,
    who: &Who,
    attendee_ids: &[String],
    household: &[String],
    today: NaiveDate,
) -> Result<Course, RecruitmentError> {
    let session_id = id("session_id", session_id)?;
    if !course
        .participants
        .iter()
        .any(|p| who.is(&p.case_id, &p.home_id))
    {
        return Err(RecruitmentError::precondition("not enrolled in the course"));
    }
    let mut ids = Vec::new();
    for a in attendee_ids {
        let a = id("attendee_ids", a)?;
        if !household.contains(&a) {
            return Err(RecruitmentError::invalid(
                "attendee_ids",
                format!("{a} is not an adult of this household"),
            ));
        }
        if !ids.contains(&a) {
            ids.push(a);
        }
    }
    let mut c = course.clone();
    let session = c
        .sessions
        .iter_mut()
        .find(|s| s.id == session_id)
        .ok_or_else(|| RecruitmentError::not_found("session"))?;
    let held = dates::from_proto("held_on", session.held_on.as_ref())?;
    if held > today {
        return Err(RecruitmentError::precondition(
            "attendance is recorded once the session has taken place",
        ));
    }
    session
        .attendance
        .retain(|a| !who.is(&a.case_id, &a.home_id));
    if !ids.is_empty() {
        let (case_id, home_id) = who.ids();
        session.attendance.push(Attendance {
            case_id,
            home_id,
            attendee_ids: ids,
        });
    }
    Ok(c)
}

/// What training still needs: every carer at every mandatory session of the
/// basic course(s) the case is enrolled in, or the same-numbered session of
/// another basic course in `courses`.
pub fn training_missing(case: &Case, courses: &[Course]) -> Vec<String> {
    let carers: Vec<&str> = case
        .adults
        .iter()
        .filter(|a| a.role() == AdultRole::Carer)
        .map(|a| a.id.as_str())
        .collect();
    if carers.is_empty() {
        return vec!["a carer among the household adults".into()];
    }
    let basic: Vec<&Course> = courses
        .iter()
        .filter(|c| c.kind() == CourseKind::Basic)
        .collect();
    let enrolled: Vec<&&Course> = basic
        .iter()
        .filter(|c| c.participants.iter().any(|p| p.case_id == case.id))
        .collect();
    if enrolled.is_empty() {
        return vec!["enrolment in the basic course".into()];
    }
    let mut numbers: Vec<u32> = enrolled
        .iter()
        .flat_map(|c| c.sessions.iter().filter(|s| s.mandatory).map(|s| s.number))
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    if numbers.is_empty() {
        return vec!["mandatory sessions in the basic course".into()];
    }
    let attended = |carer: &str, n: u32| {
        basic.iter().any(|c| {
            c.sessions.iter().filter(|s| s.number == n).any(|s| {
                s.attendance
                    .iter()
                    .any(|a| a.case_id == case.id && a.attendee_ids.iter().any(|x| x == carer))
            })
        })
    };
    let mut missing = Vec::new();
    for n in numbers {
        for carer in &carers {
            if !attended(carer, n) {
                missing.push(format!("basic course session {n} for adult {carer}"));
            }
        }
    }
    missing
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::pipeline::tests::{CARER_A, CARER_B, answered_case, d};
    use samling_proto::recruitment::v1::Track;

    const COURSE: &str = "0190a0b1-0000-7000-8000-0000000000c0";

    fn session_id(course: &str, n: u32) -> String {
        format!("{}{n:02}", &course[..34])
    }

    /// "Ett hem att växa i": 6 weekly sessions from `start`, 1–5 mandatory,
    /// 6 (a follow-up) not; the case enrolled.
    pub fn basic_course(case_id: &str, start: NaiveDate) -> Course {
        let mut c = Course {
            id: COURSE.into(),
            name: "Ett hem att växa i".into(),
            kind: CourseKind::Basic as i32,
            ..Default::default()
        };
        for n in 1..=6u32 {
            c = add_session(
                &c,
                CourseSession {
                    id: session_id(COURSE, n),
                    number: n,
                    held_on: Some(dates::to_proto(
                        start + chrono::Duration::weeks(i64::from(n) - 1),
                    )),
                    mandatory: n <= 5,
                    topic: String::new(),
                    attendance: vec![],
                },
            )
            .unwrap();
        }
        enrol(&c, &Who::Case(case_id.into()), start).unwrap()
    }

    /// Everyone in `who` at every session.
    pub fn attend_all(course: &Course, case_id: &str, who: &[&str]) -> Course {
        let ids: Vec<String> = who.iter().map(|s| s.to_string()).collect();
        let mut c = course.clone();
        let sessions: Vec<String> = c.sessions.iter().map(|s| s.id.clone()).collect();
        for s in sessions {
            c = record_attendance(
                &c,
                &s,
                &Who::Case(case_id.into()),
                &ids,
                &ids,
                d(2030, 1, 1),
            )
            .unwrap();
        }
        c
    }

    #[test]
    fn every_carer_must_attend_every_mandatory_session() {
        let case = answered_case(Track::Standard, d(2026, 3, 2));
        let household = vec![CARER_A.to_string(), CARER_B.to_string()];
        let course = basic_course(&case.id, d(2026, 3, 16));
        assert_eq!(
            training_missing(&case, &[]),
            vec!["enrolment in the basic course"]
        );
        assert_eq!(
            training_missing(&case, std::slice::from_ref(&course)).len(),
            10
        );
        let mut c = course.clone();
        for s in c.sessions.clone() {
            let who: Vec<String> = if s.number == 3 {
                vec![CARER_A.into()]
            } else {
                household.clone()
            };
            c = record_attendance(
                &c,
                &s.id,
                &Who::Case(case.id.clone()),
                &who,
                &household,
                d(2026, 6, 1),
            )
            .unwrap();
        }
        assert_eq!(
            training_missing(&case, std::slice::from_ref(&c)),
            vec![format!("basic course session 3 for adult {CARER_B}")]
        );
        // The optional session 6 is not needed.
        let mut no6 = c.clone();
        let s6 = no6.sessions[5].id.clone();
        no6 = record_attendance(
            &no6,
            &s6,
            &Who::Case(case.id.clone()),
            &[],
            &household,
            d(2026, 6, 1),
        )
        .unwrap();
        assert_eq!(training_missing(&case, std::slice::from_ref(&no6)).len(), 1);

        // Made up in the next run of the basic course: session 3 there.
        let mut next = basic_course(&case.id, d(2026, 9, 7));
        next.id = "0190a0b1-0000-7000-8000-0000000000c9".into();
        let s3 = next.sessions[2].id.clone();
        let next = record_attendance(
            &next,
            &s3,
            &Who::Case(case.id.clone()),
            &[CARER_B.to_string()],
            &household,
            d(2026, 12, 1),
        )
        .unwrap();
        assert!(training_missing(&case, &[c.clone(), next]).is_empty());

        // Another kind of course does not count.
        let mut npf = c.clone();
        npf.kind = CourseKind::Npf as i32;
        assert_eq!(
            training_missing(&case, &[npf]),
            vec!["enrolment in the basic course"]
        );
    }

    #[test]
    fn attendance_is_for_enrolled_households_at_sessions_that_took_place() {
        let case = answered_case(Track::Standard, d(2026, 3, 2));
        let household = vec![CARER_A.to_string(), CARER_B.to_string()];
        let course = basic_course(&case.id, d(2026, 3, 16));
        let s1 = course.sessions[0].id.clone();
        let stranger = Who::Case("0190a0b1-0000-7000-8000-000000000077".into());
        assert!(matches!(
            record_attendance(
                &course,
                &s1,
                &stranger,
                &household,
                &household,
                d(2026, 4, 1)
            ),
            Err(RecruitmentError::Precondition(_))
        ));
        let e = record_attendance(
            &course,
            &s1,
            &Who::Case(case.id.clone()),
            &household,
            &household,
            d(2026, 3, 15),
        )
        .unwrap_err();
        assert!(e.to_string().contains("once the session has taken place"));
        let e = record_attendance(
            &course,
            &s1,
            &Who::Case(case.id.clone()),
            &["0190a0b1-0000-7000-8000-000000000078".to_string()],
            &household,
            d(2026, 4, 1),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("attendee_ids:"));
        let e = add_session(
            &course,
            CourseSession {
                id: "0190a0b1-0000-7000-8000-0000000000ff".into(),
                number: 2,
                held_on: Some(dates::to_proto(d(2026, 5, 1))),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "number: the course already has a session 2");
        assert!(matches!(
            enrol(&course, &Who::Case(case.id.clone()), d(2026, 3, 16)),
            Err(RecruitmentError::Precondition(_))
        ));
        // Approved homes enrol for further training the same way.
        let home = Who::from_ids("", "0190a0b1-0000-7000-8000-0000000000f1").unwrap();
        assert!(enrol(&course, &home, d(2026, 3, 16)).is_ok());
        assert!(
            Who::from_ids("", "")
                .unwrap_err()
                .to_string()
                .starts_with("case_id:")
        );
        assert!(Who::from_ids(&case.id, "0190a0b1-0000-7000-8000-0000000000f1").is_err());
    }

    #[test]
    fn meetings_and_courses_are_checked() {
        let m = InfoMeeting {
            municipality_code: "2480".into(),
            held_on: Some(dates::to_proto(d(2026, 3, 10))),
            format: MeetingFormat::Digital as i32,
            ..Default::default()
        };
        assert!(check_meeting(&m).is_ok());
        let mut bad = m.clone();
        bad.format = 0;
        assert_eq!(
            check_meeting(&bad).unwrap_err().to_string(),
            "format: is required"
        );
        let e = record_meeting_attendance(
            &m,
            &["0190a0b1-0000-7000-8000-000000000001".into()],
            d(2026, 3, 9),
        )
        .unwrap_err();
        assert!(matches!(e, RecruitmentError::Precondition(_)));
        let ids = vec![
            "0190a0b1-0000-7000-8000-000000000001".to_string(),
            "0190a0b1-0000-7000-8000-000000000001".to_string(),
        ];
        let done = record_meeting_attendance(&m, &ids, d(2026, 3, 10)).unwrap();
        assert_eq!(done.attended_case_ids.len(), 1);
        assert!(
            check_course("", 1, "")
                .unwrap_err()
                .to_string()
                .starts_with("name:")
        );
        assert!(
            check_course("TMO-F", 0, "")
                .unwrap_err()
                .to_string()
                .starts_with("kind:")
        );
        assert!(
            check_course("TMO-F", 3, "0000")
                .unwrap_err()
                .to_string()
                .starts_with("municipality_code:")
        );
        assert_eq!(
            check_course("TMO-F", 3, "").unwrap().1,
            CourseKind::TraumaInformed
        );
    }
}
