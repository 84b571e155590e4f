//! User surveys (docs/ombud.md "User surveys", ADR 0044): the office opens
//! a round and every placed child of the region is invited; the child
//! opens its invitation and is shown a one-time token once; anyone holding
//! the token answers anonymously (the gateway's public caller); the
//! Brukarråd, national analysts and the office read suppressed aggregates.
//!
//! Nothing links an answer to a child: the invitation list (child → round)
//! holds no token; the token table (hash → round, variant) holds no child
//! and no time; the answers hold the round, the variant and the day only,
//! under a random id; the submission's audit entry names the public
//! caller, never the child.

use super::access::{hidden, only, refused, role_refused};
use super::{Ombuds, R};
use crate::domain::OmbudError;
use crate::domain::surveys::{self, Cell, FORMS};
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates;
use samling_kit::error::{KitError, Reason};
use samling_kit::ids::parse_id;
use samling_kit::service::Service;
use samling_proto::ombud::v1::*;
use serde_json::json;

/// Who opens a round: the regional office (and Samling's services).
const ROUND_OPENERS: &[Role] = &[Role::RegionalOfficer, Role::Service];

/// Who reads the suppressed aggregates: the Brukarråd (council members),
/// national analysts, the office.
const RESULT_READERS: &[Role] = &[
    Role::CouncilMember,
    Role::NationalAnalyst,
    Role::RegionalOfficer,
    Role::Service,
];

/// The longest round, in days.
pub const MAX_ROUND_DAYS: i64 = 120;

/// 128 random bits.
fn random_128() -> R<[u8; 16]> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| OmbudError::Kit(KitError::Internal(format!("randomness: {e}"))))?;
    Ok(b)
}

fn date_of(field: &str, d: Option<&samling_proto::common::v1::Date>) -> R<chrono::NaiveDate> {
    Ok(dates::from_proto(field, d)?)
}

impl Ombuds {
    /// Open a round of the region: every child placed now is invited.
    pub async fn open_survey_round(
        &self,
        ctx: &AuthContext,
        req: OpenSurveyRoundRequest,
    ) -> R<SurveyRound> {
        self.enter(ctx)?;
        only(ctx, ROUND_OPENERS, "open survey rounds")?;
        surveys::questionnaire("questionnaire_version", req.questionnaire_version)?;
        let start = date_of("period_start", req.period_start.as_ref())?;
        let end = date_of("period_end", req.period_end.as_ref())?;
        if end < start {
            return Err(OmbudError::invalid("period_end", "is before period_start"));
        }
        if (end - start).num_days() >= MAX_ROUND_DAYS {
            return Err(OmbudError::invalid(
                "period_end",
                format!("a round lasts at most {MAX_ROUND_DAYS} days"),
            ));
        }
        if end < self.clock.today() {
            return Err(OmbudError::invalid("period_end", "is in the past"));
        }
        let w = self
            .core()
            .begin(ctx, "OpenSurveyRound", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let children = store::placed_children(w.conn()).await?;
        let round = SurveyRound {
            id: samling_kit::ids::new_id_string(),
            region: self.region_name(),
            period_start: Some(dates::to_proto(start)),
            period_end: Some(dates::to_proto(end)),
            questionnaire_version: req.questionnaire_version,
            opened_at: self.now_text(),
            invited: children.len() as i64,
        };
        store::insert_survey_round(w.conn(), &round).await?;
        for child in &children {
            store::insert_survey_invitation(w.conn(), &round.id, child).await?;
        }
        self.core()
            .record(
                &mut w,
                ctx,
                "survey_round_opened",
                "survey_round",
                &round.id,
                json!({"round_id": round.id, "invited": round.invited,
                       "questionnaire_version": round.questionnaire_version,
                       "period_start": dates::date_text(start), "period_end": dates::date_text(end)}),
            )
            .await?;
        w.finish(self, ctx, round).await
    }

    /// The round `round_id` names, or the round open today that invited
    /// the child; `None`: no such invitation.
    async fn invitation_round(
        &self,
        child_id: &str,
        round_id: &str,
    ) -> R<Option<(SurveyRound, bool)>> {
        let today = self.clock.today();
        let round = if round_id.is_empty() {
            let mut open = None;
            for r in store::survey_rounds_of_child(&self.store.read, child_id).await? {
                let start = date_of("period_start", r.period_start.as_ref())?;
                let end = date_of("period_end", r.period_end.as_ref())?;
                if start <= today && today <= end {
                    open = Some(r);
                    break;
                }
            }
            open
        } else {
            let id = parse_id("round_id", round_id)?.to_string();
            store::survey_round(&self.store.read, &id).await?
        };
        let Some(round) = round else { return Ok(None) };
        Ok(
            store::survey_invitation(&self.store.read, &round.id, child_id)
                .await?
                .map(|shown| (round, shown)),
        )
    }

    /// The child's own invitation: its questions, and the one-time token
    /// the first time it is asked (only the token's hash is kept, with the
    /// round and the variant, never with the child).
    pub async fn get_my_survey_invitation(
        &self,
        ctx: &AuthContext,
        req: GetMySurveyInvitationRequest,
    ) -> R<SurveyInvitation> {
        self.enter(ctx)?;
        only(ctx, &[Role::Child], "read a child's survey invitation")?;
        let child_id = parse_id("child_id", &req.child_id)?.to_string();
        if !ctx.is_party(&child_id) {
            return Err(hidden("survey invitation of child", &child_id));
        }
        let (round, shown_before) = self
            .invitation_round(&child_id, req.round_id.trim())
            .await?
            .ok_or_else(|| hidden("survey invitation of child", &child_id))?;
        let today = self.clock.today();
        let start = date_of("period_start", round.period_start.as_ref())?;
        let end = date_of("period_end", round.period_end.as_ref())?;
        if today < start {
            return Err(OmbudError::precondition(
                "round_id",
                format!("the survey opens on {}", dates::date_text(start)),
            ));
        }
        if today > end {
            return Err(OmbudError::precondition(
                "round_id",
                format!("the survey closed on {}", dates::date_text(end)),
            ));
        }
        let q = surveys::questionnaire("questionnaire_version", round.questionnaire_version)?;
        let variant = self.variant_of(&child_id, start, req.easy_read).await?;
        let mut inv = SurveyInvitation {
            round_id: round.id.clone(),
            answer_by: Some(dates::to_proto(end)),
            questions: surveys::questions_for(q, &variant),
            variant: Some(variant),
            token: String::new(),
            token_shown_before: true,
        };
        if !shown_before {
            let token = surveys::new_token(random_128()?);
            let mut tx = self.store.begin_write().await?;
            if store::mark_survey_token_shown(tx.conn(), &round.id, &child_id).await? {
                store::insert_survey_token(
                    tx.conn(),
                    &surveys::token_hash(&token),
                    &round.id,
                    &round.region,
                    &variant,
                )
                .await?;
                tx.audit(&ctx.audit("survey_token_shown", "survey_round", &round.id))
                    .await?;
                tx.commit(&self.feed).await?;
                inv.token = token;
                inv.token_shown_before = false;
                return Ok(inv);
            }
            // Shown to a concurrent ask of the same child: not again.
        }
        self.core()
            .audit_read(ctx, "survey_invitation", &[&round.id])
            .await?;
        Ok(inv)
    }

    /// The question set of a child: its age band on the round's first day
    /// and its placement form, asked of the registry (not stored here).
    async fn variant_of(
        &self,
        child_id: &str,
        start: chrono::NaiveDate,
        easy_read: bool,
    ) -> R<SurveyVariant> {
        let registry = self.registry.as_ref().ok_or_else(|| {
            refused(
                Reason::RegionUnavailable,
                "registry: not configured (the survey's question set follows the child's age and placement)",
            )
        })?;
        let a = self
            .assignment_of(child_id)
            .await?
            .ok_or_else(|| hidden("survey invitation of child", child_id))?;
        let profile = registry
            .survey_profile(child_id.to_string(), a.placement_id)
            .await?
            .ok_or_else(|| hidden("survey invitation of child", child_id))?;
        let birth = profile.birth_date.ok_or_else(|| {
            OmbudError::precondition("child_id", "the registry holds no birth date for the child")
        })?;
        let band = surveys::age_band(birth, start).ok_or_else(|| {
            OmbudError::precondition(
                "child_id",
                format!(
                    "the survey asks children from {} years of age",
                    surveys::MIN_AGE
                ),
            )
        })?;
        Ok(SurveyVariant {
            age_band: band as i32,
            placement_form: profile.placement_form as i32,
            easy_read,
        })
    }

    /// Answers sent with a token, anonymously: only the gateway's public
    /// caller (an answer must never be recorded beside who sent it). The
    /// token is burnt in the transaction that keeps the answers.
    pub async fn submit_survey_answers(
        &self,
        ctx: &AuthContext,
        req: SubmitSurveyAnswersRequest,
    ) -> R<SurveyReceipt> {
        self.bind(ctx)?;
        if !ctx.is_public() {
            return Err(role_refused(
                ctx,
                "send survey answers: they are sent anonymously, on the public route, so that no answer is recorded beside who sent it",
            ));
        }
        let token = surveys::parse_token(&req.token)?;
        let hash = surveys::token_hash(&token);
        let t = store::survey_token(&self.store.read, &hash)
            .await?
            .ok_or_else(|| OmbudError::not_found("survey invitation"))?;
        if t.used {
            return Err(OmbudError::precondition(
                "token",
                "has been used: a survey is answered once",
            ));
        }
        let round = store::survey_round(&self.store.read, &t.round_id)
            .await?
            .ok_or_else(|| OmbudError::not_found("survey invitation"))?;
        let today = self.clock.today();
        let end = date_of("period_end", round.period_end.as_ref())?;
        if today > end {
            return Err(OmbudError::precondition(
                "token",
                format!("the survey closed on {}", dates::date_text(end)),
            ));
        }
        let q = surveys::questionnaire("questionnaire_version", round.questionnaire_version)?;
        let answers = surveys::complete_answers(q, &req.answers)?;
        let mut tx = self.store.begin_write().await?;
        if !store::use_survey_token(tx.conn(), &hash).await? {
            return Err(OmbudError::precondition(
                "token",
                "has been used: a survey is answered once",
            ));
        }
        let set = SurveyAnswerSet {
            id: hex::encode(random_128()?),
            round_id: round.id.clone(),
            region: t.region,
            variant: Some(t.variant),
            answers,
            answered_on: Some(dates::to_proto(today)),
        };
        store::insert_survey_answers(tx.conn(), &set).await?;
        tx.audit(&ctx.audit("survey_answered", "survey_round", &round.id))
            .await?;
        tx.commit(&self.feed).await?;
        Ok(SurveyReceipt {
            round_id: round.id,
            answered_on: set.answered_on,
        })
    }

    /// A round's results as suppressed aggregates (counts of 1–4 "<5",
    /// complementary suppression ".."; every reader gets the same).
    pub async fn get_survey_results(
        &self,
        ctx: &AuthContext,
        req: GetSurveyResultsRequest,
    ) -> R<SurveyResults> {
        self.bind(ctx)?;
        if ctx.is_public() {
            return Err(role_refused(ctx, "read survey results"));
        }
        only(ctx, RESULT_READERS, "read survey results")?;
        let id = parse_id("round_id", &req.round_id)?.to_string();
        let round = store::survey_round(&self.store.read, &id)
            .await?
            .ok_or_else(|| hidden("survey round", &id))?;
        let q = surveys::questionnaire("questionnaire_version", round.questionnaire_version)?;
        let sets = store::survey_answers_of_round(&self.store.read, &id).await?;
        let invited = store::survey_invited_count(&self.store.read, &id).await?;
        self.core()
            .audit_read(ctx, "survey_results", &[&id])
            .await?;
        Ok(results(&round, q, &sets, invited))
    }
}

/// The form's row index in [`FORMS`].
fn form_index(set: &SurveyAnswerSet) -> usize {
    let form = set
        .variant
        .as_ref()
        .and_then(|v| SurveyPlacementForm::try_from(v.placement_form).ok())
        .unwrap_or(SurveyPlacementForm::Other);
    FORMS
        .iter()
        .position(|f| *f == form)
        .unwrap_or(FORMS.len() - 1)
}

fn row(form: SurveyPlacementForm, options: &[Cell], total: Cell, likert: bool) -> SurveyResultRow {
    SurveyResultRow {
        placement_form: form as i32,
        options: options.iter().map(|c| c.to_proto()).collect(),
        total: Some(total.to_proto()),
        mean: if likert {
            surveys::likert_mean(options).unwrap_or_default()
        } else {
            String::new()
        },
    }
}

/// The published results of `sets` (pure).
pub fn results(
    round: &SurveyRound,
    q: &surveys::Questionnaire,
    sets: &[SurveyAnswerSet],
    invited: i64,
) -> SurveyResults {
    let mut per_form = vec![vec![0u64]; FORMS.len()];
    for s in sets {
        per_form[form_index(s)][0] += 1;
    }
    // Every question's table: forms × answer values (0 = vet inte).
    let mut tables = vec![per_form];
    for x in q.questions {
        let cols = surveys::max_value(x.kind) as usize + 1;
        let mut counts = vec![vec![0u64; cols]; FORMS.len()];
        for s in sets {
            let v = s
                .answers
                .iter()
                .find(|a| a.question_id == x.id)
                .map(|a| a.value)
                .unwrap_or(0)
                .clamp(0, cols as i32 - 1);
            counts[form_index(s)][v as usize] += 1;
        }
        tables.push(counts);
    }
    // Together: every table's row totals are the forms' respondents.
    let published = surveys::suppress_tables(&tables);
    let resp = &published[0];
    let mut respondents = vec![row(
        SurveyPlacementForm::Unspecified,
        &[],
        resp.total,
        false,
    )];
    for (i, f) in FORMS.iter().enumerate() {
        respondents.push(row(*f, &[], resp.row_totals[i], false));
    }
    let questions = q
        .questions
        .iter()
        .zip(&published[1..])
        .map(|(x, p)| {
            let likert = x.kind == SurveyQuestionKind::Likert5;
            let mut rows = vec![row(
                SurveyPlacementForm::Unspecified,
                &p.col_totals,
                p.total,
                likert,
            )];
            for (i, f) in FORMS.iter().enumerate() {
                rows.push(row(*f, &p.cells[i], p.row_totals[i], likert));
            }
            SurveyQuestionResult {
                question_id: x.id.to_string(),
                kind: x.kind as i32,
                text: x.youth.replace("{plats}", "där jag bor"),
                rows,
            }
        })
        .collect();
    let invited = match invited.max(0) as u64 {
        n if (1..surveys::MIN_COUNT).contains(&n) => Cell::Small,
        n => Cell::Shown(n),
    };
    SurveyResults {
        round_id: round.id.clone(),
        region: round.region.clone(),
        questionnaire_version: round.questionnaire_version,
        period_start: round.period_start,
        period_end: round.period_end,
        invited: Some(invited.to_proto()),
        respondents,
        questions,
    }
}

samling_kit::plain_answer!(Ombuds;
    SurveyRound => "survey_round", |r| r.id.clone();
);
