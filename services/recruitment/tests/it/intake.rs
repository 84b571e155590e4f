//! Inquiry intake: the public form (token, fill time, single use, honeypot,
//! the receipt), staff intake, the first response in Swedish working days,
//! overdue inquiries, withdrawal (erasure), campaigns; attackers.

use crate::common::*;
use chrono::NaiveDate;
use futures::StreamExt;
use samling_kit::auth::{AuthContext, PUBLIC_SUBJECT, Role};
use samling_kit::error::FIELD_METADATA_KEY;
use samling_proto::common::v1::{Date, Event, ListAuditRequest, WatchEventsRequest};
use samling_proto::recruitment::v1::*;
use samling_proto::registry::v1::HomeType;
use tonic::{Code, Status};

pub const GIVEN: &str = "Ingrid";
pub const FAMILY: &str = "Sjöholm";
pub const EMAIL: &str = "ingrid.sjoholm@example.se";
pub const PHONE: &str = "070-123 45 67";

/// The gateway's public (not logged-in) caller.
pub fn public() -> AuthContext {
    AuthContext::new(PUBLIC_SUBJECT, Role::Service)
}

pub fn date(y: i32, m: u32, d: u32) -> Date {
    Date {
        year: y,
        month: m as i32,
        day: d as i32,
    }
}

pub fn at(y: i32, m: u32, d: u32) -> chrono::DateTime<chrono::Utc> {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
        .and_utc()
}

/// An inquiry from someone in Stockholm (0180).
pub fn draft() -> InquiryDraft {
    InquiryDraft {
        given_name: GIVEN.into(),
        family_name: FAMILY.into(),
        email: EMAIL.into(),
        phone: PHONE.into(),
        municipality_code: "0180".into(),
        interests: vec![HomeType::FamilyHome as i32],
        adults_in_household: 2,
        children_in_household: 1,
        message: "Vi har ett extra rum.".into(),
        ..Default::default()
    }
}

pub fn create_req(request_id: &str, municipality: &str) -> CreateInquiryRequest {
    CreateInquiryRequest {
        request_id: request_id.into(),
        inquiry: Some(InquiryDraft {
            municipality_code: municipality.into(),
            ..draft()
        }),
        channel: Channel::Event as i32,
        lawful_basis: LawfulBasis::Consent as i32,
        privacy_notice_version: "2026-1".into(),
        ..Default::default()
    }
}

/// A staff inquiry from `municipality`, received today.
pub async fn inquiry(h: &Harness, municipality: &str) -> Case {
    let mut office = h.client(office()).await;
    rpc!(office, create_inquiry, create_req("", municipality))
        .unwrap_or_else(|e| panic!("[{}] create inquiry: {e}", h.backend))
}

pub fn field(e: &Status) -> Option<&str> {
    e.metadata()
        .get(FIELD_METADATA_KEY)
        .and_then(|v| v.to_str().ok())
}

pub async fn events(h: &Harness) -> Vec<Event> {
    let mut office = h.client(office()).await;
    let req = office.request(WatchEventsRequest {
        after: 0,
        event_types: vec![],
        stop_at_end: true,
    });
    let mut stream = office
        .raw()
        .watch_events(req)
        .await
        .expect("watch events")
        .into_inner();
    let mut out = Vec::new();
    while let Some(e) = stream.next().await {
        out.push(e.expect("event"));
    }
    out
}

/// Nothing of the applicant in `text`.
pub fn assert_nothing_personal(text: &str, what: &str) {
    for p in [GIVEN, FAMILY, EMAIL, "ingrid", "0701234567", "extra rum"] {
        assert!(!text.contains(p), "{what} holds {p:?}: {text}");
    }
}

/// The office's campaign "HOSTEN26" (the code `submission` carries).
pub async fn campaign(office: &mut Client, b: &str, starts_on: Date) -> Campaign {
    rpc!(
        *office,
        create_campaign,
        CreateCampaignRequest {
            name: "Hösten 2026".into(),
            code: "HOSTEN26".into(),
            channels: vec![Channel::SocialMedia as i32],
            starts_on: Some(starts_on),
            ..Default::default()
        }
    )
    .unwrap_or_else(|e| panic!("[{b}] campaign: {e}"))
}

pub fn submission(token: &str) -> SubmitPublicInquiryRequest {
    SubmitPublicInquiryRequest {
        request_id: String::new(),
        form_token: token.into(),
        inquiry: Some(draft()),
        channel: Channel::SocialMedia as i32,
        campaign_code: "hosten26".into(),
        consent: true,
        privacy_notice_version: "2026-1".into(),
        future_contact: false,
        website: String::new(),
    }
}

#[tokio::test]
async fn the_public_form_takes_a_token_once_after_the_fill_time_and_answers_nothing_personal() {
    for (h, _b) in harnesses(Some(REGION)).await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        let campaign = campaign(&mut office, b, date(2026, 11, 1)).await;
        let mut form = h.client(public()).await;
        let token = rpc!(
            form,
            issue_inquiry_form_token,
            IssueInquiryFormTokenRequest {}
        )
        .unwrap_or_else(|e| panic!("[{b}] token: {e}"));
        assert_eq!(token.privacy_notice_version, "2026-1", "[{b}]");

        // Sent at once: a robot.
        let e = rpc!(form, submit_public_inquiry, submission(&token.token)).unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "[{b}] {e:?}");
        assert_eq!(field(&e), Some("form_token"), "[{b}]");
        assert!(e.message().contains("too soon"), "[{b}] {}", e.message());

        h.clock.advance(chrono::Duration::seconds(30));
        // The honeypot filled in.
        let e = rpc!(
            form,
            submit_public_inquiry,
            SubmitPublicInquiryRequest {
                website: "http://spam.example".into(),
                ..submission(&token.token)
            }
        )
        .unwrap_err();
        assert_eq!(field(&e), Some("website"), "[{b}]");

        let receipt = rpc!(form, submit_public_inquiry, submission(&token.token))
            .unwrap_or_else(|e| panic!("[{b}] submit: {e}"));
        assert!(receipt.reference.starts_with("FH-"), "[{b}] {receipt:?}");
        // 2026-12-01 (Tue) + 5 working days = 2026-12-08.
        assert_eq!(receipt.first_response_by, Some(date(2026, 12, 8)), "[{b}]");
        assert_nothing_personal(&format!("{receipt:?}"), "the receipt");

        // The same token again: refused, naming it.
        let e = rpc!(form, submit_public_inquiry, submission(&token.token)).unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "[{b}]");
        assert_eq!(field(&e), Some("form_token"), "[{b}]");
        assert!(
            e.message().contains("already been used"),
            "[{b}] {}",
            e.message()
        );

        // The case: channel and campaign recorded, the person's data kept for the office.
        let listed = rpc!(office, list_cases, ListCasesRequest::default()).unwrap();
        assert_eq!(listed.cases.len(), 1, "[{b}]");
        let c = &listed.cases[0];
        assert_eq!(c.reference, receipt.reference, "[{b}]");
        assert_eq!(c.channel, Channel::SocialMedia as i32, "[{b}]");
        assert_eq!(c.campaign_id, campaign.id, "[{b}]");
        assert_eq!(c.intake_route, IntakeRoute::PublicForm as i32, "[{b}]");
        assert_eq!(c.applicant.as_ref().unwrap().given_name, GIVEN, "[{b}]");
        let by_campaign = rpc!(
            office,
            list_cases,
            ListCasesRequest {
                campaign_id: campaign.id.clone(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(by_campaign.cases.len(), 1, "[{b}]");

        // The public caller reaches the form and nothing else.
        let e = rpc!(
            form,
            get_case,
            GetCaseRequest {
                case_id: c.id.clone()
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{b}]");
        let e = rpc!(form, list_audit, ListAuditRequest::default()).unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{b}]");
        let e = rpc!(form, create_inquiry, create_req("", "0180")).unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{b}]");

        // An expired token: refused naming it.
        let old = rpc!(
            form,
            issue_inquiry_form_token,
            IssueInquiryFormTokenRequest {}
        )
        .unwrap();
        h.clock.advance(chrono::Duration::days(2));
        let e = rpc!(form, submit_public_inquiry, submission(&old.token)).unwrap_err();
        assert_eq!(field(&e), Some("form_token"), "[{b}]");
        assert!(e.message().contains("expired"), "[{b}] {}", e.message());

        // Expired nonces are swept with the next submission.
        let fresh = rpc!(
            form,
            issue_inquiry_form_token,
            IssueInquiryFormTokenRequest {}
        )
        .unwrap();
        h.clock.advance(chrono::Duration::seconds(30));
        rpc!(form, submit_public_inquiry, submission(&fresh.token)).unwrap();
        let mut conn = h.store().write.acquire().await.unwrap();
        let held = samling_recruitment::store::form_nonces::count(&mut conn)
            .await
            .unwrap();
        assert_eq!(held, 1, "[{b}] only the live token's nonce is kept");

        // Events carry nothing personal.
        for e in events(&h).await {
            assert_nothing_personal(&e.payload_json, "an event");
        }
    }
}

#[tokio::test]
async fn a_form_for_another_region_and_bad_fields_are_refused_naming_the_field() {
    for (h, _b) in harnesses(Some(REGION)).await {
        let b = h.backend;
        let mut form = h.client(public()).await;
        let token = rpc!(
            form,
            issue_inquiry_form_token,
            IssueInquiryFormTokenRequest {}
        )
        .unwrap();
        h.clock.advance(chrono::Duration::seconds(30));
        // Malmö (1280) is in region syd.
        let mut req = submission(&token.token);
        req.inquiry.as_mut().unwrap().municipality_code = "1280".into();
        let e = rpc!(form, submit_public_inquiry, req).unwrap_err();
        assert_eq!(field(&e), Some("inquiry.municipality_code"), "[{b}] {e:?}");
        let mut req = submission(&token.token);
        req.inquiry.as_mut().unwrap().email = "not-an-address".into();
        let e = rpc!(form, submit_public_inquiry, req).unwrap_err();
        assert_eq!(field(&e), Some("inquiry.email"), "[{b}]");
        let e = rpc!(
            form,
            submit_public_inquiry,
            SubmitPublicInquiryRequest {
                consent: false,
                ..submission(&token.token)
            }
        )
        .unwrap_err();
        assert_eq!(field(&e), Some("consent"), "[{b}]");
        // None of those took the token.
        rpc!(form, submit_public_inquiry, submission(&token.token))
            .unwrap_or_else(|e| panic!("[{b}] the token is still good: {e}"));
    }
}

#[tokio::test]
async fn the_first_response_is_due_in_swedish_working_days_over_easter_and_christmas() {
    for (h, _b) in harnesses(Some(REGION)).await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        // Maundy Thursday 2027: Good Friday, Easter Monday off.
        h.clock.set(at(2027, 3, 25));
        let c = inquiry(&h, "0180").await;
        assert_eq!(c.received_on, Some(date(2027, 3, 25)), "[{b}]");
        assert_eq!(c.first_response_due_on, Some(date(2027, 4, 5)), "[{b}]");
        // Christmas 2026: julafton, juldagen, annandag, nyårsafton, nyårsdagen off.
        h.clock.set(at(2026, 12, 23));
        let x = inquiry(&h, "0180").await;
        assert_eq!(x.first_response_due_on, Some(date(2027, 1, 5)), "[{b}]");

        // Not overdue on its due day; overdue the working day after.
        h.clock.set(at(2027, 1, 5));
        let got = rpc!(
            office,
            get_case,
            GetCaseRequest {
                case_id: x.id.clone()
            }
        )
        .unwrap();
        assert!(!got.first_response_overdue, "[{b}]");
        h.clock.set(at(2027, 1, 7));
        let got = rpc!(
            office,
            get_case,
            GetCaseRequest {
                case_id: x.id.clone()
            }
        )
        .unwrap();
        assert!(got.first_response_overdue, "[{b}]");
        assert!(got.stage_overdue, "[{b}]");

        let responded = rpc!(
            office,
            record_first_response,
            RecordFirstResponseRequest {
                case_id: x.id.clone(),
                responded_on: Some(date(2027, 1, 7)),
                via: ContactPreference::Phone as i32,
                ..Default::default()
            }
        )
        .unwrap_or_else(|e| panic!("[{b}] first response: {e}"));
        assert_eq!(
            responded.first_responded_on,
            Some(date(2027, 1, 7)),
            "[{b}]"
        );
        assert!(!responded.first_response_overdue, "[{b}]");
        assert_eq!(responded.version, x.version + 1, "[{b}]");
        // Once only.
        let e = rpc!(
            office,
            record_first_response,
            RecordFirstResponseRequest {
                case_id: x.id.clone(),
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "[{b}]");
        // Not in the future.
        let e = rpc!(
            office,
            record_first_response,
            RecordFirstResponseRequest {
                case_id: c.id.clone(),
                responded_on: Some(date(2027, 2, 1)),
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(field(&e), Some("responded_on"), "[{b}]");
    }
}

#[tokio::test]
async fn overdue_inquiries_are_listed_as_of_a_day_and_a_municipality_sees_its_own_redacted() {
    for (h, _b) in harnesses(Some(REGION)).await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        let answered = inquiry(&h, "0180").await;
        let waiting = inquiry(&h, "0180").await;
        let other = inquiry(&h, "0114").await;
        rpc!(
            office,
            record_first_response,
            RecordFirstResponseRequest {
                case_id: answered.id.clone(),
                ..Default::default()
            }
        )
        .unwrap();
        // Due 2026-12-08; as of that day nothing is overdue.
        let none = rpc!(
            office,
            list_overdue_inquiries,
            ListOverdueInquiriesRequest {
                as_of: Some(date(2026, 12, 8)),
                ..Default::default()
            }
        )
        .unwrap();
        assert!(none.cases.is_empty(), "[{b}] {:?}", none.cases);
        h.clock.set(at(2026, 12, 9));
        let listed = rpc!(
            office,
            list_overdue_inquiries,
            ListOverdueInquiriesRequest::default()
        )
        .unwrap();
        let mut ids: Vec<&str> = listed.cases.iter().map(|c| c.id.as_str()).collect();
        ids.sort();
        let mut want = vec![waiting.id.as_str(), other.id.as_str()];
        want.sort();
        assert_eq!(ids, want, "[{b}]");
        assert!(
            listed.cases.iter().all(|c| c.first_response_overdue),
            "[{b}]"
        );

        // Stockholm's caseworker: its own, without personal data.
        let mut cw = h.client(caseworker("0180")).await;
        let own = rpc!(
            cw,
            list_overdue_inquiries,
            ListOverdueInquiriesRequest::default()
        )
        .unwrap();
        assert_eq!(own.cases.len(), 1, "[{b}]");
        assert_eq!(own.cases[0].id, waiting.id, "[{b}]");
        assert!(own.cases[0].applicant.is_none(), "[{b}]");
        assert!(own.cases[0].personal_data_redacted, "[{b}]");
        let e = rpc!(
            cw,
            list_overdue_inquiries,
            ListOverdueInquiriesRequest {
                municipality_code: "0114".into(),
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{b}]");
    }
}

#[tokio::test]
async fn withdrawal_erases_personal_data_keeps_the_facts_and_a_replay_shows_the_erased_case() {
    for (h, _b) in harnesses(Some(REGION)).await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        let c = rpc!(office, create_inquiry, create_req("intake-1", "0180")).unwrap();
        rpc!(
            office,
            add_household_adult,
            AddHouseholdAdultRequest {
                case_id: c.id.clone(),
                given_name: GIVEN.into(),
                family_name: FAMILY.into(),
                birth_year: 1980,
                role: AdultRole::Carer as i32,
                ..Default::default()
            }
        )
        .unwrap();
        let w = rpc!(
            office,
            withdraw_case,
            WithdrawCaseRequest {
                request_id: "w-1".into(),
                case_id: c.id.clone(),
                ..Default::default()
            }
        )
        .unwrap_or_else(|e| panic!("[{b}] withdraw: {e}"));
        let erased: Vec<&str> = w.erased.iter().map(|f| f.field.as_str()).collect();
        let kept: Vec<&str> = w.kept.iter().map(|f| f.field.as_str()).collect();
        assert!(
            erased.iter().any(|f| f.contains("applicant")),
            "[{b}] {erased:?}"
        );
        assert!(
            erased.iter().any(|f| f.contains("adults")),
            "[{b}] {erased:?}"
        );
        assert!(
            kept.iter().any(|f| f.contains("reference")),
            "[{b}] {kept:?}"
        );
        assert!(w.kept.iter().all(|f| !f.reason.is_empty()), "[{b}]");
        let case = w.withdrawn.unwrap();
        assert_eq!(case.status, CaseStatus::Withdrawn as i32, "[{b}]");
        assert!(case.personal_data_erased, "[{b}]");
        assert!(case.applicant.is_none() && case.adults.is_empty(), "[{b}]");
        assert_eq!(
            case.drop_out.as_ref().map(|d| d.reason),
            Some(DropOutReason::ConsentWithdrawn as i32),
            "[{b}]"
        );
        assert_eq!(case.reference, c.reference, "[{b}]");

        // Read back: erased. The inquiry's first answer replayed: erased too.
        let got = rpc!(
            office,
            get_case,
            GetCaseRequest {
                case_id: c.id.clone()
            }
        )
        .unwrap();
        assert!(got.applicant.is_none(), "[{b}]");
        let again = rpc!(office, create_inquiry, create_req("intake-1", "0180")).unwrap();
        assert_eq!(again.id, c.id, "[{b}] the replay is the first answer");
        assert!(again.applicant.is_none(), "[{b}] {again:?}");
        assert_nothing_personal(&format!("{again:?}"), "the replayed answer");
        // Once.
        let e = rpc!(
            office,
            withdraw_case,
            WithdrawCaseRequest {
                case_id: c.id.clone(),
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "[{b}]");
        for e in events(&h).await {
            assert_nothing_personal(&e.payload_json, "an event");
        }
    }
}

#[tokio::test]
async fn attackers_get_nothing_of_a_case() {
    for (h, _b) in harnesses(Some(REGION)).await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        let c = rpc!(office, create_inquiry, create_req("r-1", "0180")).unwrap();

        // Another municipality: not found, as if there were no such case.
        let mut solna = h.client(caseworker("0184")).await;
        let e = rpc!(
            solna,
            get_case,
            GetCaseRequest {
                case_id: c.id.clone()
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{b}]");
        let listed = rpc!(solna, list_cases, ListCasesRequest::default()).unwrap();
        assert!(listed.cases.is_empty(), "[{b}]");
        let e = rpc!(
            solna,
            list_cases,
            ListCasesRequest {
                municipality_code: "0180".into(),
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{b}]");

        // The own municipality: the case, without the person.
        let mut sthlm = h.client(manager("0180")).await;
        let seen = rpc!(
            sthlm,
            get_case,
            GetCaseRequest {
                case_id: c.id.clone()
            }
        )
        .unwrap();
        assert!(
            seen.personal_data_redacted && seen.applicant.is_none(),
            "[{b}]"
        );
        assert_nothing_personal(&format!("{seen:?}"), "a municipality's view");

        // Aggregate roles and others: no cases at all.
        for ctx in [analyst(), council_member(), ombud(), family_home(&c.id)] {
            let mut x = h.client(ctx.clone()).await;
            let e = rpc!(x, list_cases, ListCasesRequest::default()).unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{b}] {:?}", ctx.role);
            let e = rpc!(
                x,
                get_case,
                GetCaseRequest {
                    case_id: c.id.clone()
                }
            )
            .unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{b}] {:?}", ctx.role);
        }

        // The request id replayed by another caller: refused, or a new
        // case of its own; never the first answer.
        let mut cw = h.client(caseworker("0180")).await;
        let e = rpc!(cw, create_inquiry, create_req("r-1", "0180")).unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{b}]");
        let other_officer =
            AuthContext::new("officer-2", Role::RegionalOfficer).with_region(REGION);
        let mut o2 = h.client(other_officer).await;
        let theirs = rpc!(o2, create_inquiry, create_req("r-1", "0180")).unwrap();
        assert_ne!(
            theirs.id, c.id,
            "[{b}] another caller's replay is a new request"
        );
        let mine = rpc!(office, create_inquiry, create_req("r-1", "0180")).unwrap();
        assert_eq!(
            mine.id, c.id,
            "[{b}] the same caller's retry is the first answer"
        );

        // Another region's officer is refused before anything is read.
        let mut norr = h.client(office_in("norr")).await;
        let e = rpc!(
            norr,
            get_case,
            GetCaseRequest {
                case_id: c.id.clone()
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{b}]");
    }
}

#[tokio::test]
async fn campaigns_are_created_with_a_unique_code_and_listed() {
    for (h, _b) in harnesses(Some(REGION)).await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        let req = |code: &str, ends: Option<Date>| CreateCampaignRequest {
            name: "Vintern".into(),
            code: code.into(),
            channels: vec![Channel::RadioOrTv as i32],
            municipality_codes: vec!["0180".into()],
            starts_on: Some(date(2026, 11, 1)),
            ends_on: ends,
            ..Default::default()
        };
        let a = rpc!(office, create_campaign, req("vinter26", None)).unwrap();
        assert_eq!(a.code, "VINTER26", "[{b}]");
        assert_eq!(a.region_id, REGION, "[{b}]");
        let e = rpc!(office, create_campaign, req("VINTER26", None)).unwrap_err();
        assert_eq!(field(&e), Some("code"), "[{b}]");
        let e = rpc!(office, create_campaign, req("x", None)).unwrap_err();
        assert_eq!(field(&e), Some("code"), "[{b}]");
        let e = rpc!(
            office,
            create_campaign,
            CreateCampaignRequest {
                municipality_codes: vec!["1280".into()],
                ..req("SYD1", None)
            }
        )
        .unwrap_err();
        assert_eq!(field(&e), Some("municipality_codes"), "[{b}]");
        rpc!(
            office,
            create_campaign,
            req("ENDED", Some(date(2026, 11, 20)))
        )
        .unwrap();
        let all = rpc!(office, list_campaigns, ListCampaignsRequest::default()).unwrap();
        assert_eq!(all.campaigns.len(), 2, "[{b}]");
        let active = rpc!(
            office,
            list_campaigns,
            ListCampaignsRequest {
                active_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(active.campaigns.len(), 1, "[{b}]");
        assert_eq!(active.campaigns[0].id, a.id, "[{b}]");
        let got = rpc!(
            office,
            get_campaign,
            GetCampaignRequest {
                campaign_id: a.id.clone()
            }
        )
        .unwrap();
        assert_eq!(got, a, "[{b}]");
        let mut cw = h.client(caseworker("0180")).await;
        let e = rpc!(cw, create_campaign, req("CW1", None)).unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{b}]");
    }
}

#[test]
fn the_form_key_is_created_private_under_the_data_dir_and_a_short_or_missing_configured_one_is_refused()
 {
    use samling_recruitment::service::intake::load_form_key;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys").join("recruitment-form.key");
    let key = load_form_key(&path, true).expect("created");
    assert_eq!(key.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(load_form_key(&path, false).unwrap(), key, "read back");
    let short = dir.path().join("short.key");
    std::fs::write(&short, "00112233").unwrap();
    let e = load_form_key(&short, false).unwrap_err().to_string();
    assert!(
        e.starts_with("form_token_key_file") && e.contains("at least 32"),
        "{e}"
    );
    let e = load_form_key(&dir.path().join("absent.key"), false)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("form_token_key_file"), "{e}");
}
