//! Agencies (konsulentverksamheter) and HVB/other units.

use super::{R, Registry};
use crate::domain::RegistryError;
use crate::domain::access;
use crate::domain::home::normalise_tags;
use crate::store;
use samling_kit::auth::AuthContext;
use samling_kit::paging::Page;
use samling_kit::reference::MunicipalityCode;
use samling_kit::{dates, ids};
use samling_proto::common::v1::Money;
use samling_proto::registry::v1::*;
use serde_json::json;

fn municipality(field: &str, s: &str) -> R<MunicipalityCode> {
    MunicipalityCode::parse(s).map_err(|e| RegistryError::invalid(field, e.to_string()))
}

/// Organisationsnummer: 10 digits with a Luhn check digit (same rule as personnummer).
fn org_number(s: &str) -> R<String> {
    let digits: String = s.chars().filter(|c| *c != '-').collect();
    if digits.len() != 10 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(RegistryError::invalid(
            "org_number",
            "must be 10 digits (NNNNNN-NNNN)",
        ));
    }
    let d: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
    if samling_kit::personnummer::luhn_check_digit(&d[..9]) != d[9] {
        return Err(RegistryError::invalid(
            "org_number",
            "check digit does not match",
        ));
    }
    Ok(format!("{}-{}", &digits[..6], &digits[6..]))
}

/// A unit's switchboard number: digits, spaces, hyphens and a leading `+`,
/// 6–20 digits ("" for none).
fn contact_phone(s: &str) -> R<String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(String::new());
    }
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let shape = s
        .char_indices()
        .all(|(i, c)| c.is_ascii_digit() || c == ' ' || c == '-' || (c == '+' && i == 0));
    if !shape || !(6..=20).contains(&digits) {
        return Err(RegistryError::invalid(
            "contact_phone",
            "must be a phone number: 6–20 digits, spaces, hyphens, a leading +",
        ));
    }
    Ok(s.to_string())
}

/// A unit's functional mailbox ("" for none): one `@`, no spaces, ≤ 254.
fn contact_email(s: &str) -> R<String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(String::new());
    }
    crate::domain::home::check_plain("contact_email", s)?;
    let ok = s.len() <= 254
        && !s.chars().any(char::is_whitespace)
        && s.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if !ok {
        return Err(RegistryError::invalid(
            "contact_email",
            "must be an e-mail address (name@domain)",
        ));
    }
    Ok(s.to_lowercase())
}

fn permit(field: &str, p: Option<&IvoPermit>) -> R<Option<IvoPermit>> {
    let Some(p) = p else { return Ok(None) };
    if p.permit_number.trim().is_empty() {
        return Err(RegistryError::invalid(
            format!("{field}.permit_number"),
            "is required",
        ));
    }
    let from = dates::from_proto(&format!("{field}.valid_from"), p.valid_from.as_ref())?;
    if let Some(until) =
        dates::opt_from_proto(&format!("{field}.valid_until"), p.valid_until.as_ref())?
        && until < from
    {
        return Err(RegistryError::invalid(
            format!("{field}.valid_until"),
            "is before valid_from",
        ));
    }
    Ok(Some(p.clone()))
}

/// Is the permit in force on `on` (the register's clock)?
fn permit_valid_on(p: Option<&IvoPermit>, on: chrono::NaiveDate) -> bool {
    crate::domain::restriction::permit_in_force(p, on)
}

/// Is the permit in force today?
pub fn permit_valid(p: Option<&IvoPermit>) -> bool {
    let today = dates::today();
    p.is_some_and(|p| {
        !p.revoked
            && dates::opt_from_proto("", p.valid_from.as_ref())
                .ok()
                .flatten()
                .is_some_and(|f| f <= today)
            && dates::opt_from_proto("", p.valid_until.as_ref())
                .ok()
                .flatten()
                .is_none_or(|u| u >= today)
    })
}

fn prices(p: Option<&PriceSplit>) -> R<Option<PriceSplit>> {
    let Some(p) = p else { return Ok(None) };
    for (f, m) in [
        ("prices.fee_per_day", &p.fee_per_day),
        ("prices.expenses_per_day", &p.expenses_per_day),
        ("prices.administration_per_day", &p.administration_per_day),
    ] {
        if m.as_ref().is_none_or(|m: &Money| m.ore < 0) {
            return Err(RegistryError::invalid(
                f,
                "is required and must not be negative",
            ));
        }
    }
    Ok(Some(*p))
}

impl Registry {
    pub async fn create_agency(&self, ctx: &AuthContext, req: CreateAgencyRequest) -> R<Agency> {
        access::manage_register(ctx)?;
        if req.name.trim().is_empty() {
            return Err(RegistryError::invalid("name", "is required"));
        }
        crate::domain::home::check_plain("name", &req.name)?;
        let org = org_number(&req.org_number)?;
        let m = municipality("municipality_code", &req.municipality_code)?;
        let permit = permit("permit", req.permit.as_ref())?;
        let prices = prices(req.prices.as_ref())?;
        let tx = self
            .core
            .begin(ctx, "CreateAgency", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let now = dates::now_text();
        let a = Agency {
            id: ids::new_id_string(),
            version: 1,
            name: req.name.trim().into(),
            org_number: org,
            municipality_code: m.as_str().into(),
            permit_valid: permit_valid(permit.as_ref()),
            permit,
            prices,
            home_count: 0,
            created_at: now.clone(),
            updated_at: now,
            inspections: vec![],
            inspection_remarks: false,
        };
        store::agencies::save(tx.conn(), &a, true).await?;
        self.core
            .record(
                &mut tx,
                ctx,
                "agency_created",
                "agency",
                &a.id,
                json!({"agency_id": a.id, "permit_valid": a.permit_valid}),
            )
            .await?;
        tx.finish(self, ctx, a).await
    }

    async fn with_home_count(&self, mut a: Agency) -> R<Agency> {
        let count = store::homes::count_of_agency(&self.store.read, &a.id).await?;
        a.home_count = i32::try_from(count).unwrap_or(i32::MAX);
        a.permit_valid = permit_valid(a.permit.as_ref());
        a.inspection_remarks = crate::domain::evidence::latest_remarks(&a.inspections);
        Ok(a)
    }

    pub async fn get_agency(&self, ctx: &AuthContext, id: &str) -> R<Agency> {
        access::read_providers(ctx)?;
        ids::parse_id("agency_id", id)?;
        let a = store::agencies::must_get(&self.store.read, id).await?;
        self.with_home_count(a).await
    }

    pub async fn list_agencies(
        &self,
        ctx: &AuthContext,
        req: &ListAgenciesRequest,
    ) -> R<ListAgenciesResponse> {
        access::read_providers(ctx)?;
        let page = Page::from_request(req.page.as_ref())?;
        let found = if req.permit_invalid_only {
            self.agencies_without_permit(&page).await?
        } else {
            store::agencies::list(&self.store.read, &page).await?
        };
        let mut list = Vec::with_capacity(found.len());
        for a in found {
            list.push(self.with_home_count(a).await?);
        }
        let (agencies, page) = page.finish(list, |a| a.id.clone());
        Ok(ListAgenciesResponse {
            agencies,
            page: Some(page),
        })
    }

    /// One page of the agencies whose permit is not valid today, read in
    /// batches (see [`Registry::list_units`]).
    async fn agencies_without_permit(&self, page: &Page) -> R<Vec<Agency>> {
        let today = self.clock.today();
        let mut out = Vec::new();
        let mut scan = Page {
            size: 500,
            after: page.after.clone(),
        };
        loop {
            let batch = store::agencies::list(&self.store.read, &scan).await?;
            let done = (batch.len() as i64) < scan.limit();
            scan.after = batch.last().map(|a| a.id.clone());
            out.extend(
                batch
                    .into_iter()
                    .filter(|a| !permit_valid_on(a.permit.as_ref(), today)),
            );
            if done || out.len() as i64 >= page.limit() {
                break;
            }
        }
        out.truncate(page.limit() as usize);
        Ok(out)
    }

    pub async fn update_agency(&self, ctx: &AuthContext, req: UpdateAgencyRequest) -> R<Agency> {
        access::manage_register(ctx)?;
        ids::parse_id("agency_id", &req.agency_id)?;
        let permit = permit("permit", req.permit.as_ref())?;
        let prices = prices(req.prices.as_ref())?;
        let tx = self
            .core
            .begin(ctx, "UpdateAgency", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let mut a = store::agencies::must_get(tx.conn(), &req.agency_id).await?;
        if !req.name.trim().is_empty() {
            crate::domain::home::check_plain("name", &req.name)?;
            a.name = req.name.trim().into();
        }
        if permit.is_some() {
            a.permit = permit;
        }
        if prices.is_some() {
            a.prices = prices;
        }
        a.version += 1;
        a.updated_at = dates::now_text();
        let was_valid = a.permit_valid;
        a.permit_valid = permit_valid(a.permit.as_ref());
        store::agencies::save(tx.conn(), &a, false).await?;
        // Revoked (or lapsed) now: the municipalities with children placed
        // in its homes are told, placement by placement (ADR 0026).
        if was_valid && !a.permit_valid {
            self.notify_agency_permit_invalid(&mut tx, &a.id).await?;
        }
        self.core
            .record(
                &mut tx,
                ctx,
                "agency_updated",
                "agency",
                &a.id,
                json!({"agency_id": a.id, "permit_valid": a.permit_valid}),
            )
            .await?;
        tx.finish(self, ctx, a).await
    }

    // ------------------------------------------------------------- units

    pub async fn create_unit(&self, ctx: &AuthContext, req: CreateUnitRequest) -> R<Unit> {
        access::manage_register(ctx)?;
        if req.name.trim().is_empty() {
            return Err(RegistryError::invalid("name", "is required"));
        }
        crate::domain::home::check_plain("name", &req.name)?;
        let kind = UnitKind::try_from(req.kind)
            .ok()
            .filter(|k| *k != UnitKind::Unspecified)
            .ok_or_else(|| RegistryError::invalid("kind", "is required"))?;
        let m = municipality("municipality_code", &req.municipality_code)?;
        self.check_in_region("municipality_code", m.as_str())?;
        if !(1..=500).contains(&req.places) {
            return Err(RegistryError::invalid("places", "must be 1–500"));
        }
        let orientation = normalise_tags("orientation", &req.orientation)?;
        let target_groups = normalise_tags("target_groups", &req.target_groups)?;
        let phone = contact_phone(&req.contact_phone)?;
        let email = contact_email(&req.contact_email)?;
        let permit = permit("permit", req.permit.as_ref())?;
        if !req.agency_id.is_empty() {
            ids::parse_id("agency_id", &req.agency_id)?;
        }
        let tx = self
            .core
            .begin(ctx, "CreateUnit", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        if !req.agency_id.is_empty()
            && store::agencies::get(tx.conn(), &req.agency_id)
                .await?
                .is_none()
        {
            return Err(RegistryError::invalid("agency_id", "no such agency"));
        }
        let now = dates::now_text();
        let u = Unit {
            id: ids::new_id_string(),
            version: 1,
            name: req.name.trim().into(),
            kind: kind as i32,
            municipality_code: m.as_str().into(),
            region_id: self.regions.region_of(m).as_str().into(),
            agency_id: req.agency_id.clone(),
            orientation,
            places: req.places,
            vacancies: 0,
            vacancies_updated_at: now.clone(),
            permit,
            inspections: vec![],
            placed_count: 0,
            created_at: now,
            inspection_remarks: false,
            target_groups,
            contact_phone: phone,
            contact_email: email,
        };
        store::units::save(tx.conn(), &u, true).await?;
        self.core.record(&mut tx, ctx, "unit_created", "unit", &u.id, json!({"unit_id": u.id, "kind": kind.as_str_name(), "municipality_code": u.municipality_code}))
            .await?;
        tx.finish(self, ctx, u).await
    }

    pub async fn get_unit(&self, ctx: &AuthContext, id: &str) -> R<Unit> {
        access::read_providers(ctx)?;
        ids::parse_id("unit_id", id)?;
        store::units::must_get(&self.store.read, id).await
    }

    pub async fn list_units(
        &self,
        ctx: &AuthContext,
        req: &ListUnitsRequest,
    ) -> R<ListUnitsResponse> {
        access::read_providers(ctx)?;
        let page = Page::from_request(req.page.as_ref())?;
        if !req.municipality_code.is_empty() {
            municipality("municipality_code", &req.municipality_code)?;
        }
        let orientation = if req.orientation.is_empty() {
            String::new()
        } else {
            normalise_tags("orientation", std::slice::from_ref(&req.orientation))?
                .pop()
                .unwrap_or_default()
        };
        let target_group = if req.target_group.is_empty() {
            String::new()
        } else {
            normalise_tags("target_group", std::slice::from_ref(&req.target_group))
                .map_err(|_| {
                    RegistryError::invalid(
                        "target_group",
                        "must be 1–64 letters, digits, '-', '_' or spaces",
                    )
                })?
                .pop()
                .unwrap_or_default()
        };
        // Filters the store has no column for (permit validity depends on
        // the day; target groups live in the document): the units are read
        // in batches and filtered here (a region has hundreds, not millions).
        let filtered = req.permit_invalid_only || !target_group.is_empty();
        let mut list = Vec::new();
        let mut scan = Page {
            size: if filtered { 500 } else { page.size },
            after: page.after.clone(),
        };
        loop {
            let batch = store::units::list(
                &self.store.read,
                &req.municipality_code,
                req.with_vacancy_only,
                &orientation,
                &scan,
            )
            .await?;
            let done = (batch.len() as i64) < scan.limit();
            scan.after = batch.last().map(|u| u.id.clone());
            list.extend(batch.into_iter().filter(|u| {
                (!req.permit_invalid_only
                    || !permit_valid_on(u.permit.as_ref(), self.clock.today()))
                    && (target_group.is_empty() || u.target_groups.contains(&target_group))
            }));
            if !filtered || done || list.len() as i64 >= page.limit() {
                break;
            }
        }
        list.truncate(page.limit() as usize);
        let (units, page) = page.finish(list, |u| u.id.clone());
        Ok(ListUnitsResponse {
            units,
            page: Some(page),
        })
    }

    async fn change_unit(
        &self,
        ctx: &AuthContext,
        tx: &mut samling_kit::tx::WriteTx,
        id: &str,
        change: &str,
        f: impl FnOnce(&mut Unit) -> R<serde_json::Value>,
    ) -> R<Unit> {
        ids::parse_id("unit_id", id)?;
        let mut u = store::units::must_get(tx.conn(), id).await?;
        let extra = f(&mut u)?;
        u.version += 1;
        store::units::save(tx.conn(), &u, false).await?;
        self.core
            .record(tx, ctx, change, "unit", &u.id, extra)
            .await?;
        Ok(u)
    }

    pub async fn update_vacancies(
        &self,
        ctx: &AuthContext,
        req: UpdateVacanciesRequest,
    ) -> R<Unit> {
        // The unit's own staff or the office, before anything is read or
        // a retry replayed.
        access::report_vacancies(ctx, &req.unit_id)?;
        let tx = self
            .core
            .begin(ctx, "UpdateVacancies", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let u = self
            .change_unit(ctx, &mut tx, &req.unit_id, "unit_vacancies_changed", |u| {
                if req.vacancies < 0 || req.vacancies > u.places {
                    return Err(RegistryError::invalid(
                        "vacancies",
                        format!("must be 0–{}", u.places),
                    ));
                }
                u.vacancies = req.vacancies;
                u.vacancies_updated_at = dates::now_text();
                Ok(json!({"unit_id": u.id, "vacancies": u.vacancies}))
            })
            .await?;
        tx.finish(self, ctx, u).await
    }

    pub async fn record_inspection(
        &self,
        ctx: &AuthContext,
        req: RecordInspectionRequest,
    ) -> R<Unit> {
        access::record_inspection(ctx)?;
        let v = super::ivo::validate_inspection(
            ctx,
            req.inspected_on.as_ref(),
            &req.authority,
            &req.report_ref,
            &req.summary,
            &req.findings,
            self.clock.today(),
        )?;
        let tx = self
            .core
            .begin(ctx, "RecordInspection", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let u = self
            .change_unit(
                ctx,
                &mut tx,
                &req.unit_id,
                "unit_inspection_recorded",
                |u| {
                    let i = super::ivo::inspection(ctx, v, req.remarks, req.unannounced);
                    let extra = json!({"unit_id": u.id, "inspection_id": i.id, "authority": i.authority,
                                       "unannounced": i.unannounced, "remarks": i.remarks,
                                       "findings": i.findings.len()});
                    u.inspections.push(i);
                    u.inspection_remarks = crate::domain::evidence::latest_remarks(&u.inspections);
                    Ok(extra)
                },
            )
            .await?;
        tx.finish(self, ctx, u).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_org_number_needs_its_check_digit() {
        assert_eq!(org_number("5560160680").unwrap(), "556016-0680");
        assert!(org_number("556016-0681").is_err());
        assert!(org_number("55601606").is_err());
    }
}
