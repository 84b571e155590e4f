//! Meetings about the child: registered by the placing municipality (the
//! ombud is told by an event), recorded by the child's ombud; what the
//! child wanted said stays with the child and its ombud.

use crate::cases::setup;
use crate::common::*;
use samling_proto::ombud::v1::*;
use tonic::Code;

fn meeting(child: &str) -> RegisterMeetingRequest {
    RegisterMeetingRequest {
        request_id: new_id(),
        child_id: child.into(),
        kind: MeetingKind::CareReview as i32,
        held_on: date(2026, 12, 10),
    }
}

fn record(id: &str) -> RecordMeetingRequest {
    RecordMeetingRequest {
        request_id: new_id(),
        meeting_id: id.into(),
        ombud_attended: true,
        child_wishes: "Jag vill bo kvar och byta skola först i augusti.".into(),
        decisions: "Vården fortsätter; skolbyte i augusti.".into(),
    }
}

#[tokio::test]
async fn a_meeting_registered_by_the_municipality_is_announced_to_the_ombud_who_records_it() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home) = setup(&mut h).await;
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        let m = rpc!(cw, register_meeting, meeting(&child)).unwrap();
        assert_eq!(m.ombud_subject, "ombud-a", "[{bk}]");
        assert_eq!(m.municipality_code, STOCKHOLM, "[{bk}]");
        let told: Vec<serde_json::Value> = h
            .service
            .feed
            .read_after(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.event_type == "ombud.meeting_registered")
            .map(|e| serde_json::from_str(&e.payload_json).unwrap())
            .collect();
        assert_eq!(told.len(), 1, "[{bk}]");
        assert_eq!(told[0]["ombud_subject"], "ombud-a", "[{bk}]");
        assert_eq!(told[0]["held_on"], "2026-12-10", "[{bk}]");

        // Another municipality, the home, another ombud: nothing.
        let mut solna = h.client(caseworker(SOLNA)).await;
        assert_eq!(
            rpc!(solna, register_meeting, meeting(&child))
                .unwrap_err()
                .code(),
            Code::NotFound,
            "[{bk}]"
        );
        let mut fh = h.client(family_home(&home)).await;
        assert_eq!(
            rpc!(fh, register_meeting, meeting(&child))
                .unwrap_err()
                .code(),
            Code::PermissionDenied,
            "[{bk}]"
        );
        h.register("ombud-b").await;
        let mut b = h.client(ombud_as("ombud-b")).await;
        assert_eq!(
            rpc!(b, record_meeting, record(&m.id)).unwrap_err().code(),
            Code::NotFound,
            "[{bk}]"
        );
        assert_eq!(
            rpc!(cw, record_meeting, record(&m.id)).unwrap_err().code(),
            Code::PermissionDenied,
            "[{bk}]"
        );

        let mut o = h.client(ombud_as("ombud-a")).await;
        let r = rpc!(o, record_meeting, record(&m.id)).unwrap();
        assert!(r.recorded && r.ombud_attended, "[{bk}]");
        assert_eq!(
            r.child_wishes, "Jag vill bo kvar och byta skola först i augusti.",
            "[{bk}]"
        );

        let list = |c: &str| ListMeetingsRequest {
            child_id: c.into(),
            page: None,
        };
        let mut kid = h.client(child_ctx(&child)).await;
        let seen = rpc!(kid, list_meetings, list(&child)).unwrap();
        assert_eq!(
            seen.meetings[0].child_wishes, r.child_wishes,
            "[{bk}] the child sees its own words"
        );
        let seen = rpc!(cw, list_meetings, list(&child)).unwrap();
        assert_eq!(seen.meetings.len(), 1, "[{bk}]");
        assert!(
            seen.meetings[0].child_wishes.is_empty(),
            "[{bk}] not the municipality's"
        );
        assert_eq!(
            seen.meetings[0].decisions, "Vården fortsätter; skolbyte i augusti.",
            "[{bk}]"
        );
        assert_eq!(
            rpc!(solna, list_meetings, list(&child)).unwrap_err().code(),
            Code::NotFound,
            "[{bk}]"
        );
        assert_eq!(
            rpc!(b, list_meetings, list(&child)).unwrap_err().code(),
            Code::NotFound,
            "[{bk}]"
        );
        // No child's words in any event.
        for e in h.service.feed.read_after(0, 1000).await.unwrap() {
            assert!(
                !e.payload_json.contains("augusti"),
                "[{bk}] {}",
                e.payload_json
            );
        }
        // Bad input names the field.
        let e = rpc!(
            cw,
            register_meeting,
            RegisterMeetingRequest {
                kind: 0,
                ..meeting(&child)
            }
        )
        .unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::InvalidArgument, Some("kind")),
            "[{bk}]"
        );
        let e = rpc!(
            cw,
            register_meeting,
            RegisterMeetingRequest {
                held_on: None,
                ..meeting(&child)
            }
        )
        .unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("held_on"), "[{bk}]");
        let e = rpc!(
            o,
            record_meeting,
            RecordMeetingRequest {
                child_wishes: "x".repeat(4001),
                ..record(&m.id)
            }
        )
        .unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("child_wishes"), "[{bk}]");
        h.stop().await;
    }
}
