//! Who calls: the auth context of each role, with stable subjects (user
//! ids, never personnummer).

use samling_kit::auth::{AuthContext, Role};
use samling_kit::reference::MunicipalityCode;

/// The subject of the regional office's officer.
pub const OFFICER: &str = "officer-1";

/// The region tests work in unless they say otherwise.
pub const REGION: &str = "stockholm-gotland";

/// A known municipality's code.
pub fn municipality(code: &str) -> MunicipalityCode {
    MunicipalityCode::parse(code).expect("known municipality")
}

/// The regional office of Stockholm-Gotland: keeps the register.
pub fn office() -> AuthContext {
    office_in(REGION)
}

/// The regional office of `region`.
pub fn office_in(region: &str) -> AuthContext {
    AuthContext::new(OFFICER, Role::RegionalOfficer).with_region(region)
}

/// A socialnämnd caseworker of municipality `code`.
pub fn caseworker(code: &str) -> AuthContext {
    AuthContext::new(format!("caseworker-{code}"), Role::MunicipalityCaseworker)
        .with_municipality(municipality(code))
}

/// A manager (decides for the nämnd) of municipality `code`.
pub fn manager(code: &str) -> AuthContext {
    AuthContext::new(format!("manager-{code}"), Role::MunicipalityManager)
        .with_municipality(municipality(code))
}

pub fn analyst() -> AuthContext {
    AuthContext::new("analyst-1", Role::NationalAnalyst)
}

pub fn ombud() -> AuthContext {
    AuthContext::new("ombud-1", Role::Ombud)
}

/// A member of the Familjehemsråd: aggregates only.
pub fn council_member() -> AuthContext {
    AuthContext::new("council-1", Role::CouncilMember)
}

/// The national reviewer: decides homes' appeals and second opinions
/// (independent of the regional offices).
pub fn national_reviewer() -> AuthContext {
    AuthContext::new("reviewer-1", Role::NationalReviewer)
}

/// IVO, the national supervisory authority (no region, no municipality).
pub fn ivo() -> AuthContext {
    AuthContext::new("ivo-1", Role::Ivo)
}

/// Another Samling service calling.
pub fn service() -> AuthContext {
    AuthContext::new("svc-1", Role::Service)
}

/// The family home `home_id` (a party to its own records).
pub fn family_home(home_id: &str) -> AuthContext {
    AuthContext::new(
        format!("home-user-{}", &home_id[home_id.len().saturating_sub(6)..]),
        Role::FamilyHome,
    )
    .with_party(home_id)
}

/// The placed child `child_id`.
pub fn child_ctx(child_id: &str) -> AuthContext {
    AuthContext::new("child-user", Role::Child).with_party(child_id)
}
