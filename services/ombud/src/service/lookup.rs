//! Asking the registry about a placement its event does not link (a
//! protected child's events leave out the home and the municipality): over
//! gRPC as the service, which the registry admits and audits. Tests give
//! their own [`RegistryLookup`].

use samling_kit::auth::{AuthContext, ContextSigner, Role};
use samling_kit::client::{ServiceClient, Stub};
use samling_kit::error::KitError;
use samling_kit::tls::Tls;
use samling_proto::ombud::v1::SurveyPlacementForm;
use samling_proto::registry::v1::registry_service_client::RegistryServiceClient;
use samling_proto::registry::v1::{
    GetChildRequest, GetPlacementRequest, GetUnitRequest, HomeType, UnitKind,
};
use std::future::Future;
use std::pin::Pin;
use tonic::transport::Channel;

pub type LookupFuture<T> = Pin<Box<dyn Future<Output = Result<T, KitError>> + Send>>;

/// What ombud needs of a placement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlacementFacts {
    pub child_id: String,
    /// Empty for a placement in a unit (HVB).
    pub home_id: String,
    pub placing_municipality_code: String,
}

/// What a survey invitation needs of a placed child (ADR 0044): asked of
/// the registry when the child opens its invitation, used to choose the
/// question set, and never stored beside the child.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SurveyProfile {
    pub birth_date: Option<chrono::NaiveDate>,
    pub placement_form: SurveyPlacementForm,
}

pub trait RegistryLookup: Send + Sync + 'static {
    /// The placement, or `None` when the registry has none.
    fn placement(&self, placement_id: String) -> LookupFuture<Option<PlacementFacts>>;

    /// The child's birth date and the form of its placement `placement_id`
    /// (`None` when the registry has no such child).
    fn survey_profile(
        &self,
        child_id: String,
        placement_id: String,
    ) -> LookupFuture<Option<SurveyProfile>>;
}

/// The survey's placement form of a home's type or a unit's kind.
pub fn placement_form(home: Option<HomeType>, unit: Option<UnitKind>) -> SurveyPlacementForm {
    match (home, unit) {
        (_, Some(UnitKind::Hvb)) => SurveyPlacementForm::Hvb,
        (_, Some(UnitKind::SupportedHousing)) => SurveyPlacementForm::SupportedHousing,
        (_, Some(_)) => SurveyPlacementForm::Other,
        (Some(HomeType::ContactFamily), None) => SurveyPlacementForm::Other,
        (Some(_), None) => SurveyPlacementForm::FamilyHome,
        (None, None) => SurveyPlacementForm::Other,
    }
}

fn unavailable(s: tonic::Status) -> KitError {
    KitError::refused(
        samling_kit::error::Reason::RegionUnavailable,
        format!("registry: {} ({:?})", s.message(), s.code()),
    )
}

pub const REGISTRY: Stub<RegistryServiceClient<Channel>> =
    samling_kit::stub!("registry", RegistryServiceClient);

/// The region's registry over gRPC, connecting lazily.
#[derive(Clone)]
pub struct GrpcRegistry {
    client: ServiceClient<RegistryServiceClient<Channel>>,
}

impl GrpcRegistry {
    pub fn new(
        endpoint: &str,
        tls: Option<&Tls>,
        signer: ContextSigner,
        region: &str,
    ) -> Result<Self, KitError> {
        let ep = samling_kit::tls::endpoint(endpoint, tls)?;
        let channel = samling_kit::tls::connect_lazy(&ep, tls);
        let ctx = AuthContext::new(crate::NAME, Role::Service)
            .with_region(region)
            .with_purpose("the child's ombud follows the placement");
        Ok(GrpcRegistry {
            client: ServiceClient::from_channel(REGISTRY, channel, signer, ctx),
        })
    }
}

impl RegistryLookup for GrpcRegistry {
    fn placement(&self, placement_id: String) -> LookupFuture<Option<PlacementFacts>> {
        let mut c = self.client.clone();
        Box::pin(async move {
            let req = c.request(GetPlacementRequest { placement_id });
            match c.raw().get_placement(req).await {
                Ok(p) => {
                    let p = p.into_inner();
                    Ok(Some(PlacementFacts {
                        child_id: p.child_id,
                        home_id: p.home_id,
                        placing_municipality_code: p.placing_municipality_code,
                    }))
                }
                Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
                Err(s) => Err(unavailable(s)),
            }
        })
    }

    fn survey_profile(
        &self,
        child_id: String,
        placement_id: String,
    ) -> LookupFuture<Option<SurveyProfile>> {
        let mut c = self.client.clone();
        Box::pin(async move {
            let req = c.request(GetChildRequest { child_id });
            let child = match c.raw().get_child(req).await {
                Ok(ch) => ch.into_inner(),
                Err(s) if s.code() == tonic::Code::NotFound => return Ok(None),
                Err(s) => return Err(unavailable(s)),
            };
            let birth_date = child.birth_date.as_ref().and_then(|d| {
                chrono::NaiveDate::from_ymd_opt(d.year, d.month as u32, d.day as u32)
            });
            let req = c.request(GetPlacementRequest { placement_id });
            let p = match c.raw().get_placement(req).await {
                Ok(p) => p.into_inner(),
                Err(s) if s.code() == tonic::Code::NotFound => {
                    return Ok(Some(SurveyProfile {
                        birth_date,
                        placement_form: SurveyPlacementForm::Other,
                    }));
                }
                Err(s) => return Err(unavailable(s)),
            };
            let form = if !p.unit_id.is_empty() {
                let req = c.request(GetUnitRequest { unit_id: p.unit_id });
                let kind = match c.raw().get_unit(req).await {
                    Ok(u) => UnitKind::try_from(u.into_inner().kind).unwrap_or_default(),
                    Err(s) if s.code() == tonic::Code::NotFound => UnitKind::Unspecified,
                    Err(s) => return Err(unavailable(s)),
                };
                placement_form(None, Some(kind))
            } else if !p.home_id.is_empty() {
                placement_form(
                    Some(HomeType::try_from(p.home_type).unwrap_or_default()),
                    None,
                )
            } else {
                SurveyPlacementForm::Other
            };
            Ok(Some(SurveyProfile {
                birth_date,
                placement_form: form,
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placement_form_follows_the_home_or_the_unit() {
        use SurveyPlacementForm as F;
        assert_eq!(
            placement_form(Some(HomeType::FamilyHome), None),
            F::FamilyHome
        );
        assert_eq!(
            placement_form(Some(HomeType::NetworkHome), None),
            F::FamilyHome
        );
        assert_eq!(
            placement_form(Some(HomeType::Unspecified), None),
            F::FamilyHome
        );
        assert_eq!(placement_form(None, Some(UnitKind::Hvb)), F::Hvb);
        assert_eq!(
            placement_form(None, Some(UnitKind::SupportedHousing)),
            F::SupportedHousing
        );
        assert_eq!(placement_form(None, Some(UnitKind::Sis)), F::Other);
        assert_eq!(placement_form(None, None), F::Other);
    }
}
