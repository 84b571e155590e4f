//! The tonic service: `samling.portfolio.v1.PortfolioService` adapted to
//! [`Portfolios`] (one line per RPC; kit adds `ListAudit` and
//! `WatchEvents`). Authentication is kit's interceptor; everything else is
//! in `service`.

use crate::Portfolios;
use crate::domain::PortfolioError;
use samling_kit::auth;
use samling_proto::portfolio::v1::portfolio_service_server::{
    PortfolioService, PortfolioServiceServer,
};
use samling_proto::portfolio::v1::*;
use tonic::Status;

pub struct PortfolioGrpc(pub Portfolios);

samling_kit::grpc_service! {
        impl PortfolioService for PortfolioGrpc;
        get_portfolio(GetPortfolioRequest) -> Portfolio => |g, c, r| g.get_portfolio(&c, r);
        open_portfolio(OpenPortfolioRequest) -> Portfolio => |g, c, r| g.open_portfolio(&c, r);
        update_section(UpdateSectionRequest) -> Portfolio => |g, c, r| g.update_section(&c, r);
        set_relations(SetRelationsRequest) -> Portfolio => |g, c, r| g.set_relations(&c, r);
        list_access_log(ListAccessLogRequest) -> ListAccessLogResponse => |g, c, r| g.list_access_log(&c, r);
        list_home_access(ListHomeAccessRequest) -> ListHomeAccessResponse => |g, c, r| g.list_home_access(&c, r);
        issue_prescription_credential(IssuePrescriptionCredentialRequest) -> PrescriptionCredential => |g, c, r| g.issue_prescription_credential(&c, r);
        verify_prescription_credential(VerifyPrescriptionCredentialRequest) -> CredentialVerification => |g, c, r| g.verify_prescription_credential(&c, r);
        record_information(RecordInformationRequest) -> Portfolio => |g, c, r| g.record_information(&c, r);
        export_health_fhir(ExportHealthFhirRequest) -> FhirDocument => |g, c, r| g.export_health_fhir(&c, r);
        import_school_data(ImportSchoolDataRequest) -> ImportSchoolDataResponse => |g, c, r| g.import_school_data(&c, r);
        run_retention(RunRetentionRequest) -> RetentionRun => |g, c, r| g.run_retention(&c, r);
        run_deadlines(RunDeadlinesRequest) -> RunDeadlinesResponse => |g, c, r| g.run_deadlines(&c, r);
        list_deadlines(ListDeadlinesRequest) -> ListDeadlinesResponse => |g, c, r| g.list_deadlines(&c, r);
        list_aftercare(ListAftercareRequest) -> ListAftercareResponse => |g, c, r| g.list_aftercare(&c, r);
    ;
}

impl From<PortfolioError> for Status {
    fn from(e: PortfolioError) -> Self {
        samling_kit::error::to_status(&e)
    }
}

/// The portfolio service behind kit's auth interceptor.
pub fn server(
    svc: Portfolios,
    verifier: auth::ContextVerifier,
) -> tonic::service::interceptor::InterceptedService<
    PortfolioServiceServer<PortfolioGrpc>,
    impl tonic::service::Interceptor + Clone,
> {
    PortfolioServiceServer::with_interceptor(PortfolioGrpc(svc), auth::interceptor(verifier))
}
