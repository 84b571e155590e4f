//! Cases through the pipeline: reading, listing, owner, advancing, drop-outs, household adults.

use super::{R, Recruitment, pending};
use samling_kit::auth::AuthContext;
use samling_proto::recruitment::v1::*;

impl Recruitment {
    pub async fn get_case(&self, _ctx: &AuthContext, _req: GetCaseRequest) -> R<Case> {
        Err(pending("GetCase"))
    }

    pub async fn list_cases(
        &self,
        _ctx: &AuthContext,
        _req: ListCasesRequest,
    ) -> R<ListCasesResponse> {
        Err(pending("ListCases"))
    }

    pub async fn assign_case_owner(
        &self,
        _ctx: &AuthContext,
        _req: AssignCaseOwnerRequest,
    ) -> R<Case> {
        Err(pending("AssignCaseOwner"))
    }

    pub async fn advance_case(&self, _ctx: &AuthContext, _req: AdvanceCaseRequest) -> R<Case> {
        Err(pending("AdvanceCase"))
    }

    pub async fn drop_out(&self, _ctx: &AuthContext, _req: DropOutRequest) -> R<Case> {
        Err(pending("DropOut"))
    }

    pub async fn add_household_adult(
        &self,
        _ctx: &AuthContext,
        _req: AddHouseholdAdultRequest,
    ) -> R<Case> {
        Err(pending("AddHouseholdAdult"))
    }

    pub async fn remove_household_adult(
        &self,
        _ctx: &AuthContext,
        _req: RemoveHouseholdAdultRequest,
    ) -> R<Case> {
        Err(pending("RemoveHouseholdAdult"))
    }
}
