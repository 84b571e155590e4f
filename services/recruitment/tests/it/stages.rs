//! Cases in a given stage for R2's tests (training, network homes, support,
//! funnel), built with the domain's functions and saved through the store,
//! not through the intake's RPCs.
#![allow(dead_code)]

use crate::common::Harness;
use chrono::NaiveDate;
use samling_kit::dates;
use samling_kit::ids::new_id_string;
use samling_proto::common::v1::Date;
use samling_proto::recruitment::v1::*;
use samling_recruitment::domain::inquiry::{self, NewCase};
use samling_recruitment::domain::pipeline;
use samling_recruitment::store;

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("a date")
}

pub fn day(y: i32, m: u32, dd: u32) -> Date {
    dates::to_proto(d(y, m, dd))
}

pub fn draft(municipality: &str) -> InquiryDraft {
    InquiryDraft {
        given_name: "Karin".into(),
        family_name: "Lindqvist".into(),
        email: "karin.lindqvist@example.se".into(),
        phone: "070-123 45 67".into(),
        municipality_code: municipality.into(),
        adults_in_household: 2,
        ..Default::default()
    }
}

/// Save `c` (new or changed) in its own transaction.
pub async fn save(h: &Harness, c: &Case, is_new: bool) {
    let mut tx = h.store().begin_write().await.expect("write tx");
    store::cases::save(tx.conn(), c, is_new)
        .await
        .expect("save case");
    tx.commit(&h.service.feed).await.expect("commit");
}

pub async fn load(h: &Harness, id: &str) -> Case {
    store::cases::must_get(&h.store().read, id)
        .await
        .expect("case")
}

/// Two carers, added on `on`; returns their ids.
pub fn with_carers(c: &Case, on: NaiveDate) -> (Case, [String; 2]) {
    let ids = [new_id_string(), new_id_string()];
    let mut c = c.clone();
    for (i, id) in ids.iter().enumerate() {
        c = pipeline::add_adult(
            &c,
            HouseholdAdult {
                id: id.clone(),
                given_name: ["Karin", "Olle"][i].into(),
                family_name: "Lindqvist".into(),
                birth_year: 1980,
                role: AdultRole::Carer as i32,
                registry_member_id: String::new(),
            },
            on,
        )
        .expect("adult");
    }
    (c, ids)
}

/// A standard-track case received and answered on `on`, two carers, saved.
pub async fn standard_case(h: &Harness, municipality: &str, on: NaiveDate) -> (Case, [String; 2]) {
    let v = inquiry::validate("inquiry", &draft(municipality), IntakeRoute::Staff).expect("valid");
    let c = inquiry::open_case(
        v,
        NewCase {
            id: new_id_string(),
            reference: inquiry::reference_code([1, 2, 3, 4, 5]),
            track: Track::Standard,
            route: IntakeRoute::Staff,
            region_id: "stockholm-gotland".into(),
            channel: Channel::Website,
            campaign_id: None,
            consent: inquiry::consent(LawfulBasis::Consent as i32, "2026-1", false, "now")
                .expect("consent"),
            received_on: on,
            now_text: "2026-12-01T09:00:00Z".into(),
            owner: "officer-1".into(),
            placement_need_id: None,
            network_alternative_id: None,
        },
        &h.service.rules,
    );
    let c = inquiry::record_first_response(&c, on, on).expect("answered");
    let (c, ids) = with_carers(&c, on);
    save(h, &c, true).await;
    (c, ids)
}
