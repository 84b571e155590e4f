//! Cases through the pipeline: reading, listing, owner, advancing, drop-outs, household adults.
//!
//! Access (docs/recruitment.md "Access"): the regional office (and other
//! services) see and change every case of the region, in full; a
//! municipality's caseworkers and managers see the cases of their own
//! municipality, without the applicant's and household's personal data
//! (another municipality's case is "not found"); aggregate roles, homes,
//! children, the ombud and the public caller see no case.

use super::{R, Recruitment};
use crate::domain::RecruitmentError;
use crate::domain::pipeline::{self, Context, stage_name};
use crate::store;
use crate::store::cases::CaseFilter;
use chrono::NaiveDate;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates;
use samling_kit::paging::Page;
use samling_kit::service::{Answer, Service};
use samling_proto::recruitment::v1::*;
use serde_json::json;
use sqlx::AnyConnection;

/// The office: a regional officer (bound to its region by `bind`) or
/// another Samling service, never the gateway's public caller.
pub(crate) fn is_office(ctx: &AuthContext) -> bool {
    match ctx.role {
        Role::RegionalOfficer => true,
        Role::Service => !ctx.is_public(),
        _ => false,
    }
}

/// Refused unless the caller is the office.
pub(crate) fn office_only(ctx: &AuthContext, what: &str) -> R<()> {
    if is_office(ctx) {
        Ok(())
    } else {
        Err(RecruitmentError::Forbidden(format!(
            "your role may not {what}"
        )))
    }
}

/// Who may read cases at all: the office and municipalities (their own).
pub(crate) fn may_read_cases(ctx: &AuthContext) -> R<()> {
    if is_office(ctx) || is_municipal(ctx) {
        Ok(())
    } else {
        Err(RecruitmentError::Forbidden(
            "your role may not read recruitment cases (aggregate figures are GetFunnelStatistics)"
                .into(),
        ))
    }
}

fn is_municipal(ctx: &AuthContext) -> bool {
    matches!(
        ctx.role,
        Role::MunicipalityCaseworker | Role::MunicipalityManager
    ) && ctx.municipality.is_some()
}

/// The case is the caller's to see: the office's, or their own
/// municipality's; anything else is "not found" (nothing said of its existence).
pub(crate) fn case_visible(ctx: &AuthContext, case: &Case) -> R<()> {
    if is_office(ctx)
        || (is_municipal(ctx)
            && ctx.municipality.map(|m| m.as_str()) == Some(case.municipality_code.as_str()))
    {
        Ok(())
    } else {
        Err(RecruitmentError::not_found(format!("case {}", case.id)))
    }
}

/// A case without the personal data of the applicant and household (and
/// without the investigation's outcomes, health among them).
pub(crate) fn redacted(mut c: Case) -> Case {
    c.applicant = None;
    for a in &mut c.adults {
        a.given_name.clear();
        a.family_name.clear();
        a.birth_year = 0;
    }
    c.investigation.clear();
    c.references.clear();
    c.register_checks.clear();
    if let Some(r) = c.recommendation.as_mut() {
        r.document_ref.clear();
        r.decided_by.clear();
    }
    c.personal_data_redacted = true;
    c
}

impl Answer<Recruitment> for Case {
    fn record(&self) -> (&'static str, String) {
        ("case", self.id.clone())
    }

    async fn view(self, svc: &Recruitment, ctx: &AuthContext) -> R<Case> {
        Ok(svc.case_view(ctx, self))
    }

    /// A replayed answer shows the case as it stands now: after a
    /// withdrawal, erased (never the personal data of the first answer).
    async fn current(self, svc: &Recruitment) -> R<Case> {
        Ok(store::cases::get(&svc.store.read, &self.id)
            .await?
            .unwrap_or(self))
    }
}

impl Answer<Recruitment> for WithdrawCaseResponse {
    fn record(&self) -> (&'static str, String) {
        (
            "case",
            self.withdrawn
                .as_ref()
                .map(|c| c.id.clone())
                .unwrap_or_default(),
        )
    }

    async fn view(mut self, svc: &Recruitment, ctx: &AuthContext) -> R<Self> {
        self.withdrawn = self.withdrawn.map(|c| svc.case_view(ctx, c));
        Ok(self)
    }
}

impl Recruitment {
    /// The one view of a case for `ctx` (whose access is already checked):
    /// deadlines as of today; in full for the office, redacted otherwise.
    pub(crate) fn case_view(&self, ctx: &AuthContext, case: Case) -> Case {
        let c = pipeline::refresh_deadlines(case, self.clock.today());
        if is_office(ctx) { c } else { redacted(c) }
    }

    pub(crate) fn now_text(&self) -> String {
        dates::instant_text(self.clock.now())
    }

    /// The courses the training stage's requirements read (enrolment and
    /// attendance): training's store answers them (service/training.rs).
    pub(crate) async fn case_courses(
        &self,
        conn: &mut AnyConnection,
        case: &Case,
    ) -> R<Vec<Course>> {
        if case.stage() != Stage::Training {
            return Ok(Vec::new());
        }
        self.courses_of_case(conn, &case.id).await
    }

    /// Change one case in one idempotent write: access to the case before
    /// the replay, then `change(current, today, courses)` → the new case and
    /// the event payload (ids and codes only), saved as the next version,
    /// audited and announced as `event`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn change_case<Q: prost::Message>(
        &self,
        ctx: &AuthContext,
        method: &'static str,
        request_id: &str,
        req: &Q,
        case_id: &str,
        event: &str,
        change: impl FnOnce(&Case, NaiveDate, &[Course]) -> R<(Case, serde_json::Value)>,
    ) -> R<Case> {
        let case_id = crate::domain::text::id("case_id", case_id)?;
        let mut w = self.core().begin(ctx, method, request_id, req).await?;
        let current = store::cases::get(w.conn(), &case_id)
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("case {case_id}")))?;
        case_visible(ctx, &current)?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let today = self.clock.today();
        let courses = self.case_courses(w.conn(), &current).await?;
        let (mut next, payload) = change(&current, today, &courses)?;
        next.id = current.id.clone();
        next.version = current.version + 1;
        next.updated_at = self.now_text();
        let next = pipeline::refresh_deadlines(next, today);
        store::cases::save(w.conn(), &next, false).await?;
        self.core()
            .record(&mut w, ctx, event, "case", &next.id, payload)
            .await?;
        w.finish(self, ctx, next).await
    }

    pub async fn get_case(&self, ctx: &AuthContext, req: GetCaseRequest) -> R<Case> {
        may_read_cases(ctx)?;
        let id = crate::domain::text::id("case_id", &req.case_id)?;
        let case = store::cases::get(&self.store.read, &id)
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("case {id}")))?;
        case_visible(ctx, &case)?;
        self.core().audit_read(ctx, "case", &[&case.id]).await?;
        Ok(self.case_view(ctx, case))
    }

    pub async fn list_cases(
        &self,
        ctx: &AuthContext,
        req: ListCasesRequest,
    ) -> R<ListCasesResponse> {
        may_read_cases(ctx)?;
        let page = Page::from_request(req.page.as_ref())?;
        let mut f = CaseFilter {
            municipalities: self.municipalities_for(ctx, &req.municipality_code)?,
            owner: req.owner.trim().to_string(),
            campaign_id: crate::domain::text::opt_id("campaign_id", &req.campaign_id)?
                .unwrap_or_default(),
            ..Default::default()
        };
        f.track = match Track::try_from(req.track) {
            Ok(Track::Unspecified) => None,
            Ok(t) => Some(t),
            Err(_) => return Err(RecruitmentError::invalid("track", "is not a known track")),
        };
        f.stage = match Stage::try_from(req.stage) {
            Ok(Stage::Unspecified) => None,
            Ok(s) => Some(s),
            Err(_) => return Err(RecruitmentError::invalid("stage", "is not a known stage")),
        };
        f.status = match CaseStatus::try_from(req.status) {
            Ok(CaseStatus::Unspecified) => None,
            Ok(s) => Some(s),
            Err(_) => return Err(RecruitmentError::invalid("status", "is not a known status")),
        };
        if req.overdue_only {
            f.overdue_on = Some(dates::date_text(self.clock.today()));
        }
        self.list_page(ctx, &f, &page).await
    }

    /// One page of cases as `ctx` may see them, each read audited.
    pub(crate) async fn list_page(
        &self,
        ctx: &AuthContext,
        f: &CaseFilter,
        page: &Page,
    ) -> R<ListCasesResponse> {
        let rows = store::cases::list(&self.store.read, f, page).await?;
        let (rows, page) = page.finish(rows, |c| c.id.clone());
        let ids: Vec<&str> = rows.iter().map(|c| c.id.as_str()).collect();
        if !ids.is_empty() {
            self.core().audit_read(ctx, "case", &ids).await?;
        }
        Ok(ListCasesResponse {
            cases: rows.into_iter().map(|c| self.case_view(ctx, c)).collect(),
            page: Some(page),
        })
    }

    /// The municipalities a list covers: a municipality's own only (asking
    /// for another is refused); the office any (or one it names).
    pub(crate) fn municipalities_for(&self, ctx: &AuthContext, asked: &str) -> R<Vec<String>> {
        let asked = asked.trim();
        let asked = if asked.is_empty() {
            None
        } else {
            Some(
                samling_kit::reference::MunicipalityCode::parse(asked)
                    .map_err(|_| {
                        RecruitmentError::invalid(
                            "municipality_code",
                            "is not a Swedish municipality code",
                        )
                    })?
                    .as_str()
                    .to_string(),
            )
        };
        if is_office(ctx) {
            return Ok(asked.into_iter().collect());
        }
        let own = ctx
            .municipality
            .map(|m| m.as_str().to_string())
            .ok_or_else(|| {
                RecruitmentError::Forbidden("your token names no municipality".into())
            })?;
        match asked {
            Some(a) if a != own => Err(RecruitmentError::Forbidden(format!(
                "municipality_code: you may list your own municipality's cases ({own}) only"
            ))),
            _ => Ok(vec![own]),
        }
    }

    pub async fn assign_case_owner(
        &self,
        ctx: &AuthContext,
        req: AssignCaseOwnerRequest,
    ) -> R<Case> {
        office_only(ctx, "assign a case's owner")?;
        let owner = crate::domain::text::line("owner", &req.owner, true, 100)?;
        self.change_case(
            ctx,
            "AssignCaseOwner",
            &req.request_id,
            &req,
            &req.case_id,
            "case_owner_assigned",
            |c, _today, _| {
                if c.status() != CaseStatus::Open {
                    return Err(RecruitmentError::precondition("the case is closed"));
                }
                let mut n = c.clone();
                n.owner = owner.clone();
                if let Some(e) = n
                    .stages
                    .iter_mut()
                    .rev()
                    .find(|e| e.stage == c.stage && e.left_on.is_none())
                {
                    e.owner = owner;
                }
                Ok((n, json!({"stage": stage_name(c.stage())})))
            },
        )
        .await
    }

    pub async fn advance_case(&self, ctx: &AuthContext, req: AdvanceCaseRequest) -> R<Case> {
        office_only(ctx, "advance a case")?;
        let to = Stage::try_from(req.to_stage)
            .map_err(|_| RecruitmentError::invalid("to_stage", "is not a known stage"))?;
        let on = dates::opt_from_proto("on", req.on.as_ref())?;
        let rules = self.rules.clone();
        let actor = ctx.sub.clone();
        self.change_case(
            ctx,
            "AdvanceCase",
            &req.request_id,
            &req,
            &req.case_id,
            crate::domain::events::CASE_ADVANCED.trim_start_matches("recruitment."),
            |c, today, courses| {
                pipeline::check_version(c, req.expected_version)?;
                let ctx = Context {
                    rules: &rules,
                    courses,
                };
                let n = pipeline::advance(c, to, on.unwrap_or(today), today, &actor, &ctx)?;
                Ok((
                    n,
                    json!({"from": stage_name(c.stage()), "to": stage_name(to)}),
                ))
            },
        )
        .await
    }

    pub async fn drop_out(&self, ctx: &AuthContext, req: DropOutRequest) -> R<Case> {
        office_only(ctx, "record a drop-out")?;
        let on = dates::opt_from_proto("on", req.on.as_ref())?;
        self.change_case(
            ctx,
            "DropOut",
            &req.request_id,
            &req,
            &req.case_id,
            crate::domain::events::CASE_DROPPED_OUT.trim_start_matches("recruitment."),
            |c, today, _| {
                let n = pipeline::drop_out(
                    c,
                    req.reason,
                    req.initiated_by,
                    on.unwrap_or(today),
                    today,
                )?;
                let reason = DropOutReason::try_from(req.reason)
                    .unwrap_or_default()
                    .as_str_name();
                Ok((n, json!({"stage": stage_name(c.stage()), "reason": reason})))
            },
        )
        .await
    }

    pub async fn add_household_adult(
        &self,
        ctx: &AuthContext,
        req: AddHouseholdAdultRequest,
    ) -> R<Case> {
        office_only(ctx, "change a household")?;
        let adult = HouseholdAdult {
            id: samling_kit::ids::new_id_string(),
            given_name: req.given_name.clone(),
            family_name: req.family_name.clone(),
            birth_year: req.birth_year,
            role: req.role,
            registry_member_id: req.registry_member_id.clone(),
        };
        self.change_case(
            ctx,
            "AddHouseholdAdult",
            &req.request_id,
            &req,
            &req.case_id,
            "household_adult_added",
            |c, today, _| {
                let id = adult.id.clone();
                let n = pipeline::add_adult(c, adult, today)?;
                Ok((n, json!({"adult_id": id})))
            },
        )
        .await
    }

    pub async fn remove_household_adult(
        &self,
        ctx: &AuthContext,
        req: RemoveHouseholdAdultRequest,
    ) -> R<Case> {
        office_only(ctx, "change a household")?;
        self.change_case(
            ctx,
            "RemoveHouseholdAdult",
            &req.request_id,
            &req,
            &req.case_id,
            "household_adult_removed",
            |c, _today, _| {
                let n = pipeline::remove_adult(c, &req.adult_id)?;
                Ok((
                    n,
                    json!({"adult_id": req.adult_id.trim().to_ascii_lowercase()}),
                ))
            },
        )
        .await
    }
}

impl Recruitment {
    /// The courses `case_id` is enrolled in (training's store), which the
    /// training stage's requirements and the approval's evidence read.
    pub(crate) async fn courses_of_case(
        &self,
        conn: &mut AnyConnection,
        case_id: &str,
    ) -> R<Vec<Course>> {
        crate::store::courses::of_member(&mut *conn, case_id).await
    }
}
