//! Inquiries: the public form and its token, staff intake, the first response, overdue inquiries, withdrawal (erasure), campaigns.

use super::{R, Recruitment, pending};
use samling_kit::auth::AuthContext;
use samling_proto::recruitment::v1::*;

impl Recruitment {
    pub async fn issue_inquiry_form_token(
        &self,
        _ctx: &AuthContext,
        _req: IssueInquiryFormTokenRequest,
    ) -> R<InquiryFormToken> {
        Err(pending("IssueInquiryFormToken"))
    }

    pub async fn submit_public_inquiry(
        &self,
        _ctx: &AuthContext,
        _req: SubmitPublicInquiryRequest,
    ) -> R<InquiryReceipt> {
        Err(pending("SubmitPublicInquiry"))
    }

    pub async fn create_inquiry(&self, _ctx: &AuthContext, _req: CreateInquiryRequest) -> R<Case> {
        Err(pending("CreateInquiry"))
    }

    pub async fn record_first_response(
        &self,
        _ctx: &AuthContext,
        _req: RecordFirstResponseRequest,
    ) -> R<Case> {
        Err(pending("RecordFirstResponse"))
    }

    pub async fn list_overdue_inquiries(
        &self,
        _ctx: &AuthContext,
        _req: ListOverdueInquiriesRequest,
    ) -> R<ListCasesResponse> {
        Err(pending("ListOverdueInquiries"))
    }

    pub async fn withdraw_case(
        &self,
        _ctx: &AuthContext,
        _req: WithdrawCaseRequest,
    ) -> R<WithdrawCaseResponse> {
        Err(pending("WithdrawCase"))
    }

    pub async fn create_campaign(
        &self,
        _ctx: &AuthContext,
        _req: CreateCampaignRequest,
    ) -> R<Campaign> {
        Err(pending("CreateCampaign"))
    }

    pub async fn get_campaign(&self, _ctx: &AuthContext, _req: GetCampaignRequest) -> R<Campaign> {
        Err(pending("GetCampaign"))
    }

    pub async fn list_campaigns(
        &self,
        _ctx: &AuthContext,
        _req: ListCampaignsRequest,
    ) -> R<ListCampaignsResponse> {
        Err(pending("ListCampaigns"))
    }
}
