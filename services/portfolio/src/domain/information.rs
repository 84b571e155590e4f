//! Information to the child before, during and after the placement (seed
//! 003 ≈6388–6432: "a standard for information to children and young
//! people before, during and after a placement"; ≈6914–6925: "a more
//! systematic follow-up and documentation of the child's understanding").
//!
//! The standard checklist is the list of topics per phase below; a record
//! says what was told when, how, and what the child understood. The
//! checklist is computed from the records, never stored: an item is told
//! once a record of its phase and topic exists, and needs a follow-up while
//! the latest telling was not understood (partly, not at all, or the child
//! declined to talk then).

use super::PortfolioError;
use super::sections::text;
use chrono::NaiveDate;
use samling_kit::dates;
use samling_proto::portfolio::v1::{
    ChecklistItem, InformationPhase as Phase, InformationRecord, InformationToChild,
    InformationTopic as Topic, RecordInformationRequest, Understanding,
};

type R<T> = Result<T, PortfolioError>;

/// Longest "in the child's words".
pub const MAX_WORDS: usize = 2000;
/// Longest "how it was told".
pub const MAX_METHOD: usize = 200;
/// Most records one portfolio keeps (a telling a week for ten years).
pub const MAX_RECORDS: usize = 500;

/// The standard checklist: what every child is told in each phase.
pub const CHECKLIST: &[(Phase, &[Topic])] = &[
    (
        Phase::Before,
        &[
            Topic::WhyPlaced,
            Topic::MyRights,
            Topic::NewHomePresentation,
            Topic::HowLong,
            Topic::ContactWithFamily,
            Topic::School,
            Topic::MyCaseworker,
            Topic::MyOmbud,
        ],
    ),
    (
        Phase::During,
        &[
            Topic::CarePlan,
            Topic::MyRights,
            Topic::HowToComplain,
            Topic::MyOmbud,
        ],
    ),
    (
        Phase::After,
        &[Topic::WhyEnding, Topic::AftercareSupport, Topic::MyRecords],
    ),
];

/// A recording request checked: the record to keep (without id and stamps).
pub fn check(req: &RecordInformationRequest, today: NaiveDate) -> R<InformationRecord> {
    let phase = match Phase::try_from(req.phase) {
        Ok(Phase::Unspecified) | Err(_) => {
            return Err(PortfolioError::invalid(
                "phase",
                "must be BEFORE, DURING or AFTER",
            ));
        }
        Ok(p) => p,
    };
    if matches!(Topic::try_from(req.topic), Ok(Topic::Unspecified) | Err(_)) {
        return Err(PortfolioError::invalid("topic", "is not a topic"));
    }
    if matches!(
        Understanding::try_from(req.understanding),
        Ok(Understanding::Unspecified) | Err(_)
    ) {
        return Err(PortfolioError::invalid(
            "understanding",
            "must say what the child understood (UNDERSTOOD, PARTLY, NOT_UNDERSTOOD or DECLINED)",
        ));
    }
    let told = dates::from_proto("told_on", req.told_on.as_ref())?;
    if told > today {
        return Err(PortfolioError::invalid(
            "told_on",
            "must not be in the future",
        ));
    }
    text("in_the_childs_words", &req.in_the_childs_words, MAX_WORDS)?;
    text("method", &req.method, MAX_METHOD)?;
    Ok(InformationRecord {
        phase: phase as i32,
        topic: req.topic,
        told_on: req.told_on,
        understanding: req.understanding,
        in_the_childs_words: req.in_the_childs_words.trim().to_string(),
        method: req.method.trim().to_string(),
        ..Default::default()
    })
}

fn day(r: &InformationRecord) -> Option<NaiveDate> {
    dates::opt_from_proto("told_on", r.told_on.as_ref())
        .ok()
        .flatten()
}

/// The checklist of `records`: every phase's items, told or not, and the
/// phases whose items are all told and understood.
pub fn checklist(records: &[InformationRecord]) -> (Vec<ChecklistItem>, Vec<Phase>) {
    let mut items = Vec::new();
    let mut complete = Vec::new();
    for (phase, topics) in CHECKLIST {
        let mut all = true;
        for topic in *topics {
            // The latest telling of the item (by date, then by order recorded).
            let latest = records
                .iter()
                .enumerate()
                .filter(|(_, r)| r.phase == *phase as i32 && r.topic == *topic as i32)
                .max_by_key(|(i, r)| (day(r), *i))
                .map(|(_, r)| r);
            let understanding = latest.map_or(Understanding::Unspecified, |r| {
                Understanding::try_from(r.understanding).unwrap_or(Understanding::Unspecified)
            });
            let told = latest.is_some();
            let follow_up = told && understanding != Understanding::Understood;
            all &= told && !follow_up;
            items.push(ChecklistItem {
                phase: *phase as i32,
                topic: *topic as i32,
                told,
                understanding: understanding as i32,
                last_told_on: latest.and_then(|r| r.told_on),
                follow_up,
            });
        }
        if all {
            complete.push(*phase);
        }
    }
    (items, complete)
}

/// The stored records with the checklist computed beside them.
pub fn with_checklist(mut info: InformationToChild) -> InformationToChild {
    let (items, complete) = checklist(&info.records);
    info.checklist = items;
    info.complete_phases = complete.into_iter().map(|p| p as i32).collect();
    info
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_kit::error::ServiceError;

    fn req(
        phase: Phase,
        topic: Topic,
        on: (i32, u32, u32),
        u: Understanding,
    ) -> RecordInformationRequest {
        RecordInformationRequest {
            request_id: String::new(),
            child_id: String::new(),
            phase: phase as i32,
            topic: topic as i32,
            told_on: Some(dates::to_proto(
                NaiveDate::from_ymd_opt(on.0, on.1, on.2).unwrap(),
            )),
            understanding: u as i32,
            in_the_childs_words: " Jag flyttar för att mamma är sjuk. ".into(),
            method: "bildstöd".into(),
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
    }

    #[test]
    fn bad_requests_name_their_field() {
        let good = req(
            Phase::Before,
            Topic::WhyPlaced,
            (2026, 12, 1),
            Understanding::Understood,
        );
        let r = check(&good, today()).unwrap();
        assert_eq!(r.in_the_childs_words, "Jag flyttar för att mamma är sjuk.");
        let cases: Vec<(RecordInformationRequest, &str)> = vec![
            (
                RecordInformationRequest {
                    phase: 0,
                    ..good.clone()
                },
                "phase",
            ),
            (
                RecordInformationRequest {
                    phase: 9,
                    ..good.clone()
                },
                "phase",
            ),
            (
                RecordInformationRequest {
                    topic: 0,
                    ..good.clone()
                },
                "topic",
            ),
            (
                RecordInformationRequest {
                    topic: 99,
                    ..good.clone()
                },
                "topic",
            ),
            (
                RecordInformationRequest {
                    understanding: 0,
                    ..good.clone()
                },
                "understanding",
            ),
            (
                RecordInformationRequest {
                    told_on: None,
                    ..good.clone()
                },
                "told_on",
            ),
            (
                req(
                    Phase::Before,
                    Topic::WhyPlaced,
                    (2026, 12, 4),
                    Understanding::Understood,
                ),
                "told_on",
            ),
            (
                RecordInformationRequest {
                    in_the_childs_words: "x".repeat(MAX_WORDS + 1),
                    ..good.clone()
                },
                "in_the_childs_words",
            ),
            (
                RecordInformationRequest {
                    method: "a\u{7}b".into(),
                    ..good.clone()
                },
                "method",
            ),
        ];
        for (bad, field) in cases {
            let e = check(&bad, today()).unwrap_err();
            assert_eq!(e.field(), Some(field), "{e}");
        }
    }

    fn record(
        phase: Phase,
        topic: Topic,
        on: (i32, u32, u32),
        u: Understanding,
    ) -> InformationRecord {
        check(&req(phase, topic, on, u), today()).unwrap()
    }

    #[test]
    fn an_item_is_told_once_recorded_and_followed_up_until_understood() {
        let item = |items: &[ChecklistItem], p: Phase, t: Topic| {
            items
                .iter()
                .find(|i| i.phase == p as i32 && i.topic == t as i32)
                .cloned()
                .unwrap()
        };
        let (items, complete) = checklist(&[]);
        let expected: usize = CHECKLIST.iter().map(|(_, t)| t.len()).sum();
        assert_eq!(items.len(), expected);
        assert!(items.iter().all(|i| !i.told && !i.follow_up));
        assert!(complete.is_empty());

        // Partly understood: told, to follow up; a later telling understood clears it,
        // whatever order the two were recorded in.
        let partly = record(
            Phase::Before,
            Topic::WhyPlaced,
            (2026, 11, 20),
            Understanding::Partly,
        );
        let later = record(
            Phase::Before,
            Topic::WhyPlaced,
            (2026, 11, 27),
            Understanding::Understood,
        );
        let (items, _) = checklist(std::slice::from_ref(&partly));
        let i = item(&items, Phase::Before, Topic::WhyPlaced);
        assert!(i.told && i.follow_up);
        assert_eq!(i.understanding, Understanding::Partly as i32);
        for records in [
            vec![partly.clone(), later.clone()],
            vec![later.clone(), partly.clone()],
        ] {
            let (items, _) = checklist(&records);
            let i = item(&items, Phase::Before, Topic::WhyPlaced);
            assert!(i.told && !i.follow_up, "{records:?}");
            assert_eq!(i.last_told_on, later.told_on);
        }
        // Told in another phase does not count for this one.
        let (items, _) = checklist(&[record(
            Phase::During,
            Topic::WhyPlaced,
            (2026, 11, 20),
            Understanding::Understood,
        )]);
        assert!(!item(&items, Phase::Before, Topic::WhyPlaced).told);
        // Declined is told but followed up.
        let (items, _) = checklist(&[record(
            Phase::After,
            Topic::WhyEnding,
            (2026, 11, 20),
            Understanding::Declined,
        )]);
        assert!(item(&items, Phase::After, Topic::WhyEnding).follow_up);
    }

    #[test]
    fn a_phase_is_complete_when_every_item_is_told_and_understood() {
        let (_, after) = CHECKLIST.iter().find(|(p, _)| *p == Phase::After).unwrap();
        let mut records: Vec<_> = after
            .iter()
            .map(|t| record(Phase::After, *t, (2026, 11, 1), Understanding::Understood))
            .collect();
        assert_eq!(checklist(&records).1, vec![Phase::After]);
        // One of them not understood at its latest telling: not complete.
        records.push(record(
            Phase::After,
            after[0],
            (2026, 11, 2),
            Understanding::NotUnderstood,
        ));
        assert!(checklist(&records).1.is_empty());
        // Every phase complete.
        let all: Vec<_> = CHECKLIST
            .iter()
            .flat_map(|(p, ts)| {
                ts.iter()
                    .map(|t| record(*p, *t, (2026, 11, 1), Understanding::Understood))
            })
            .collect();
        assert_eq!(
            checklist(&all).1,
            vec![Phase::Before, Phase::During, Phase::After]
        );
    }
}
