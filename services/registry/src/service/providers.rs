//! Agencies (konsulentverksamheter) and HVB/other units.

use super::{R, Registry};
use crate::domain::RegistryError;
use crate::domain::access;
use crate::domain::home::normalise_tags;
use crate::store::{self, ColumnValue};
use samling_kit::auth::AuthContext;
use samling_kit::paging::Page;
use samling_kit::reference::MunicipalityCode;
use samling_kit::{dates, ids};
use samling_proto::common::v1::Money;
use samling_proto::registry::v1::*;
use serde_json::json;
use sqlx::Row;

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
        let (mut tx, key) = begin!(self, ctx, "CreateAgency", req);
        replay!(self, ctx, tx, key);
        let now = dates::now_text();
        let a = Agency {
            id: ids::new_id_string(),
            version: 1,
            name: req.name.trim().into(),
            org_number: org.clone(),
            municipality_code: m.as_str().into(),
            permit_valid: permit_valid(permit.as_ref()),
            permit,
            prices,
            home_count: 0,
            created_at: now.clone(),
            updated_at: now,
        };
        store::save_simple(
            tx.conn(),
            "agencies",
            &a.id,
            &[("org_number", ColumnValue::Text(org))],
            &a,
            true,
        )
        .await?;
        self.record(
            &mut tx,
            ctx,
            "agency_created",
            "agency",
            &a.id,
            json!({"agency_id": a.id, "permit_valid": a.permit_valid}),
        )
        .await?;
        self.finish(ctx, tx, key, a).await
    }

    async fn with_home_count(&self, mut a: Agency) -> R<Agency> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM homes WHERE agency_id = $1 AND status <> 'HOME_STATUS_ENDED'",
        )
        .bind(&a.id)
        .fetch_one(&self.store.read)
        .await?;
        a.home_count = row.try_get::<i64, _>(0)? as i32;
        a.permit_valid = permit_valid(a.permit.as_ref());
        Ok(a)
    }

    pub async fn get_agency(&self, ctx: &AuthContext, id: &str) -> R<Agency> {
        access::read_providers(ctx)?;
        ids::parse_id("agency_id", id)?;
        let a = store::must_load(&self.store.read, "agencies", "agency", id).await?;
        self.with_home_count(a).await
    }

    pub async fn list_agencies(
        &self,
        ctx: &AuthContext,
        req: &ListAgenciesRequest,
    ) -> R<ListAgenciesResponse> {
        access::read_providers(ctx)?;
        let page = Page::from_request(req.page.as_ref())?;
        let rows = sqlx::query("SELECT doc FROM agencies WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(page.after.clone().unwrap_or_default())
            .bind(page.limit())
            .fetch_all(&self.store.read)
            .await?;
        let mut list = Vec::new();
        for r in rows {
            list.push(
                self.with_home_count(store::decode(&r.try_get::<String, _>(0)?)?)
                    .await?,
            );
        }
        let (agencies, page) = page.finish(list, |a| a.id.clone());
        Ok(ListAgenciesResponse {
            agencies,
            page: Some(page),
        })
    }

    pub async fn update_agency(&self, ctx: &AuthContext, req: UpdateAgencyRequest) -> R<Agency> {
        access::manage_register(ctx)?;
        ids::parse_id("agency_id", &req.agency_id)?;
        let permit = permit("permit", req.permit.as_ref())?;
        let prices = prices(req.prices.as_ref())?;
        let (mut tx, key) = begin!(self, ctx, "UpdateAgency", req);
        replay!(self, ctx, tx, key);
        let mut a: Agency =
            store::must_load(tx.conn(), "agencies", "agency", &req.agency_id).await?;
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
        a.permit_valid = permit_valid(a.permit.as_ref());
        store::save_simple(
            tx.conn(),
            "agencies",
            &a.id,
            &[("org_number", ColumnValue::Text(a.org_number.clone()))],
            &a,
            false,
        )
        .await?;
        self.record(
            &mut tx,
            ctx,
            "agency_updated",
            "agency",
            &a.id,
            json!({"agency_id": a.id, "permit_valid": a.permit_valid}),
        )
        .await?;
        self.finish(ctx, tx, key, a).await
    }

    // ------------------------------------------------------------- units

    pub(super) fn unit_columns(u: &Unit) -> Vec<(&'static str, ColumnValue)> {
        let tags: String = u
            .orientation
            .iter()
            .map(|o| format!("|{o}"))
            .collect::<String>()
            + "|";
        vec![
            (
                "municipality_code",
                ColumnValue::Text(u.municipality_code.clone()),
            ),
            ("vacancies", ColumnValue::Int(i64::from(u.vacancies))),
            ("tags", ColumnValue::Text(tags)),
        ]
    }

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
        let permit = permit("permit", req.permit.as_ref())?;
        if !req.agency_id.is_empty() {
            ids::parse_id("agency_id", &req.agency_id)?;
        }
        let (mut tx, key) = begin!(self, ctx, "CreateUnit", req);
        replay!(self, ctx, tx, key);
        if !req.agency_id.is_empty() {
            let a: Option<Agency> = store::load_doc(tx.conn(), "agencies", &req.agency_id).await?;
            if a.is_none() {
                return Err(RegistryError::invalid("agency_id", "no such agency"));
            }
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
        };
        store::save_simple(tx.conn(), "units", &u.id, &Self::unit_columns(&u), &u, true).await?;
        self.record(&mut tx, ctx, "unit_created", "unit", &u.id, json!({"unit_id": u.id, "kind": kind.as_str_name(), "municipality_code": u.municipality_code}))
            .await?;
        self.finish(ctx, tx, key, u).await
    }

    pub async fn get_unit(&self, ctx: &AuthContext, id: &str) -> R<Unit> {
        access::read_providers(ctx)?;
        ids::parse_id("unit_id", id)?;
        store::must_load(&self.store.read, "units", "unit", id).await
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
            let t = normalise_tags("orientation", std::slice::from_ref(&req.orientation))?;
            format!("%|{}|%", store::like_escape(&t[0]))
        };
        let rows = sqlx::query(
            "SELECT doc FROM units WHERE ($1 = '' OR municipality_code = $1) AND ($2 = 0 OR vacancies > 0) \
             AND ($3 = '' OR tags LIKE $3 ESCAPE '\\') AND id > $4 ORDER BY id LIMIT $5",
        )
        .bind(&req.municipality_code)
        .bind(i64::from(req.with_vacancy_only))
        .bind(orientation)
        .bind(page.after.clone().unwrap_or_default())
        .bind(page.limit())
        .fetch_all(&self.store.read)
        .await?;
        let list = store::decode_rows::<Unit>(&rows)?;
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
        let mut u: Unit = store::must_load(tx.conn(), "units", "unit", id).await?;
        let extra = f(&mut u)?;
        u.version += 1;
        store::save_simple(
            tx.conn(),
            "units",
            &u.id,
            &Self::unit_columns(&u),
            &u,
            false,
        )
        .await?;
        self.record(tx, ctx, change, "unit", &u.id, extra).await?;
        Ok(u)
    }

    pub async fn update_vacancies(
        &self,
        ctx: &AuthContext,
        req: UpdateVacanciesRequest,
    ) -> R<Unit> {
        access::manage_register(ctx)?;
        let (mut tx, key) = begin!(self, ctx, "UpdateVacancies", req);
        replay!(self, ctx, tx, key);
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
        self.finish(ctx, tx, key, u).await
    }

    pub async fn record_inspection(
        &self,
        ctx: &AuthContext,
        req: RecordInspectionRequest,
    ) -> R<Unit> {
        access::manage_register(ctx)?;
        let on = dates::from_proto("inspected_on", req.inspected_on.as_ref())?;
        if req.authority.trim().is_empty() {
            return Err(RegistryError::invalid("authority", "is required"));
        }
        let (mut tx, key) = begin!(self, ctx, "RecordInspection", req);
        replay!(self, ctx, tx, key);
        let u = self
            .change_unit(
                ctx,
                &mut tx,
                &req.unit_id,
                "unit_inspection_recorded",
                |u| {
                    let id = ids::new_id_string();
                    u.inspections.push(Inspection {
                        id: id.clone(),
                        inspected_on: Some(dates::to_proto(on)),
                        authority: req.authority.trim().into(),
                        report_ref: req.report_ref.clone(),
                        summary: req.summary.clone(),
                        remarks: req.remarks,
                    });
                    Ok(json!({"unit_id": u.id, "inspection_id": id, "remarks": req.remarks}))
                },
            )
            .await?;
        self.finish(ctx, tx, key, u).await
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
