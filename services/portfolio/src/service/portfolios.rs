//! The portfolio's RPCs: open, read, update a section, set the relations,
//! the access log and the homes' access.

use super::access::{hidden, is_sealed, record_type, refused, stage_refused};
use super::{Portfolios, R};
use crate::domain::access::{self as rules, Relation};
use crate::domain::retention::Stage;
use crate::domain::{PortfolioError, information, sections};
use crate::store;
use samling_kit::auth::AuthContext;
use samling_kit::dates;
use samling_kit::error::Reason;
use samling_kit::ids::parse_id;
use samling_kit::paging::Page;
use samling_kit::reference::MunicipalityCode;
use samling_kit::service::{Answer, Service};
use samling_proto::portfolio::v1::update_section_request::Section as Body;
use samling_proto::portfolio::v1::*;
use serde_json::json;

fn role_refused(ctx: &AuthContext, what: &str) -> PortfolioError {
    refused(
        Reason::ForbiddenRole,
        format!("a {} may not {what}", ctx.role.as_str()),
    )
}

/// Stamp a section's version and who changed it.
macro_rules! stamp {
    ($new:expr, $old:expr, $now:expr, $ctx:expr) => {{
        let mut s = $new;
        s.version = $old.as_ref().map(|o| o.version).unwrap_or(0) + 1;
        s.updated_at = $now;
        s.updated_by_role = $ctx.role.as_str().to_string();
        s
    }};
}

impl Portfolios {
    async fn load(&self, child_id: &str) -> R<Portfolio> {
        let id = parse_id("child_id", child_id)?.to_string();
        store::portfolios::get(&self.store.read, &id)
            .await?
            .ok_or_else(|| hidden(&id))
    }

    pub async fn get_portfolio(&self, ctx: &AuthContext, req: GetPortfolioRequest) -> R<Portfolio> {
        self.enter(ctx)?;
        let p = self.load(&req.child_id).await?;
        p.view(self, ctx).await
    }

    /// Open a child's portfolio: the placing municipality's caseworker or
    /// the office. Asking again answers the existing portfolio (through the
    /// caller's view).
    pub async fn open_portfolio(
        &self,
        ctx: &AuthContext,
        req: OpenPortfolioRequest,
    ) -> R<Portfolio> {
        self.enter(ctx)?;
        let child_id = parse_id("child_id", &req.child_id)?.to_string();
        let placing =
            MunicipalityCode::parse(req.placing_municipality_code.trim()).map_err(|_| {
                PortfolioError::invalid(
                    "placing_municipality_code",
                    "is not a Swedish municipality code",
                )
            })?;
        let birth = dates::from_proto("birth_date", req.birth_date.as_ref())?;
        if birth > self.clock.today() {
            return Err(PortfolioError::invalid(
                "birth_date",
                "must not be in the future",
            ));
        }
        let office = matches!(
            ctx.role,
            samling_kit::auth::Role::RegionalOfficer | samling_kit::auth::Role::Service
        );
        let own = ctx.role.is_municipal() && ctx.is_municipality(&placing);
        if !(office || own) {
            return Err(if ctx.role.is_municipal() {
                refused(
                    Reason::NotOwnMunicipality,
                    "placing_municipality_code: a municipality opens its own children's portfolios",
                )
            } else {
                role_refused(ctx, "open portfolios")
            });
        }
        let w = self
            .core()
            .begin(ctx, "OpenPortfolio", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        if let Some(existing) = store::portfolios::get(w.conn(), &child_id).await? {
            drop(w);
            return existing.view(self, ctx).await;
        }
        let now = self.now_text();
        let p = Portfolio {
            child_id: child_id.clone(),
            version: 1,
            placing_municipality_code: placing.as_str().to_string(),
            birth_date: req.birth_date,
            protected_identity: req.protected_identity,
            relations: Some(Relations::default()),
            created_at: now.clone(),
            updated_at: now,
            ..Default::default()
        };
        store::portfolios::save(w.conn(), &p, true).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "opened",
                "portfolio",
                &child_id,
                json!({"child_id": child_id, "placing_municipality_code": p.placing_municipality_code}),
            )
            .await?;
        w.finish(self, ctx, p).await
    }

    pub async fn update_section(
        &self,
        ctx: &AuthContext,
        req: UpdateSectionRequest,
    ) -> R<Portfolio> {
        self.enter(ctx)?;
        let child_id = parse_id("child_id", &req.child_id)?.to_string();
        let body = req
            .section
            .clone()
            .ok_or_else(|| PortfolioError::invalid("section", "one section is required"))?;
        let section = match &body {
            Body::AboutMe(_) => Section::AboutMe,
            Body::Health(_) => Section::Health,
            Body::Dental(_) => Section::Dental,
            Body::School(_) => Section::School,
            Body::Leisure(_) => Section::Leisure,
            Body::Documents(_) => Section::Documents,
            Body::Contacts(_) => Section::Contacts,
        };
        // Access before anything is replayed or validated.
        let current = self.load(&child_id).await?;
        let access = self.admitted(ctx, &current).await?;
        let rel = access.rel;
        if rules::may_write(rel, section) && !access.may_write(section) {
            return Err(stage_refused(
                access.stage,
                &format!(
                    "the {} section is not written",
                    rules::section_name(section)
                ),
            ));
        }
        if !access.may_write(section) {
            return Err(refused(
                Reason::ForbiddenRole,
                format!(
                    "a {} may not write the {} section",
                    ctx.role.as_str(),
                    rules::section_name(section)
                ),
            ));
        }
        let w = self
            .core()
            .begin(ctx, "UpdateSection", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let mut p = store::portfolios::get(w.conn(), &child_id)
            .await?
            .ok_or_else(|| hidden(&child_id))?;
        if Stage::of(&p) == Stage::Archived {
            // Archived since the access check.
            return Err(stage_refused(Stage::Archived, "nothing is written"));
        }
        let today = self.clock.today();
        let now = self.now_text();
        let current_version = match section {
            Section::AboutMe => p.about_me.as_ref().map(|s| s.version),
            Section::Health => p.health.as_ref().map(|s| s.version),
            Section::Dental => p.dental.as_ref().map(|s| s.version),
            Section::School => p.school.as_ref().map(|s| s.version),
            Section::Leisure => p.leisure.as_ref().map(|s| s.version),
            Section::Documents => p.documents.as_ref().map(|s| s.version),
            Section::Contacts => p.contacts.as_ref().map(|s| s.version),
            Section::Unspecified => None,
        }
        .unwrap_or(0);
        if req.expected_version != 0 && req.expected_version != current_version {
            return Err(PortfolioError::Conflict(format!(
                "expected_version: the {} section is at version {current_version}, not {}",
                rules::section_name(section),
                req.expected_version
            )));
        }
        match body {
            Body::AboutMe(s) => {
                sections::check_about_me(&s)?;
                p.about_me = Some(stamp!(s, p.about_me, now.clone(), ctx));
            }
            Body::Health(mut s) => {
                sections::check_health(&mut s, today)?;
                p.health = Some(stamp!(s, p.health, now.clone(), ctx));
            }
            Body::Dental(s) => {
                sections::check_dental(&s, today)?;
                p.dental = Some(stamp!(s, p.dental, now.clone(), ctx));
            }
            Body::School(s) => {
                sections::check_school(&s, today)?;
                p.school = Some(stamp!(s, p.school, now.clone(), ctx));
            }
            Body::Leisure(s) => {
                sections::check_leisure(&s)?;
                p.leisure = Some(stamp!(s, p.leisure, now.clone(), ctx));
            }
            Body::Documents(s) => {
                sections::check_documents(&s)?;
                p.documents = Some(stamp!(s, p.documents, now.clone(), ctx));
            }
            Body::Contacts(s) => {
                sections::check_contacts(&s)?;
                p.contacts = Some(stamp!(s, p.contacts, now.clone(), ctx));
            }
        }
        p.version += 1;
        p.updated_at = now;
        store::portfolios::save(w.conn(), &p, false).await?;
        // The write is logged under the section (the child's log shows it);
        // the event names the section only, never its content.
        w.audit(&ctx.audit("write", &record_type(section), &child_id))
            .await?;
        w.event(samling_kit::outbox::NewEvent::new(
            "portfolio.section_updated",
            "portfolio",
            child_id.clone(),
            json!({"child_id": child_id, "section": rules::section_name(section)}),
        ))
        .await?;
        w.finish(self, ctx, p).await
    }

    pub async fn set_relations(&self, ctx: &AuthContext, req: SetRelationsRequest) -> R<Portfolio> {
        self.enter(ctx)?;
        let child_id = parse_id("child_id", &req.child_id)?.to_string();
        let current = self.load(&child_id).await?;
        let access = self.admitted(ctx, &current).await?;
        if !rules::may_set_relations(access.rel) {
            return Err(role_refused(ctx, "set who works with the child"));
        }
        access.unless_archived("who works with the child is not set")?;
        let mut r = req
            .relations
            .clone()
            .ok_or_else(|| PortfolioError::invalid("relations", "is required"))?;
        if r.own_view_age != 0 && !(7..=18).contains(&r.own_view_age) {
            return Err(PortfolioError::invalid(
                "relations.own_view_age",
                "must be 0 (the configured age) or between 7 and 18",
            ));
        }
        for (name, list) in [
            ("relations.ombud_subjects", &r.ombud_subjects),
            ("relations.health_units", &r.health_units),
            ("relations.school_units", &r.school_units),
        ] {
            if list.len() > 20 {
                return Err(PortfolioError::invalid(name, "has more than 20 items"));
            }
            for (i, v) in list.iter().enumerate() {
                if v.trim().is_empty() || v.len() > 128 || v.chars().any(char::is_control) {
                    return Err(PortfolioError::invalid(
                        format!("{name}[{i}]"),
                        "must be an id of 1 to 128 characters",
                    ));
                }
            }
        }
        for (i, s) in r.sealed_sections.iter().enumerate() {
            if matches!(Section::try_from(*s), Err(_) | Ok(Section::Unspecified)) {
                return Err(PortfolioError::invalid(
                    format!("relations.sealed_sections[{i}]"),
                    "is not a section",
                ));
            }
        }
        r.sealed_sections.sort_unstable();
        r.sealed_sections.dedup();
        let w = self
            .core()
            .begin(ctx, "SetRelations", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let mut p = store::portfolios::get(w.conn(), &child_id)
            .await?
            .ok_or_else(|| hidden(&child_id))?;
        let sealed: Vec<&str> = r
            .sealed_sections
            .iter()
            .filter_map(|s| Section::try_from(*s).ok())
            .map(rules::section_name)
            .collect();
        let payload = json!({"child_id": child_id, "sealed_sections": sealed,
            "ombud_count": r.ombud_subjects.len(), "health_unit_count": r.health_units.len(),
            "school_unit_count": r.school_units.len()});
        p.relations = Some(r);
        p.version += 1;
        p.updated_at = self.now_text();
        store::portfolios::save(w.conn(), &p, false).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "relations_set",
                "portfolio.relations",
                &child_id,
                payload,
            )
            .await?;
        w.finish(self, ctx, p).await
    }

    /// Record what the child was told and understood (the placing
    /// caseworker, the office, the assigned ombud).
    pub async fn record_information(
        &self,
        ctx: &AuthContext,
        req: RecordInformationRequest,
    ) -> R<Portfolio> {
        self.enter(ctx)?;
        let child_id = parse_id("child_id", &req.child_id)?.to_string();
        // Access before anything is replayed or validated.
        let current = self.load(&child_id).await?;
        let access = self.admitted(ctx, &current).await?;
        if !rules::may_record_information(access.rel) {
            return Err(role_refused(ctx, "record what the child was told"));
        }
        access.unless_archived("nothing more is recorded")?;
        let mut record = information::check(&req, self.clock.today())?;
        let w = self
            .core()
            .begin(ctx, "RecordInformation", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let mut p = store::portfolios::get(w.conn(), &child_id)
            .await?
            .ok_or_else(|| hidden(&child_id))?;
        let mut info = p.information.take().unwrap_or_default();
        if info.records.len() >= information::MAX_RECORDS {
            return Err(refused(
                Reason::ResourceExhausted,
                format!(
                    "information: the portfolio keeps at most {} records of what the child was told",
                    information::MAX_RECORDS
                ),
            ));
        }
        let now = self.now_text();
        record.id = samling_kit::ids::new_id_string();
        record.recorded_by_role = ctx.role.as_str().to_string();
        record.recorded_at = now.clone();
        let payload = json!({
            "child_id": child_id,
            "information_id": record.id,
            "phase": InformationPhase::try_from(record.phase).map(|x| x.as_str_name()).unwrap_or_default(),
            "topic": InformationTopic::try_from(record.topic).map(|x| x.as_str_name()).unwrap_or_default(),
        });
        info.records.push(record);
        // Only the records are stored; the checklist is computed in the view.
        info.checklist.clear();
        info.complete_phases.clear();
        p.information = Some(info);
        p.version += 1;
        p.updated_at = now;
        store::portfolios::save(w.conn(), &p, false).await?;
        // Logged under `portfolio.information` (the child's log shows it);
        // the event names the phase and topic, never what was said.
        self.core()
            .record(
                &mut w,
                ctx,
                "information_recorded",
                "portfolio.information",
                &child_id,
                payload,
            )
            .await?;
        w.finish(self, ctx, p).await
    }

    /// Who read or wrote the portfolio and when: the child (from the
    /// own-view age), the placing caseworker, the office.
    pub async fn list_access_log(
        &self,
        ctx: &AuthContext,
        req: ListAccessLogRequest,
    ) -> R<ListAccessLogResponse> {
        self.enter(ctx)?;
        let p = self.load(&req.child_id).await?;
        let rel = self.admitted(ctx, &p).await?.rel;
        if !rules::may_read_log(rel) {
            return Err(role_refused(ctx, "read the portfolio's access log"));
        }
        let page = Page::from_request(req.page.as_ref())?;
        // The read of the log is itself logged (and listed) first.
        self.core()
            .audit(vec![ctx.audit("read", "portfolio.access_log", &p.child_id)])
            .await?;
        let (entries, page) = samling_kit::audit::list(&self.store, &p.child_id, &page).await?;
        let entries = entries
            .into_iter()
            .filter_map(|e| {
                let section = e.record_type.strip_prefix("portfolio")?;
                let section = section.strip_prefix('.').unwrap_or("portfolio").to_string();
                Some(AccessLogEntry {
                    at: e.at,
                    role: e.role,
                    subject: e.subject,
                    party: e.party,
                    action: e.action,
                    section,
                })
            })
            .collect();
        Ok(ListAccessLogResponse {
            entries,
            page: Some(page),
        })
    }

    /// The placements that gave homes access: the office, the placing
    /// caseworker and services.
    pub async fn list_home_access(
        &self,
        ctx: &AuthContext,
        req: ListHomeAccessRequest,
    ) -> R<ListHomeAccessResponse> {
        self.enter(ctx)?;
        let p = self.load(&req.child_id).await?;
        let rel = self.admitted(ctx, &p).await?.rel;
        if !matches!(
            rel,
            Relation::Office | Relation::PlacingCaseworker | Relation::Service
        ) {
            return Err(role_refused(ctx, "list the homes' access"));
        }
        let today = self.today_text();
        let rows = store::home_access::of_child(&self.store.read, &p.child_id).await?;
        self.core()
            .audit(vec![ctx.audit(
                "read",
                "portfolio.home_access",
                &p.child_id,
            )])
            .await?;
        let day = |s: &str| dates::parse_iso("", s).ok().map(dates::to_proto);
        Ok(ListHomeAccessResponse {
            placements: rows
                .into_iter()
                .map(|r| HomeAccess {
                    active: r.active_on(&today),
                    starts_on: day(&r.starts_on),
                    ends_on: day(&r.ends_on),
                    placement_id: r.placement_id,
                    home_id: r.home_id,
                })
                .collect(),
        })
    }

    /// Is the section sealed (for tests and the gateway's docs)?
    pub fn sealed(p: &Portfolio, s: Section) -> bool {
        is_sealed(p, s)
    }
}
