//! Network homes (nätverkshem, seed 003 lines 4820–4823, 4936–4941): a
//! placement need opens the track; the network alternatives looked into are
//! recorded by their relation to the child and their outcome (no names: a
//! pursued alternative's adult is the case's applicant); pursuing one starts
//! a network-home case.
use super::RecruitmentError;
use super::text::{id, line};
use chrono::NaiveDate;
use samling_kit::dates;
use samling_proto::recruitment::v1::{
    AlternativeOutcome, NetworkAlternative, NetworkRelation, PlacementNeed, PlacementNeedStatus,
};

fn open(need: &PlacementNeed) -> Result<(), RecruitmentError> {
    if need.status() != PlacementNeedStatus::Open {
        return Err(RecruitmentError::precondition(
            "the placement need is closed",
        ));
    }
    Ok(())
}

/// A new placement need: the placing municipality, the registry's child (an
/// id), and when a home is needed (not in the past).
pub fn open_need(
    need_id: &str,
    municipality_code: &str,
    child_id: &str,
    needed_by: Option<NaiveDate>,
    region_id: &str,
    today: NaiveDate,
    now_text: &str,
) -> Result<PlacementNeed, RecruitmentError> {
    let municipality = samling_kit::reference::MunicipalityCode::parse(municipality_code.trim())
        .map_err(|_| {
            RecruitmentError::invalid("municipality_code", "is not a Swedish municipality code")
        })?;
    let child_id = id("child_id", child_id)?;
    if needed_by.is_some_and(|n| n < today) {
        return Err(RecruitmentError::invalid("needed_by", "is in the past"));
    }
    Ok(PlacementNeed {
        id: id("placement_need_id", need_id)?,
        version: 1,
        region_id: region_id.to_string(),
        municipality_code: municipality.as_str().to_string(),
        child_id,
        opened_on: Some(dates::to_proto(today)),
        needed_by: dates::opt_to_proto(needed_by),
        status: PlacementNeedStatus::Open as i32,
        alternatives: vec![],
        created_at: now_text.to_string(),
    })
}

/// An alternative looked into, with its outcome (PURSUED is set only by
/// starting a case).
pub fn record_alternative(
    need: &PlacementNeed,
    alt: NetworkAlternative,
    today: NaiveDate,
) -> Result<PlacementNeed, RecruitmentError> {
    let alt_id = id("alternative_id", &alt.id)?;
    let relation = NetworkRelation::try_from(alt.relation)
        .ok()
        .filter(|r| *r != NetworkRelation::Unspecified)
        .ok_or_else(|| RecruitmentError::invalid("relation", "is required"))?;
    let outcome = AlternativeOutcome::try_from(alt.outcome)
        .ok()
        .filter(|o| {
            !matches!(
                o,
                AlternativeOutcome::Unspecified | AlternativeOutcome::Pursued
            )
        })
        .ok_or_else(|| {
            RecruitmentError::invalid(
                "outcome",
                "is required (an alternative is pursued with StartNetworkHomeCase)",
            )
        })?;
    let on = dates::opt_from_proto("considered_on", alt.considered_on.as_ref())?.unwrap_or(today);
    if on > today {
        return Err(RecruitmentError::invalid(
            "considered_on",
            "is in the future",
        ));
    }
    let document_ref = line("document_ref", &alt.document_ref, false, 100)?;
    open(need)?;
    let mut n = need.clone();
    n.alternatives.push(NetworkAlternative {
        id: alt_id,
        relation: relation as i32,
        outcome: outcome as i32,
        considered_on: Some(dates::to_proto(on)),
        document_ref,
        case_id: String::new(),
    });
    Ok(n)
}

/// Marks an alternative pursued by `case_id`: the need open, the
/// alternative recorded, considered and not ruled out or already pursued.
pub fn pursue(
    need: &PlacementNeed,
    alternative_id: &str,
    case_id: &str,
) -> Result<PlacementNeed, RecruitmentError> {
    let alternative_id = id("alternative_id", alternative_id)?;
    open(need)?;
    let mut n = need.clone();
    let alt = n
        .alternatives
        .iter_mut()
        .find(|a| a.id == alternative_id)
        .ok_or_else(|| {
            RecruitmentError::invalid(
                "alternative_id",
                "is not an alternative of this placement need",
            )
        })?;
    match alt.outcome() {
        AlternativeOutcome::Considered => {}
        AlternativeOutcome::Pursued => {
            return Err(RecruitmentError::precondition(
                "the alternative is already pursued",
            ));
        }
        _ => {
            return Err(RecruitmentError::precondition(
                "the alternative was ruled out; record it anew if that changed",
            ));
        }
    }
    alt.outcome = AlternativeOutcome::Pursued as i32;
    alt.case_id = case_id.to_string();
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    const ALT1: &str = "0190a0b1-0000-7000-8000-0000000000a1";
    const ALT2: &str = "0190a0b1-0000-7000-8000-0000000000a2";

    fn need() -> PlacementNeed {
        PlacementNeed {
            id: "0190a0b1-0000-7000-8000-0000000000b0".into(),
            status: PlacementNeedStatus::Open as i32,
            child_id: "0190a0b1-0000-7000-8000-0000000000c1".into(),
            ..Default::default()
        }
    }

    fn alt(id: &str, rel: NetworkRelation, out: AlternativeOutcome) -> NetworkAlternative {
        NetworkAlternative {
            id: id.into(),
            relation: rel as i32,
            outcome: out as i32,
            ..Default::default()
        }
    }

    #[test]
    fn alternatives_are_recorded_and_one_is_pursued() {
        let t = d(2026, 4, 1);
        let n = record_alternative(
            &need(),
            alt(
                ALT1,
                NetworkRelation::Grandparent,
                AlternativeOutcome::Considered,
            ),
            t,
        )
        .unwrap();
        let n = record_alternative(
            &n,
            alt(
                ALT2,
                NetworkRelation::AuntOrUncle,
                AlternativeOutcome::DeclinedByThem,
            ),
            t,
        )
        .unwrap();
        assert_eq!(n.alternatives.len(), 2);
        assert_eq!(n.alternatives[0].considered_on, Some(dates::to_proto(t)));
        let e = pursue(&n, ALT2, "case").unwrap_err();
        assert!(e.to_string().contains("ruled out"));
        let p = pursue(&n, ALT1, "0190a0b1-0000-7000-8000-0000000000e0").unwrap();
        assert_eq!(p.alternatives[0].outcome(), AlternativeOutcome::Pursued);
        assert_eq!(
            p.alternatives[0].case_id,
            "0190a0b1-0000-7000-8000-0000000000e0"
        );
        assert!(
            pursue(&p, ALT1, "x")
                .unwrap_err()
                .to_string()
                .contains("already pursued")
        );
        let e = pursue(&p, "0190a0b1-0000-7000-8000-0000000000a9", "x").unwrap_err();
        assert!(e.to_string().starts_with("alternative_id:"));
    }

    #[test]
    fn a_need_is_opened_for_a_child_by_id() {
        let t = d(2026, 4, 1);
        let n = open_need(
            ALT1,
            "0180",
            &need().child_id,
            Some(d(2026, 4, 3)),
            "stockholm",
            t,
            "now",
        )
        .unwrap();
        assert_eq!(n.status(), PlacementNeedStatus::Open);
        assert_eq!(n.opened_on, Some(dates::to_proto(t)));
        let e = open_need(ALT1, "0180", "child", None, "s", t, "now").unwrap_err();
        assert!(e.to_string().starts_with("child_id:"));
        let e = open_need(ALT1, "9999", &need().child_id, None, "s", t, "now").unwrap_err();
        assert!(e.to_string().starts_with("municipality_code:"));
        let e = open_need(
            ALT1,
            "0180",
            &need().child_id,
            Some(d(2026, 3, 31)),
            "s",
            t,
            "now",
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "needed_by: is in the past");
    }

    #[test]
    fn bad_alternatives_and_closed_needs_are_refused() {
        let t = d(2026, 4, 1);
        let e = record_alternative(
            &need(),
            alt(
                ALT1,
                NetworkRelation::Unspecified,
                AlternativeOutcome::Considered,
            ),
            t,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "relation: is required");
        let e = record_alternative(
            &need(),
            alt(
                ALT1,
                NetworkRelation::Grandparent,
                AlternativeOutcome::Pursued,
            ),
            t,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("outcome:"));
        let mut future = alt(
            ALT1,
            NetworkRelation::Grandparent,
            AlternativeOutcome::Considered,
        );
        future.considered_on = Some(dates::to_proto(d(2026, 4, 2)));
        assert!(record_alternative(&need(), future, t).is_err());
        let mut closed = need();
        closed.status = PlacementNeedStatus::Met as i32;
        let e = record_alternative(
            &closed,
            alt(
                ALT1,
                NetworkRelation::Grandparent,
                AlternativeOutcome::Considered,
            ),
            t,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "the placement need is closed");
    }
}
