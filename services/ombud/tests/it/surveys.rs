//! User surveys (docs/ombud.md "User surveys", ADR 0044): every placed
//! child of the region is invited with the question set of its age and
//! placement form; a token answers once; nothing stored joins an answer
//! to a child; results are suppressed aggregates for the Brukarråd,
//! refused to everyone who could know the children.

use crate::common::*;
use chrono::NaiveDate;
use samling_kit::auth::{AuthContext, PUBLIC_SUBJECT, Role};
use samling_ombud::service::lookup::SurveyProfile;
use samling_ombud::store;
use samling_proto::common::v1::ListAuditRequest;
use samling_proto::ombud::v1::*;
use sqlx::Row;
use tonic::Code;

fn born(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn public() -> AuthContext {
    AuthContext::new(PUBLIC_SUBJECT, Role::Service).with_purpose("public form")
}

/// Place a child (as the registry's event) whose birth date and placement
/// form the registry answers.
async fn place_child(
    h: &mut Harness,
    birth: Option<NaiveDate>,
    form: SurveyPlacementForm,
) -> String {
    let child = new_id();
    h.registry.profiles.lock().unwrap().insert(
        child.clone(),
        SurveyProfile {
            birth_date: birth,
            placement_form: form,
        },
    );
    h.place(&child, &new_id()).await;
    child
}

/// Open a round for December 2026 as the office.
async fn open_round(h: &Harness) -> SurveyRound {
    let mut office = h.client(office()).await;
    rpc!(
        office,
        open_survey_round,
        OpenSurveyRoundRequest {
            request_id: new_id(),
            period_start: date(2026, 12, 1),
            period_end: date(2026, 12, 31),
            questionnaire_version: 1,
        }
    )
    .unwrap_or_else(|e| panic!("[{}] open round: {e}", h.backend))
}

async fn invitation(
    h: &Harness,
    child: &str,
    easy_read: bool,
) -> Result<SurveyInvitation, tonic::Status> {
    let mut c = h.client(child_ctx(child)).await;
    rpc!(
        c,
        get_my_survey_invitation,
        GetMySurveyInvitationRequest {
            child_id: child.into(),
            round_id: String::new(),
            easy_read,
        }
    )
}

fn answer(id: &str, value: i32) -> SurveyAnswer {
    SurveyAnswer {
        question_id: id.into(),
        value,
    }
}

async fn submit(
    h: &Harness,
    token: &str,
    answers: Vec<SurveyAnswer>,
) -> Result<SurveyReceipt, tonic::Status> {
    let mut p = h.client(public()).await;
    rpc!(
        p,
        submit_survey_answers,
        SubmitSurveyAnswersRequest {
            token: token.into(),
            answers,
        }
    )
}

async fn results_as(
    h: &Harness,
    ctx: AuthContext,
    round: &str,
) -> Result<SurveyResults, tonic::Status> {
    let mut c = h.client(ctx).await;
    rpc!(
        c,
        get_survey_results,
        GetSurveyResultsRequest {
            round_id: round.into()
        }
    )
}

fn variant(band: SurveyAgeBand, form: SurveyPlacementForm, easy: bool) -> Option<SurveyVariant> {
    Some(SurveyVariant {
        age_band: band as i32,
        placement_form: form as i32,
        easy_read: easy,
    })
}

#[tokio::test]
async fn invitations_go_to_every_placed_child_with_the_variant_of_its_age_and_placement() {
    for mut h in harnesses().await {
        let bk = h.backend;
        h.register("ombud-anna").await;
        let young = place_child(&mut h, born(2016, 5, 1), SurveyPlacementForm::FamilyHome).await;
        let teen = place_child(&mut h, born(2011, 3, 1), SurveyPlacementForm::Hvb).await;
        let adult = place_child(
            &mut h,
            born(2007, 1, 1),
            SurveyPlacementForm::SupportedHousing,
        )
        .await;
        let toddler = place_child(&mut h, born(2021, 6, 1), SurveyPlacementForm::FamilyHome).await;
        // A child whose placement ended is not placed now: not invited.
        let left = place_child(&mut h, born(2012, 1, 1), SurveyPlacementForm::FamilyHome).await;
        let p = h.assignment(&left).await.placement_id;
        assert_eq!(h.publish(vec![ended(&p, &left, "2026-11-20")]).await, 0);

        let round = open_round(&h).await;
        assert_eq!(round.invited, 4, "[{bk}]");
        assert_eq!(round.region, REGION);

        let inv = invitation(&h, &young, false).await.unwrap();
        assert_eq!(
            inv.variant,
            variant(
                SurveyAgeBand::Child7To12,
                SurveyPlacementForm::FamilyHome,
                false
            ),
            "[{bk}]"
        );
        assert_eq!(inv.round_id, round.id);
        assert_eq!(inv.token.len(), 32, "[{bk}] a 128-bit token");
        assert!(!inv.token_shown_before);
        assert_eq!(
            inv.questions[0].text,
            "Jag känner mig trygg i mitt familjehem."
        );
        assert_eq!(inv.answer_by, date(2026, 12, 31));
        // Shown once: asked again, the questions but no token.
        let again = invitation(&h, &young, false).await.unwrap();
        assert!(again.token.is_empty() && again.token_shown_before, "[{bk}]");
        assert_eq!(again.questions, inv.questions);

        let inv = invitation(&h, &teen, true).await.unwrap();
        assert_eq!(
            inv.variant,
            variant(SurveyAgeBand::Youth13To17, SurveyPlacementForm::Hvb, true),
            "[{bk}]"
        );
        assert_eq!(inv.questions[0].text, "Är du trygg på HVB?");
        let inv = invitation(&h, &adult, false).await.unwrap();
        assert_eq!(
            inv.variant,
            variant(
                SurveyAgeBand::Adult18AndOver,
                SurveyPlacementForm::SupportedHousing,
                false
            ),
            "[{bk}]"
        );
        assert_eq!(
            inv.questions[0].text,
            "Jag känner mig trygg i mitt stödboende."
        );

        // Too young to be asked in writing: told so, naming the field.
        let e = invitation(&h, &toddler, false).await.unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "[{bk}] {e}");
        assert_eq!(field_of(&e).as_deref(), Some("child_id"));
        // Not placed when the round opened: no invitation.
        let e = invitation(&h, &left, false).await.unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{bk}] {e}");
        let later = place_child(&mut h, born(2012, 1, 1), SurveyPlacementForm::Hvb).await;
        let e = invitation(&h, &later, false).await.unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{bk}] {e}");

        // A child asking for another child's invitation is told nothing.
        let mut other = h.client(child_ctx(&later)).await;
        let e = rpc!(
            other,
            get_my_survey_invitation,
            GetMySurveyInvitationRequest {
                child_id: teen.clone(),
                round_id: round.id.clone(),
                easy_read: false,
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{bk}] {e}");
        // The ombud, the municipality, the office: not the child's
        // invitation (its token is the child's).
        for ctx in [ombud_as("ombud-anna"), caseworker(STOCKHOLM), office()] {
            let mut c = h.client(ctx).await;
            let e = rpc!(
                c,
                get_my_survey_invitation,
                GetMySurveyInvitationRequest {
                    child_id: teen.clone(),
                    round_id: String::new(),
                    easy_read: false,
                }
            )
            .unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{bk}] {e}");
        }

        // Bad periods name the field.
        let mut office_c = h.client(office()).await;
        let e = rpc!(
            office_c,
            open_survey_round,
            OpenSurveyRoundRequest {
                request_id: new_id(),
                period_start: date(2026, 12, 10),
                period_end: date(2026, 12, 1),
                questionnaire_version: 1,
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "[{bk}]");
        assert_eq!(field_of(&e).as_deref(), Some("period_end"));
        let e = rpc!(
            office_c,
            open_survey_round,
            OpenSurveyRoundRequest {
                request_id: new_id(),
                period_start: date(2026, 12, 1),
                period_end: date(2026, 12, 31),
                questionnaire_version: 7,
            }
        )
        .unwrap_err();
        assert_eq!(
            field_of(&e).as_deref(),
            Some("questionnaire_version"),
            "[{bk}]"
        );
        // Only the office opens rounds.
        for ctx in [
            ombud_as("ombud-anna"),
            caseworker(STOCKHOLM),
            child_ctx(&teen),
            council_member(),
            analyst(),
        ] {
            let mut c = h.client(ctx).await;
            let e = rpc!(
                c,
                open_survey_round,
                OpenSurveyRoundRequest {
                    request_id: new_id(),
                    period_start: date(2026, 12, 1),
                    period_end: date(2026, 12, 31),
                    questionnaire_version: 1,
                }
            )
            .unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{bk}] {e}");
        }
        h.stop().await;
    }
}

#[tokio::test]
async fn a_survey_token_answers_once_and_only_anonymously() {
    for mut h in harnesses().await {
        let bk = h.backend;
        h.register("ombud-anna").await;
        let child = place_child(&mut h, born(2012, 2, 2), SurveyPlacementForm::FamilyHome).await;
        let round = open_round(&h).await;
        let token = invitation(&h, &child, false).await.unwrap().token;

        // Sent as the child itself (its identity would be recorded beside
        // the answer): refused; the token is not burnt.
        let mut as_child = h.client(child_ctx(&child)).await;
        let e = rpc!(
            as_child,
            submit_survey_answers,
            SubmitSurveyAnswersRequest {
                token: token.clone(),
                answers: vec![answer("safe_where_i_live", 5)],
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{bk}] {e}");
        // A bad answer names its field and burns nothing.
        let e = submit(&h, &token, vec![answer("know_my_ombud", 3)])
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "[{bk}]");
        assert_eq!(field_of(&e).as_deref(), Some("answers[0].value"));
        let e = submit(&h, "not-a-token", vec![]).await.unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("token"), "[{bk}]");
        let e = submit(&h, &"0".repeat(32), vec![]).await.unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{bk}] an unknown token");

        let receipt = submit(
            &h,
            &token,
            vec![answer("safe_where_i_live", 5), answer("know_my_ombud", 1)],
        )
        .await
        .unwrap_or_else(|e| panic!("[{bk}] submit: {e}"));
        assert_eq!(receipt.round_id, round.id);
        assert_eq!(receipt.answered_on, date(2026, 12, 1));
        // The second use is refused, naming the token.
        let e = submit(&h, &token, vec![answer("safe_where_i_live", 1)])
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "[{bk}] {e}");
        assert_eq!(field_of(&e).as_deref(), Some("token"));
        let kept = store::survey_answers_of_round(&h.service.store.read, &round.id)
            .await
            .unwrap();
        assert_eq!(kept.len(), 1, "[{bk}] one answer kept");
        assert_eq!(kept[0].answers[0], answer("safe_where_i_live", 5));
        assert_eq!(
            kept[0].answers[2],
            answer("say_what_i_think", 0),
            "left out: vet inte"
        );

        // After the round's end no answer is taken.
        let child2 = place_child(&mut h, born(2012, 2, 2), SurveyPlacementForm::Hvb).await;
        let r2 = open_round(&h).await;
        let mut c2 = h.client(child_ctx(&child2)).await;
        let t2 = rpc!(
            c2,
            get_my_survey_invitation,
            GetMySurveyInvitationRequest {
                child_id: child2.clone(),
                round_id: r2.id.clone(),
                easy_read: false,
            }
        )
        .unwrap()
        .token;
        h.days_pass(31);
        let e = submit(&h, &t2, vec![]).await.unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "[{bk}] {e}");
        assert!(e.message().contains("closed"), "[{bk}] {e}");
        h.stop().await;
    }
}

#[tokio::test]
async fn no_stored_survey_answer_joins_to_a_child() {
    for mut h in harnesses().await {
        let bk = h.backend;
        h.register("ombud-anna").await;
        let mut children = Vec::new();
        for i in 0..6 {
            let form = if i % 2 == 0 {
                SurveyPlacementForm::FamilyHome
            } else {
                SurveyPlacementForm::Hvb
            };
            children.push(place_child(&mut h, born(2010, 1, 1 + i), form).await);
        }
        let round = open_round(&h).await;
        let mut tokens = Vec::new();
        for c in &children {
            let t = invitation(&h, c, false).await.unwrap().token;
            submit(&h, &t, vec![answer("safe_where_i_live", 4)])
                .await
                .unwrap_or_else(|e| panic!("[{bk}] submit: {e}"));
            tokens.push(t);
        }
        // The store's own read: round, region, variant, answers, the day.
        let kept = store::survey_answers_of_round(&h.service.store.read, &round.id)
            .await
            .unwrap();
        assert_eq!(kept.len(), 6, "[{bk}]");
        for set in &kept {
            let text = format!("{set:?}");
            let bytes = String::from_utf8_lossy(&prost::Message::encode_to_vec(set)).to_string();
            for c in &children {
                assert!(
                    !text.contains(c.as_str()) && !bytes.contains(c.as_str()),
                    "[{bk}] {text}"
                );
            }
            for t in &tokens {
                let hash = samling_ombud::domain::surveys::token_hash(t);
                assert!(
                    !text.contains(t.as_str()) && !text.contains(&hash),
                    "[{bk}]"
                );
            }
            assert_eq!(set.answered_on, date(2026, 12, 1), "[{bk}] the day only");
            // The id is random, not a time-ordered UUID.
            assert_eq!(set.id.len(), 32, "[{bk}]");
            assert!(!set.id.contains('-'));
        }
        // A dump of the answers table: every column, the documents decoded.
        let rows = sqlx::query(
            "SELECT id, doc, round_id, region, placement_form, answered_on FROM survey_answers",
        )
        .fetch_all(&h.service.store.read)
        .await
        .unwrap();
        assert_eq!(rows.len(), 6);
        let mut dump = String::new();
        for r in &rows {
            for i in 0..6 {
                dump.push_str(&r.try_get::<String, _>(i).unwrap());
                dump.push('|');
            }
            let doc: SurveyAnswerSet =
                samling_kit::docstore::decode("survey answer", &r.try_get::<String, _>(1).unwrap())
                    .unwrap();
            dump.push_str(&format!("{doc:?}"));
            dump.push('\n');
        }
        for c in &children {
            assert!(
                !dump.contains(c.as_str()),
                "[{bk}] a child id in the answers"
            );
        }
        for t in &tokens {
            assert!(!dump.contains(t.as_str()), "[{bk}] a token in the answers");
            let hash = samling_ombud::domain::surveys::token_hash(t);
            assert!(
                !dump.contains(&hash),
                "[{bk}] a token's hash in the answers"
            );
        }
        // No personnummer-like run of 10 or more digits, no time of day,
        // once the random ids, the round's id and the encoded documents
        // (read decoded above) are taken out.
        let mut plain = dump.clone();
        for r in &rows {
            plain = plain.replace(&r.try_get::<String, _>(1).unwrap(), "");
        }
        for set in &kept {
            plain = plain.replace(&set.id, "");
        }
        plain = plain.replace(&round.id, "");
        let digits = plain
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(digits < 10, "[{bk}] a long digit run in {plain}");
        assert!(!plain.contains("T09:"), "[{bk}] a time of day");
        // The tokens table holds no child; the invitations no token.
        let rows = sqlx::query(
            "SELECT token_hash, round_id, region, age_band, placement_form, easy_read, used FROM survey_tokens",
        )
        .fetch_all(&h.service.store.read)
        .await
        .unwrap();
        let tokens_dump: String = rows
            .iter()
            .flat_map(|r| (0..7).map(move |i| r.try_get::<String, _>(i).unwrap()))
            .collect::<Vec<_>>()
            .join("|");
        for c in &children {
            assert!(
                !tokens_dump.contains(c.as_str()),
                "[{bk}] a child beside a token"
            );
        }
        let rows = sqlx::query("SELECT round_id, child_id, token_shown FROM survey_invitations")
            .fetch_all(&h.service.store.read)
            .await
            .unwrap();
        let inv_dump: String = rows
            .iter()
            .flat_map(|r| (0..3).map(move |i| r.try_get::<String, _>(i).unwrap()))
            .collect::<Vec<_>>()
            .join("|");
        for t in &tokens {
            let hash = samling_ombud::domain::surveys::token_hash(t);
            assert!(
                !inv_dump.contains(t.as_str()) && !inv_dump.contains(&hash),
                "[{bk}]"
            );
        }
        // The submissions' audit entries name the public caller, never a
        // child.
        let mut office_c = h.client(office()).await;
        let audit = rpc!(
            office_c,
            list_audit,
            ListAuditRequest {
                record_id: round.id.clone(),
                page: None,
            }
        )
        .unwrap();
        let answered: Vec<_> = audit
            .entries
            .iter()
            .filter(|e| e.action == "survey_answered")
            .collect();
        assert_eq!(answered.len(), 6, "[{bk}] {:?}", audit.entries);
        for e in answered {
            assert_eq!(e.subject, PUBLIC_SUBJECT, "[{bk}]");
            for c in &children {
                assert!(!format!("{e:?}").contains(c.as_str()), "[{bk}] {e:?}");
            }
        }
        h.stop().await;
    }
}

/// Every published count of a result: "<5" (1–4), ".." (hidden, at least
/// 5), or a number that is 0 or at least 5.
fn assert_no_small_count(r: &SurveyResults, bk: &str) {
    let mut counts: Vec<&SurveyCount> = r.invited.iter().collect();
    for row in r
        .respondents
        .iter()
        .chain(r.questions.iter().flat_map(|q| &q.rows))
    {
        counts.extend(row.options.iter());
        counts.extend(row.total.iter());
    }
    for c in counts {
        if c.suppressed {
            assert!(c.value == "<5" || c.value == "..", "[{bk}] {c:?}");
        } else {
            let n: u64 = c.value.parse().unwrap();
            assert!(n == 0 || n >= 5, "[{bk}] a count of {n} shown");
        }
    }
}

const INF: i64 = 1 << 40;

/// What the reader knows of a count: its range.
fn range(c: &SurveyCount) -> (i64, i64) {
    match c.value.as_str() {
        "<5" => (1, 4),
        ".." => (5, INF),
        n => {
            let n: i64 = n.parse().unwrap();
            (n, n)
        }
    }
}

/// The attacker's try on one line (`parts` adding up to `sum`): is a
/// hidden count pinned by the bounds the others leave it?
fn pinned(parts: &[&SurveyCount], sum: &SurveyCount) -> bool {
    let ranges: Vec<(i64, i64)> = parts.iter().map(|c| range(c)).collect();
    let (tlo, thi) = range(sum);
    let lo: i64 = ranges.iter().map(|r| r.0).sum();
    let hi: i64 = ranges.iter().map(|r| r.1).sum();
    for (i, c) in parts.iter().enumerate() {
        if !c.suppressed {
            continue;
        }
        let (a, b) = ranges[i];
        let min = a.max(tlo - (hi - b));
        let max = b.min(if thi >= INF { INF } else { thi - (lo - a) });
        if min >= max {
            return true;
        }
    }
    sum.suppressed && tlo.max(lo) >= thi.min(hi)
}

fn totals(rows: &[SurveyResultRow]) -> Vec<&SurveyCount> {
    rows.iter().filter_map(|x| x.total.as_ref()).collect()
}

/// The attacker works every line of the published results: each row
/// against its total, each answer's column against the "all forms" row,
/// the forms' totals against the total, the respondents likewise.
fn assert_nothing_hidden_can_be_worked_out(r: &SurveyResults, bk: &str) {
    let resp = totals(&r.respondents);
    assert!(!pinned(&resp[1..], resp[0]), "[{bk}] respondents {resp:?}");
    for q in &r.questions {
        for row in &q.rows {
            let parts: Vec<&SurveyCount> = row.options.iter().collect();
            assert!(
                !pinned(&parts, row.total.as_ref().unwrap()),
                "[{bk}] {} row {row:?}",
                q.question_id
            );
        }
        for c in 0..q.rows[0].options.len() {
            let parts: Vec<&SurveyCount> = q.rows[1..].iter().map(|x| &x.options[c]).collect();
            assert!(
                !pinned(&parts, &q.rows[0].options[c]),
                "[{bk}] {} column {c}",
                q.question_id
            );
        }
        let t = totals(&q.rows);
        assert!(!pinned(&t[1..], t[0]), "[{bk}] {} totals", q.question_id);
        // The same totals as the respondents' (no table shows what another hides).
        assert_eq!(t, resp, "[{bk}] {}", q.question_id);
    }
}

#[tokio::test]
async fn survey_results_are_suppressed_aggregates_for_the_brukarrad() {
    for mut h in harnesses().await {
        let bk = h.backend;
        h.register("ombud-anna").await;
        let mut placed = Vec::new();
        // 10 in family homes, 3 at HVB, 6 in supported housing.
        for (form, n) in [
            (SurveyPlacementForm::FamilyHome, 10),
            (SurveyPlacementForm::Hvb, 3),
            (SurveyPlacementForm::SupportedHousing, 6),
        ] {
            for i in 0..n {
                placed.push((form, place_child(&mut h, born(2011, 4, 1 + i), form).await));
            }
        }
        let round = open_round(&h).await;
        let mut home = 0;
        for (form, c) in &placed {
            let t = invitation(&h, c, false).await.unwrap().token;
            // Safe where I live: homes 5 ×6, 4 ×2, 3 ×2; HVB 2 ×3;
            // supported housing 3 ×6. Knows the ombud: all but HVB.
            let (safe, know) = match form {
                SurveyPlacementForm::FamilyHome => {
                    home += 1;
                    (
                        if home <= 6 {
                            5
                        } else if home <= 8 {
                            4
                        } else {
                            3
                        },
                        1,
                    )
                }
                SurveyPlacementForm::Hvb => (2, 2),
                _ => (3, 1),
            };
            submit(
                &h,
                &t,
                vec![
                    answer("safe_where_i_live", safe),
                    answer("know_my_ombud", know),
                ],
            )
            .await
            .unwrap();
        }
        let council = council_member().with_region(REGION);
        let r = results_as(&h, council, &round.id)
            .await
            .unwrap_or_else(|e| panic!("[{bk}] results: {e}"));
        assert_eq!(r.round_id, round.id);
        assert_eq!(r.invited.as_ref().unwrap().value, "19", "[{bk}]");
        let total = |row: &SurveyResultRow| row.total.as_ref().unwrap().value.clone();
        assert_eq!(total(&r.respondents[0]), "19", "[{bk}]");
        assert_eq!(
            r.respondents[2].placement_form,
            SurveyPlacementForm::Hvb as i32
        );
        assert_eq!(total(&r.respondents[2]), "<5", "[{bk}] 3 at HVB");
        // No child placed in another form: a zero is shown.
        assert_eq!(total(&r.respondents[4]), "0", "[{bk}]");
        let safe = r
            .questions
            .iter()
            .find(|q| q.question_id == "safe_where_i_live")
            .unwrap();
        assert_eq!(safe.rows[2].options[2].value, "<5", "[{bk}] the 3 HVB 2s");
        assert_eq!(
            safe.rows[1].options[4].value, "<5",
            "[{bk}] the 2 homes' 4s"
        );
        assert_eq!(
            safe.rows[0].options[5].value, "6",
            "[{bk}] 6 very safe in all"
        );
        assert!(
            safe.rows[1].mean.is_empty(),
            "[{bk}] no mean beside a hidden count"
        );
        // Nothing shown is 1–4, and no hidden count follows from the
        // totals: 19 − 10 − 6 would give the HVB's 3 away, so the 6 (or
        // the 10) is hidden with it, in every table alike.
        assert_no_small_count(&r, bk);
        assert_nothing_hidden_can_be_worked_out(&r, bk);
        let shown: Vec<&str> = r.respondents[1..4]
            .iter()
            .map(|x| x.total.as_ref().unwrap().value.as_str())
            .collect();
        assert!(
            shown
                .iter()
                .filter(|v| v.starts_with('<') || **v == "..")
                .count()
                >= 2,
            "[{bk}] {shown:?}"
        );
        // The analyst and the office get the same figures.
        let a = results_as(&h, analyst(), &round.id).await.unwrap();
        assert_eq!(a, r, "[{bk}]");
        let o = results_as(&h, office(), &round.id).await.unwrap();
        assert_eq!(o, r, "[{bk}]");
        h.stop().await;
    }
}

#[tokio::test]
async fn survey_results_are_refused_to_those_who_know_the_children_and_to_other_regions() {
    for mut h in harnesses().await {
        let bk = h.backend;
        h.register("ombud-anna").await;
        let child = place_child(&mut h, born(2012, 1, 1), SurveyPlacementForm::FamilyHome).await;
        let round = open_round(&h).await;
        for ctx in [
            caseworker(STOCKHOLM),
            manager(STOCKHOLM),
            ombud_as("ombud-anna"),
            child_ctx(&child),
            family_home(&new_id()),
            national_reviewer(),
            ivo(),
            public(),
        ] {
            let role = ctx.role.as_str();
            let e = results_as(&h, ctx, &round.id).await.unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{bk}] {role}: {e}");
        }
        // Another region's Brukarråd.
        let e = results_as(&h, council_member().with_region("skane"), &round.id)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{bk}] {e}");
        assert_eq!(reason_of(&e).as_deref(), Some("OUT_OF_REGION"), "[{bk}]");
        let e = results_as(&h, office_in("skane"), &round.id)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{bk}] {e}");
        // An unknown round is not found; a bad id names the field.
        let e = results_as(&h, analyst(), &new_id()).await.unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{bk}]");
        let e = results_as(&h, analyst(), "x").await.unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("round_id"), "[{bk}]");
        // The aggregate roles still read nothing else of the ombud's.
        for ctx in [council_member(), analyst()] {
            let mut c = h.client(ctx).await;
            let e = rpc!(
                c,
                get_assignment,
                GetAssignmentRequest {
                    child_id: child.clone()
                }
            )
            .unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{bk}] {e}");
        }
        // The public caller opens no round and reads no invitation.
        let mut p = h.client(public()).await;
        let e = rpc!(
            p,
            open_survey_round,
            OpenSurveyRoundRequest {
                request_id: new_id(),
                period_start: date(2026, 12, 1),
                period_end: date(2026, 12, 31),
                questionnaire_version: 1,
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{bk}] {e}");
        let e = rpc!(
            p,
            get_my_survey_invitation,
            GetMySurveyInvitationRequest {
                child_id: child.clone(),
                round_id: String::new(),
                easy_read: false,
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{bk}] {e}");
        h.stop().await;
    }
}
