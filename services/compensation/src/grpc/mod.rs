//! The tonic service: `samling.compensation.v1.CompensationService` adapted
//! to [`Compensation`] (one line per RPC; kit adds `ListAudit` and
//! `WatchEvents`). Authentication is kit's interceptor; everything else is
//! in `service`.

use crate::Compensation;
use crate::domain::CompensationError;
use samling_kit::auth;
use samling_proto::compensation::v1::compensation_service_server::{
    CompensationService, CompensationServiceServer,
};
use samling_proto::compensation::v1::*;
use tonic::Status;

pub struct CompensationGrpc(pub Compensation);

samling_kit::grpc_service! {
        impl CompensationService for CompensationGrpc;
        create_fee_schedule(CreateFeeScheduleRequest) -> FeeSchedule => |g, c, r| g.create_fee_schedule(&c, r);
        get_fee_schedule(GetFeeScheduleRequest) -> FeeSchedule => |g, c, r| g.get_fee_schedule(&c, r);
        list_fee_schedules(ListFeeSchedulesRequest) -> ListFeeSchedulesResponse => |g, c, r| g.list_fee_schedules(&c, r);
        index_fee_schedule(IndexFeeScheduleRequest) -> FeeSchedule => |g, c, r| g.index_fee_schedule(&c, r);
        create_agreement(CreateAgreementRequest) -> Agreement => |g, c, r| g.create_agreement(&c, r);
        get_agreement(GetAgreementRequest) -> Agreement => |g, c, r| g.get_agreement(&c, r);
        list_agreements(ListAgreementsRequest) -> ListAgreementsResponse => |g, c, r| g.list_agreements(&c, r);
        add_deviation(AddDeviationRequest) -> Agreement => |g, c, r| g.add_deviation(&c, r);
        quote_month(QuoteMonthRequest) -> MonthQuote => |g, c, r| g.quote_month(&c, r);
        set_payee_account(SetPayeeAccountRequest) -> PayeeAccount => |g, c, r| g.set_payee_account(&c, r);
        start_payment_run(StartPaymentRunRequest) -> PaymentRun => |g, c, r| g.start_payment_run(&c, r);
        get_payment_run(GetPaymentRunRequest) -> PaymentRun => |g, c, r| g.get_payment_run(&c, r);
        approve_payment_run(ApprovePaymentRunRequest) -> PaymentRun => |g, c, r| g.approve_payment_run(&c, r);
        get_payment_file(GetPaymentFileRequest) -> PaymentFile => |g, c, r| g.get_payment_file(&c, r);
        get_statement(GetStatementRequest) -> Statement => |g, c, r| g.get_statement(&c, r);
        list_statements(ListStatementsRequest) -> ListStatementsResponse => |g, c, r| g.list_statements(&c, r);
        submit_claim(SubmitClaimRequest) -> Claim => |g, c, r| g.submit_claim(&c, r);
        decide_claim(DecideClaimRequest) -> Claim => |g, c, r| g.decide_claim(&c, r);
        get_claim(GetClaimRequest) -> Claim => |g, c, r| g.get_claim(&c, r);
        list_claims(ListClaimsRequest) -> ListClaimsResponse => |g, c, r| g.list_claims(&c, r);
        distribute_state_grant(DistributeStateGrantRequest) -> StateGrantDistribution => |g, c, r| g.distribute_state_grant(&c, r);
        import_state_grants(ImportStateGrantsRequest) -> ImportStateGrantsResponse => |g, c, r| g.import_state_grants(&c, r);
        requisition_state_grant(RequisitionStateGrantRequest) -> GrantLedgerEntry => |g, c, r| g.requisition_state_grant(&c, r);
        decide_requisition(DecideRequisitionRequest) -> GrantLedgerEntry => |g, c, r| g.decide_requisition(&c, r);
        report_grant_usage(ReportGrantUsageRequest) -> GrantLedgerEntry => |g, c, r| g.report_grant_usage(&c, r);
        reclaim_state_grant(ReclaimStateGrantRequest) -> GrantLedgerEntry => |g, c, r| g.reclaim_state_grant(&c, r);
        redistribute_leftovers(RedistributeLeftoversRequest) -> Redistribution => |g, c, r| g.redistribute_leftovers(&c, r);
        get_grant_history(GetGrantHistoryRequest) -> GrantHistory => |g, c, r| g.get_grant_history(&c, r);
        get_grant_report(GetGrantReportRequest) -> GrantReport => |g, c, r| g.get_grant_report(&c, r);
    ;
}

impl From<CompensationError> for Status {
    fn from(e: CompensationError) -> Self {
        samling_kit::error::to_status(&e)
    }
}

/// The compensation service behind kit's auth interceptor.
pub fn server(
    svc: Compensation,
    verifier: auth::ContextVerifier,
) -> tonic::service::interceptor::InterceptedService<
    CompensationServiceServer<CompensationGrpc>,
    impl tonic::service::Interceptor + Clone,
> {
    CompensationServiceServer::with_interceptor(CompensationGrpc(svc), auth::interceptor(verifier))
}

/// `samling.compensation.v1.Costs` (ADR 0049): the cost calculator and
/// cost transparency, beside `CompensationService` on the same port (no
/// audit or event RPCs of its own: `CompensationService` serves them).
pub struct CostsGrpc(pub Compensation);

#[tonic::async_trait]
impl samling_proto::compensation::v1::costs_server::Costs for CostsGrpc {
    async fn calculate_costs(
        &self,
        request: tonic::Request<CalculateCostsRequest>,
    ) -> Result<tonic::Response<CostCalculation>, Status> {
        samling_kit::unary!(&self.0, request, |g, c, r| g.calculate_costs(&c, r))
    }

    async fn record_price_split(
        &self,
        request: tonic::Request<RecordPriceSplitRequest>,
    ) -> Result<tonic::Response<PriceSplitRecord>, Status> {
        samling_kit::unary!(&self.0, request, |g, c, r| g.record_price_split(&c, r))
    }

    async fn get_price_split(
        &self,
        request: tonic::Request<GetPriceSplitRequest>,
    ) -> Result<tonic::Response<PriceSplitRecord>, Status> {
        samling_kit::unary!(&self.0, request, |g, c, r| g.get_price_split(&c, r))
    }

    async fn compare_prices(
        &self,
        request: tonic::Request<ComparePricesRequest>,
    ) -> Result<tonic::Response<PriceComparison>, Status> {
        samling_kit::unary!(&self.0, request, |g, c, r| g.compare_prices(&c, r))
    }
}

/// The costs service behind kit's auth interceptor.
pub fn costs_server(
    svc: Compensation,
    verifier: auth::ContextVerifier,
) -> tonic::service::interceptor::InterceptedService<
    samling_proto::compensation::v1::costs_server::CostsServer<CostsGrpc>,
    impl tonic::service::Interceptor + Clone,
> {
    samling_proto::compensation::v1::costs_server::CostsServer::with_interceptor(
        CostsGrpc(svc),
        auth::interceptor(verifier),
    )
}
