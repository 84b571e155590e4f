//! Interop (issue 22 §7, ADR 0041): the health section exported as an HL7
//! FHIR R4 IPS-style document Bundle, and school data imported from an
//! SS 12000-style JSON document.

use super::access::{hidden, is_sealed, record_type, refused};
use super::{Portfolios, R};
use crate::domain::access::{self as rules, Relation};
use crate::domain::{PortfolioError, fhir, school_import, sections};
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::error::Reason;
use samling_kit::ids::parse_id;
use samling_kit::service::Service;
use samling_proto::portfolio::v1::*;
use serde_json::json;

/// What the access log calls an export of the health section.
pub const HEALTH_FHIR: &str = "portfolio.health_fhir";

samling_kit::plain_answer!(Portfolios;
    // Ids and versions only: what the caller sent and wrote.
    ImportSchoolDataResponse => "portfolio.school_import", |a| a.children.first().map(|c| c.child_id.clone()).unwrap_or_default();
);

impl Portfolios {
    /// The health section as a FHIR document Bundle: for those who may read
    /// the health section, through the same view (a protected child's care
    /// unit withheld), logged as a read before the answer.
    pub async fn export_health_fhir(
        &self,
        ctx: &AuthContext,
        req: ExportHealthFhirRequest,
    ) -> R<FhirDocument> {
        self.enter(ctx)?;
        let id = parse_id("child_id", &req.child_id)?.to_string();
        let p = store::portfolios::get(&self.store.read, &id)
            .await?
            .ok_or_else(|| hidden(&id))?;
        let access = self.admitted(ctx, &p).await?;
        let sealed = is_sealed(&p, Section::Health);
        if !access.may_read(Section::Health, sealed) {
            // The relation reads health, the retention stage does not (ADR 0043).
            if rules::may_read(access.rel, Section::Health, sealed) {
                return Err(super::access::stage_refused(
                    access.stage,
                    "the health section is not read in this stage",
                ));
            }
            return Err(refused(
                Reason::ForbiddenRole,
                format!("a {} may not read the health section", ctx.role.as_str()),
            ));
        }
        let (view, _) = self.view_for(access, p).await?;
        self.core()
            .audit(vec![ctx.audit("read", HEALTH_FHIR, &id)])
            .await?;
        let region = self.region.as_ref().map(|r| r.as_str()).unwrap_or("");
        let bundle = fhir::health_bundle(
            &view,
            &self.now_text(),
            region,
            samling_kit::ids::new_id_string,
        );
        Ok(FhirDocument {
            child_id: id,
            media_type: fhir::MEDIA_TYPE.into(),
            bundle_json: bundle.to_string(),
            location_redacted: view.location_redacted,
        })
    }

    /// School data from an SS 12000-style document: every placed person is
    /// a child whose school section the caller may write; each one's current
    /// school unit and class replace those of the section (the rest of it
    /// kept), all in one transaction, or nothing when anything is bad.
    pub async fn import_school_data(
        &self,
        ctx: &AuthContext,
        req: ImportSchoolDataRequest,
    ) -> R<ImportSchoolDataResponse> {
        self.enter(ctx)?;
        // Only those who may write some child's school section import.
        if !(ctx.role.is_municipal()
            || matches!(ctx.role, Role::RegionalOfficer | Role::SchoolStaff))
        {
            return Err(refused(
                Reason::ForbiddenRole,
                format!("a {} may not import school data", ctx.role.as_str()),
            ));
        }
        let today = self.clock.today();
        let persons = school_import::parse(&req.document_json, today)?;
        // Access to every child before anything is replayed or written: an
        // unknown child and one the caller may not write are told alike.
        for person in &persons {
            let refuse = || {
                PortfolioError::invalid(
                    format!("{}.id", person.path),
                    "no portfolio whose school section you may write",
                )
            };
            let p = store::portfolios::get(&self.store.read, &person.child_id)
                .await?
                .ok_or_else(refuse)?;
            let rel = self.relation(ctx, &p).await?;
            if matches!(rel, Relation::Stranger) || !rules::may_write(rel, Section::School) {
                return Err(refuse());
            }
            // The retention stage as for any write of the school section
            // (ADR 0043): an archived portfolio is not written.
            let (stage, adult) = self.stage_now(&p).await?;
            if !rules::may_write_in(rel, stage, adult, Section::School) {
                return Err(refuse());
            }
            if let Some(civic) = person.civic_birth_date {
                let birth =
                    samling_kit::dates::opt_from_proto("birth_date", p.birth_date.as_ref())?;
                if birth.is_some_and(|b| b != civic) {
                    return Err(PortfolioError::invalid(
                        format!("{}.civicNo.value", person.path),
                        "does not match the child's birth date",
                    ));
                }
            }
        }
        let w = self
            .core()
            .begin(ctx, "ImportSchoolData", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let now = self.now_text();
        let mut children = Vec::new();
        for person in &persons {
            let Some(current) = &person.current else {
                continue;
            };
            let mut p = store::portfolios::get(w.conn(), &person.child_id)
                .await?
                .ok_or_else(|| hidden(&person.child_id))?;
            let old = p.school.clone();
            let mut s = old.clone().unwrap_or_default();
            s.school_unit_code = current.school_unit_code.clone();
            s.school_unit_name = current.school_unit_name.clone();
            s.class_name = current.class_name.clone();
            sections::check_school(&s, today).map_err(|e| match e {
                PortfolioError::Invalid { message, .. } => {
                    PortfolioError::invalid(format!("{}.id", person.path), message)
                }
                e => e,
            })?;
            s.version = old.as_ref().map(|o| o.version).unwrap_or(0) + 1;
            s.updated_at = now.clone();
            s.updated_by_role = ctx.role.as_str().to_string();
            let version = s.version;
            p.school = Some(s);
            p.version += 1;
            p.updated_at = now.clone();
            store::portfolios::save(w.conn(), &p, false).await?;
            // Logged and announced as any write of the school section.
            w.audit(&ctx.audit("write", &record_type(Section::School), &p.child_id))
                .await?;
            w.event(samling_kit::outbox::NewEvent::new(
                "portfolio.section_updated",
                "portfolio",
                p.child_id.clone(),
                json!({"child_id": p.child_id, "section": rules::section_name(Section::School)}),
            ))
            .await?;
            children.push(SchoolImported {
                child_id: p.child_id,
                placement_id: current.placement_id.clone(),
                school_version: version,
            });
        }
        w.finish(self, ctx, ImportSchoolDataResponse { children })
            .await
    }
}
