//! Information meetings and courses: attendance marks a case's training
//! progress (the pipeline's training requirement).

use crate::common::*;
use crate::stages::*;
use chrono::Duration;
use samling_kit::dates;
use samling_kit::error::FIELD_METADATA_KEY;
use samling_proto::recruitment::v1::*;
use tonic::Code;

fn field(s: &tonic::Status) -> Option<&str> {
    s.metadata()
        .get(FIELD_METADATA_KEY)
        .and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn course_attendance_completes_a_cases_training_and_is_checked() {
    for (h, _b) in harnesses(None).await {
        let today = h.clock.today();
        let (case, [a, b]) = standard_case(&h, "0180", today - Duration::days(30)).await;
        let mut office = h.client(office()).await;
        let course = rpc!(
            office,
            create_course,
            CreateCourseRequest {
                request_id: "c1".into(),
                name: "Ett hem att växa i, höst".into(),
                kind: CourseKind::Basic as i32,
                municipality_code: "0180".into(),
            }
        )
        .unwrap_or_else(|e| panic!("[{}] create course: {e}", h.backend));
        for (n, ago) in [(1u32, 14i64), (2, 7), (3, -7)] {
            rpc!(
                office,
                add_course_session,
                AddCourseSessionRequest {
                    request_id: format!("s{n}"),
                    course_id: course.id.clone(),
                    number: n,
                    held_on: Some(dates::to_proto(today - Duration::days(ago))),
                    mandatory: n <= 2,
                    topic: String::new(),
                }
            )
            .unwrap_or_else(|e| panic!("[{}] session {n}: {e}", h.backend));
        }
        let enrolled = rpc!(
            office,
            enrol_in_course,
            EnrolInCourseRequest {
                request_id: "e1".into(),
                course_id: course.id.clone(),
                case_id: case.id.clone(),
                home_id: String::new(),
            }
        )
        .unwrap();
        assert_eq!(enrolled.participants.len(), 1, "[{}]", h.backend);
        let s = |n: u32| {
            enrolled
                .sessions
                .iter()
                .find(|s| s.number == n)
                .unwrap()
                .id
                .clone()
        };
        let mut missing = h.service.training_missing(&case).await.unwrap();
        missing.sort();
        assert_eq!(missing.len(), 4, "[{}] {missing:?}", h.backend);

        let attend = |req_id: &str, session: String, who: Vec<String>| RecordAttendanceRequest {
            request_id: req_id.into(),
            course_id: course.id.clone(),
            session_id: session,
            case_id: case.id.clone(),
            home_id: String::new(),
            attendee_ids: who,
        };
        rpc!(
            office,
            record_attendance,
            attend("a1", s(1), vec![a.clone(), b.clone()])
        )
        .unwrap();
        rpc!(
            office,
            record_attendance,
            attend("a2", s(2), vec![a.clone()])
        )
        .unwrap();
        let missing = h.service.training_missing(&case).await.unwrap();
        assert_eq!(
            missing,
            vec![format!("basic course session 2 for adult {b}")],
            "[{}]",
            h.backend
        );
        // Someone not of the household, and a session still to come.
        let err = rpc!(
            office,
            record_attendance,
            attend(
                "a3",
                s(2),
                vec![a.clone(), "0190a0b1-0000-7000-8000-00000000dead".into()]
            )
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "[{}]", h.backend);
        assert_eq!(field(&err), Some("attendee_ids"), "[{}]", h.backend);
        let err = rpc!(
            office,
            record_attendance,
            attend("a4", s(3), vec![a.clone()])
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "[{}]", h.backend);

        let done = rpc!(
            office,
            record_attendance,
            attend("a5", s(2), vec![a.clone(), b.clone()])
        )
        .unwrap();
        assert!(
            h.service.training_missing(&case).await.unwrap().is_empty(),
            "[{}]",
            h.backend
        );
        // The pipeline lets the case leave training on these courses.
        let courses = samling_recruitment::store::courses::of_member(&h.store().read, &case.id)
            .await
            .unwrap();
        assert_eq!(courses, vec![done.clone()], "[{}]", h.backend);
        let mut c = load(&h, &case.id).await;
        c.stage = Stage::Training as i32;
        let ctx = samling_recruitment::domain::pipeline::Context {
            rules: &h.service.rules,
            courses: &courses,
        };
        assert!(
            samling_recruitment::domain::pipeline::missing_to_leave(&c, &ctx).is_empty(),
            "[{}]",
            h.backend
        );

        // An approved home enrols the same way (further training).
        let home = "0190a0b1-0000-7000-8000-0000000000f1";
        let again = rpc!(
            office,
            enrol_in_course,
            EnrolInCourseRequest {
                request_id: "e2".into(),
                course_id: course.id.clone(),
                case_id: String::new(),
                home_id: home.into(),
            }
        )
        .unwrap();
        assert!(again.participants.iter().any(|p| p.home_id == home));
        let err = rpc!(
            office,
            enrol_in_course,
            EnrolInCourseRequest {
                request_id: "e3".into(),
                course_id: course.id.clone(),
                case_id: case.id.clone(),
                home_id: home.into(),
            }
        )
        .unwrap_err();
        assert_eq!(field(&err), Some("home_id"), "[{}]", h.backend);

        // Courses are the office's: a municipality and an analyst are refused.
        for ctx in [caseworker("0180"), analyst(), family_home(home)] {
            let mut c = h.client(ctx).await;
            let err = rpc!(
                c,
                get_course,
                GetCourseRequest {
                    course_id: course.id.clone()
                }
            )
            .unwrap_err();
            assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);
        }
        let listed = rpc!(
            office,
            list_courses,
            ListCoursesRequest {
                kind: CourseKind::Basic as i32,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(listed.courses.len(), 1, "[{}]", h.backend);
        let none = rpc!(
            office,
            list_courses,
            ListCoursesRequest {
                kind: CourseKind::Npf as i32,
                ..Default::default()
            }
        )
        .unwrap();
        assert!(none.courses.is_empty(), "[{}]", h.backend);
    }
}

#[tokio::test]
async fn info_meeting_attendance_is_recorded_on_the_case() {
    for (h, _b) in harnesses(None).await {
        let today = h.clock.today();
        let (case, _) = standard_case(&h, "0180", today - Duration::days(3)).await;
        let mut office = h.client(office()).await;
        let create = CreateInfoMeetingRequest {
            request_id: "m1".into(),
            municipality_code: "0180".into(),
            held_on: Some(dates::to_proto(today)),
            format: MeetingFormat::Digital as i32,
            place: "Teams".into(),
            capacity: 40,
        };
        let m = rpc!(office, create_info_meeting, create.clone()).unwrap();
        let replayed = rpc!(office, create_info_meeting, create).unwrap();
        assert_eq!(
            m, replayed,
            "[{}] a retry answers the first answer",
            h.backend
        );
        let err = rpc!(
            office,
            create_info_meeting,
            CreateInfoMeetingRequest {
                request_id: "m2".into(),
                municipality_code: "9999".into(),
                held_on: Some(dates::to_proto(today)),
                format: MeetingFormat::Digital as i32,
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(field(&err), Some("municipality_code"), "[{}]", h.backend);

        let attended = rpc!(
            office,
            record_info_meeting_attendance,
            RecordInfoMeetingAttendanceRequest {
                request_id: "att1".into(),
                meeting_id: m.id.clone(),
                case_ids: vec![case.id.clone()],
            }
        )
        .unwrap();
        assert_eq!(attended.attended_case_ids, vec![case.id.clone()]);
        let c = load(&h, &case.id).await;
        assert_eq!(c.info_meeting_ids, vec![m.id.clone()], "[{}]", h.backend);
        assert_eq!(c.version, case.version + 1, "[{}]", h.backend);

        let err = rpc!(
            office,
            record_info_meeting_attendance,
            RecordInfoMeetingAttendanceRequest {
                request_id: "att2".into(),
                meeting_id: m.id.clone(),
                case_ids: vec!["0190a0b1-0000-7000-8000-00000000beef".into()],
            }
        )
        .unwrap_err();
        assert_eq!(field(&err), Some("case_ids"), "[{}]", h.backend);

        let listed = rpc!(
            office,
            list_info_meetings,
            ListInfoMeetingsRequest {
                municipality_code: "0180".into(),
                from: Some(dates::to_proto(today)),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(listed.meetings.len(), 1, "[{}]", h.backend);
        let mut worker = h.client(caseworker("0180")).await;
        let err = rpc!(
            worker,
            list_info_meetings,
            ListInfoMeetingsRequest::default()
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);
    }
}
