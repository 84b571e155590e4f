//! Inquiries: the public form and its token, staff intake, the first response, overdue inquiries, withdrawal (erasure), campaigns.

use super::cases::{case_visible, is_office, may_read_cases, office_only};
use super::{R, Recruitment};
use crate::domain::events;
use crate::domain::form::{self, FormTokens};
use crate::domain::inquiry::{self, NewCase};
use crate::domain::{RecruitmentError, Rules, withdrawal};
use crate::store;
use crate::store::cases::CaseFilter;
use chrono::NaiveDate;
use samling_kit::auth::AuthContext;
use samling_kit::dates;
use samling_kit::paging::Page;
use samling_kit::reference::MunicipalityCode;
use samling_kit::service::Service;
use samling_proto::recruitment::v1::*;
use serde_json::json;
use std::path::Path;

/// The privacy-notice versions the public form accepts: the current one
/// first (shown with new tokens), then the previous one for forms opened
/// before a change.
pub const PRIVACY_NOTICES: &[&str] = &["2026-1"];

/// An event type's change name (`recruitment.inquiry_received` → `inquiry_received`).
pub(crate) fn change_of(event_type: &'static str) -> &'static str {
    event_type
        .strip_prefix("recruitment.")
        .unwrap_or(event_type)
}

// The receipt and campaigns hold no personal data.
samling_kit::plain_answer! { Recruitment;
    InquiryReceipt => "case_reference", |r| r.reference.clone();
    Campaign => "campaign", |c| c.id.clone();
}

/// The form-token key from `path` (hex, ≥ 32 bytes); when the file is
/// absent and `create` is set, a new random key is written there (0600).
pub fn load_form_key(path: &Path, create: bool) -> Result<Vec<u8>, RecruitmentError> {
    let bad = |m: String| RecruitmentError::invalid("form_token_key_file", m);
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = hex::decode(text.trim())
                .map_err(|_| bad(format!("{} is not hex", path.display())))?;
            if key.len() < 32 {
                return Err(bad(format!(
                    "{} holds {} bytes; at least 32 are needed",
                    path.display(),
                    key.len()
                )));
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            let mut key = vec![0u8; 32];
            super::fill_random(&mut key);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| bad(format!("create {}: {e}", dir.display())))?;
            }
            write_private(path, &hex::encode(&key))
                .map_err(|e| bad(format!("write {}: {e}", path.display())))?;
            Ok(key)
        }
        Err(e) => Err(bad(format!("read {}: {e}", path.display()))),
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// The configured form tokens: the key file (created under the data dir
/// when not configured and absent).
pub fn form_tokens(
    cfg: &samling_kit::config::Config,
    conf: &crate::config::RecruitmentConfig,
    rules: &Rules,
) -> Result<FormTokens, RecruitmentError> {
    let (path, create) = match &conf.form_token_key_file {
        Some(p) => (p.clone(), false),
        None => (cfg.data_dir.join("keys").join("recruitment-form.key"), true),
    };
    let key = load_form_key(&path, create)?;
    FormTokens::new(&key, &[], rules)
}

impl Recruitment {
    /// The region a municipality's case belongs to; refused (naming
    /// `field`) when this office serves another region.
    fn region_for(&self, field: &str, m: MunicipalityCode) -> R<String> {
        let r = self.regions.region_of(m);
        if let Some(own) = &self.region
            && own != r
        {
            return Err(RecruitmentError::invalid(
                field,
                format!("is in region {r}; this is the office of region {own}"),
            ));
        }
        Ok(r.as_str().to_string())
    }

    /// A case's reference, from random bits.
    fn new_reference() -> String {
        let mut b = [0u8; 5];
        super::fill_random(&mut b);
        inquiry::reference_code(b)
    }

    pub async fn issue_inquiry_form_token(
        &self,
        ctx: &AuthContext,
        _req: IssueInquiryFormTokenRequest,
    ) -> R<InquiryFormToken> {
        public_or_office(ctx)?;
        let mut nonce = [0u8; 16];
        super::fill_random(&mut nonce);
        let t = self.form_tokens.issue(self.clock.now(), nonce);
        Ok(InquiryFormToken {
            token: t.token,
            issued_at: dates::instant_text(t.issued_at),
            expires_at: dates::instant_text(t.expires_at),
            min_fill_seconds: t.min_fill_seconds,
            privacy_notice_version: PRIVACY_NOTICES[0].to_string(),
        })
    }

    pub async fn submit_public_inquiry(
        &self,
        ctx: &AuthContext,
        req: SubmitPublicInquiryRequest,
    ) -> R<InquiryReceipt> {
        public_or_office(ctx)?;
        let now = self.clock.now();
        let sub = form::check_public_submission(&req, &self.form_tokens, now, PRIVACY_NOTICES)?;
        let region_id = self.region_for("inquiry.municipality_code", sub.inquiry.municipality)?;
        let w = self
            .core()
            .begin(ctx, "SubmitPublicInquiry", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let now_text = dates::instant_text(now);
        store::form_nonces::sweep(w.conn(), &now_text).await?;
        let fresh = store::form_nonces::take(
            w.conn(),
            &sub.token.nonce,
            &dates::instant_text(sub.token.expires_at),
        )
        .await?;
        if !fresh {
            return Err(RecruitmentError::invalid(
                "form_token",
                "has already been used; reload the form to send another inquiry",
            ));
        }
        let today = self.clock.today();
        let campaign = match &sub.campaign_code {
            Some(code) => store::campaigns::by_code(w.conn(), code)
                .await?
                .filter(|c| campaign_running(c, today)),
            None => None,
        };
        let consent = inquiry::consent(
            LawfulBasis::Consent as i32,
            &sub.privacy_notice_version,
            sub.future_contact,
            &now_text,
        )?;
        let case = inquiry::open_case(
            sub.inquiry,
            NewCase {
                id: samling_kit::ids::new_id_string(),
                reference: Self::new_reference(),
                track: Track::Standard,
                route: IntakeRoute::PublicForm,
                region_id,
                channel: sub.channel,
                campaign_id: campaign.map(|c| c.id),
                consent,
                received_on: today,
                now_text: now_text.clone(),
                owner: String::new(),
                placement_need_id: None,
                network_alternative_id: None,
            },
            &self.rules,
        );
        store::cases::save(w.conn(), &case, true).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                change_of(events::INQUIRY_RECEIVED),
                "case",
                &case.id,
                inquiry_payload(&case),
            )
            .await?;
        w.finish(self, ctx, inquiry::receipt(&case)).await
    }

    pub async fn create_inquiry(&self, ctx: &AuthContext, req: CreateInquiryRequest) -> R<Case> {
        office_only(
            ctx,
            "enter an inquiry (the public form is SubmitPublicInquiry)",
        )?;
        let draft = req
            .inquiry
            .as_ref()
            .ok_or_else(|| RecruitmentError::invalid("inquiry", "is required"))?;
        let valid = inquiry::validate("inquiry", draft, IntakeRoute::Staff)?;
        let channel = Channel::try_from(req.channel)
            .ok()
            .filter(|c| *c != Channel::Unspecified)
            .ok_or_else(|| RecruitmentError::invalid("channel", "is required"))?;
        let campaign_id = crate::domain::text::opt_id("campaign_id", &req.campaign_id)?;
        let now_text = self.now_text();
        let consent = inquiry::consent(
            req.lawful_basis,
            &req.privacy_notice_version,
            req.future_contact,
            &now_text,
        )?;
        let today = self.clock.today();
        let received =
            dates::opt_from_proto("received_on", req.received_on.as_ref())?.unwrap_or(today);
        if received > today {
            return Err(RecruitmentError::invalid("received_on", "is in the future"));
        }
        let region_id = self.region_for("inquiry.municipality_code", valid.municipality)?;
        let w = self
            .core()
            .begin(ctx, "CreateInquiry", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        if let Some(id) = &campaign_id
            && store::campaigns::get(w.conn(), id).await?.is_none()
        {
            return Err(RecruitmentError::invalid(
                "campaign_id",
                "is not a campaign of this office",
            ));
        }
        let case = inquiry::open_case(
            valid,
            NewCase {
                id: samling_kit::ids::new_id_string(),
                reference: Self::new_reference(),
                track: Track::Standard,
                route: IntakeRoute::Staff,
                region_id,
                channel,
                campaign_id,
                consent,
                received_on: received,
                now_text,
                owner: ctx.sub.clone(),
                placement_need_id: None,
                network_alternative_id: None,
            },
            &self.rules,
        );
        let case = crate::domain::pipeline::refresh_deadlines(case, today);
        store::cases::save(w.conn(), &case, true).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                change_of(events::INQUIRY_RECEIVED),
                "case",
                &case.id,
                inquiry_payload(&case),
            )
            .await?;
        w.finish(self, ctx, case).await
    }

    pub async fn record_first_response(
        &self,
        ctx: &AuthContext,
        req: RecordFirstResponseRequest,
    ) -> R<Case> {
        office_only(ctx, "record the first response")?;
        let on = dates::opt_from_proto("responded_on", req.responded_on.as_ref())?;
        self.change_case(
            ctx,
            "RecordFirstResponse",
            &req.request_id,
            &req,
            &req.case_id,
            change_of(events::FIRST_RESPONSE_RECORDED),
            |c, today, _| {
                let on = on.unwrap_or(today);
                let n = inquiry::record_first_response(c, on, today)?;
                let due = dates::opt_from_proto("due", c.first_response_due_on.as_ref())
                    .ok()
                    .flatten();
                Ok((
                    n,
                    json!({
                        "responded_on": dates::date_text(on),
                        "late": due.is_some_and(|d| on > d),
                    }),
                ))
            },
        )
        .await
    }

    pub async fn list_overdue_inquiries(
        &self,
        ctx: &AuthContext,
        req: ListOverdueInquiriesRequest,
    ) -> R<ListCasesResponse> {
        may_read_cases(ctx)?;
        let page = Page::from_request(req.page.as_ref())?;
        let as_of = dates::opt_from_proto("as_of", req.as_of.as_ref())?
            .unwrap_or_else(|| self.clock.today());
        let f = CaseFilter {
            municipalities: self.municipalities_for(ctx, &req.municipality_code)?,
            first_response_overdue_on: Some(dates::date_text(as_of)),
            ..Default::default()
        };
        self.list_page(ctx, &f, &page).await
    }

    pub async fn withdraw_case(
        &self,
        ctx: &AuthContext,
        req: WithdrawCaseRequest,
    ) -> R<WithdrawCaseResponse> {
        office_only(ctx, "withdraw a case")?;
        let id = crate::domain::text::id("case_id", &req.case_id)?;
        let on = dates::opt_from_proto("withdrawn_on", req.withdrawn_on.as_ref())?;
        let mut w = self
            .core()
            .begin(ctx, "WithdrawCase", &req.request_id, &req)
            .await?;
        let current = store::cases::get(w.conn(), &id)
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("case {id}")))?;
        case_visible(ctx, &current)?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let today = self.clock.today();
        let now_text = self.now_text();
        let (mut c, erased, kept) =
            withdrawal::withdraw(&current, on.unwrap_or(today), &now_text, today)?;
        c.version = current.version + 1;
        c.updated_at = now_text;
        store::cases::save(w.conn(), &c, false).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                change_of(events::CASE_WITHDRAWN),
                "case",
                &c.id,
                json!({"stage": crate::domain::pipeline::stage_name(current.stage())}),
            )
            .await?;
        let answer = WithdrawCaseResponse {
            withdrawn: Some(c),
            erased,
            kept,
        };
        w.finish(self, ctx, answer).await
    }

    pub async fn create_campaign(
        &self,
        ctx: &AuthContext,
        req: CreateCampaignRequest,
    ) -> R<Campaign> {
        office_only(ctx, "create a campaign")?;
        let region_id = match &self.region {
            Some(r) => r.as_str().to_string(),
            None => String::new(),
        };
        let draft = Campaign {
            id: samling_kit::ids::new_id_string(),
            version: 1,
            name: req.name.clone(),
            code: req.code.clone(),
            channels: req.channels.clone(),
            region_id,
            municipality_codes: req.municipality_codes.clone(),
            starts_on: req.starts_on,
            ends_on: req.ends_on,
            created_at: self.now_text(),
        };
        let mut c = inquiry::check_campaign(&draft)?;
        for m in &c.municipality_codes {
            let code = MunicipalityCode::parse(m).map_err(|_| {
                RecruitmentError::invalid("municipality_codes", "is not a municipality code")
            })?;
            self.region_for("municipality_codes", code)?;
        }
        if c.ends_on.as_ref().is_some_and(|d| d.year == 0) {
            c.ends_on = None;
        }
        let w = self
            .core()
            .begin(ctx, "CreateCampaign", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        if store::campaigns::by_code(w.conn(), &c.code)
            .await?
            .is_some()
        {
            return Err(RecruitmentError::invalid(
                "code",
                "is already used by another campaign",
            ));
        }
        store::campaigns::insert(w.conn(), &c).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "campaign_created",
                "campaign",
                &c.id,
                json!({"code": c.code}),
            )
            .await?;
        w.finish(self, ctx, c).await
    }

    pub async fn get_campaign(&self, ctx: &AuthContext, req: GetCampaignRequest) -> R<Campaign> {
        may_read_cases(ctx)?;
        let id = crate::domain::text::id("campaign_id", &req.campaign_id)?;
        store::campaigns::get(&self.store.read, &id)
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("campaign {id}")))
    }

    pub async fn list_campaigns(
        &self,
        ctx: &AuthContext,
        req: ListCampaignsRequest,
    ) -> R<ListCampaignsResponse> {
        may_read_cases(ctx)?;
        let page = Page::from_request(req.page.as_ref())?;
        let today = dates::date_text(self.clock.today());
        let rows = store::campaigns::list(
            &self.store.read,
            req.active_only.then_some(today.as_str()),
            &page,
        )
        .await?;
        let (campaigns, page) = page.finish(rows, |c| c.id.clone());
        Ok(ListCampaignsResponse {
            campaigns,
            page: Some(page),
        })
    }
}

/// The public form's callers: the gateway's public caller, or the office.
fn public_or_office(ctx: &AuthContext) -> R<()> {
    if ctx.is_public() || is_office(ctx) {
        Ok(())
    } else {
        Err(RecruitmentError::Forbidden(
            "the inquiry form is the public's (through the gateway) or the office's".into(),
        ))
    }
}

/// Is the campaign running on `day`?
fn campaign_running(c: &Campaign, day: NaiveDate) -> bool {
    let starts = dates::opt_from_proto("", c.starts_on.as_ref())
        .ok()
        .flatten();
    let ends = dates::opt_from_proto("", c.ends_on.as_ref()).ok().flatten();
    starts.is_none_or(|s| s <= day) && ends.is_none_or(|e| e >= day)
}

/// The inquiry event: codes and ids only.
fn inquiry_payload(c: &Case) -> serde_json::Value {
    json!({
        "track": crate::domain::pipeline::track_name(c.track()),
        "route": c.intake_route().as_str_name(),
        "channel": c.channel().as_str_name(),
        "campaign_id": c.campaign_id,
        "municipality_code": c.municipality_code,
        "received_on": c.received_on.as_ref().map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)),
    })
}
