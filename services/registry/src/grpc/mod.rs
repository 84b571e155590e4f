//! The tonic service: adapts `samling.registry.v1.RegistryService` to
//! [`Registry`]. Authentication is the kit interceptor (a verified
//! [`samling_kit::auth::AuthContext`] in the request extensions); everything else is in `service`.

use crate::Registry;
use samling_kit::auth;
use samling_kit::service::{Service, split};
use samling_proto::registry::v1::registry_service_server::{
    RegistryService, RegistryServiceServer,
};
use samling_proto::registry::v1::*;
use samling_proto::statistics::v1::{GetStatisticsRequest, StatisticsReport};
use std::pin::Pin;
use tonic::{Request, Response, Status};

pub struct RegistryGrpc(pub Registry);

type Stream<T> = Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send + 'static>>;

// One line per unary RPC (`name(Request) -> Response => service call`, each
// bound to the register first); kit adds ListAudit and WatchEvents; then the
// export stream written out.
samling_kit::grpc_service! {
        impl RegistryService for RegistryGrpc;
        create_home(CreateHomeRequest) -> CreateHomeResponse => |g, c, r| g.create_home(&c, r);
        get_home(GetHomeRequest) -> Home => |g, c, r| g.get_home(&c, &r.home_id);
        search_homes(SearchHomesRequest) -> SearchHomesResponse => |g, c, r| g.search_homes(&c, &r);
        update_home_profile(UpdateHomeProfileRequest) -> Home => |g, c, r| g.update_home_profile(&c, r);
        transition_home(TransitionHomeRequest) -> Home => |g, c, r| g.transition_home(&c, r);
        record_approval(RecordApprovalRequest) -> Home => |g, c, r| g.record_approval(&c, r);
        assign_investigating_municipality(AssignInvestigatingMunicipalityRequest) -> Home => |g, c, r| g.assign_investigation(&c, r);
        reveal_protected_address(RevealProtectedAddressRequest) -> RevealProtectedAddressResponse => |g, c, r| g.reveal_protected_address(&c, &r);
        reconfirm_home(ReconfirmHomeRequest) -> Home => |g, c, r| g.reconfirm_home(&c, r);
        list_overdue_homes(ListOverdueHomesRequest) -> SearchHomesResponse => |g, c, r| g.list_overdue(&c, &r);
        get_home_history(GetHomeHistoryRequest) -> GetHomeHistoryResponse => |g, c, r| g.home_history(&c, &r);
        add_household_member(AddHouseholdMemberRequest) -> CreateHomeResponse => |g, c, r| g.add_member(&c, r);
        remove_household_member(RemoveHouseholdMemberRequest) -> Home => |g, c, r| g.remove_member(&c, r);
        record_record_check(RecordRecordCheckRequest) -> Home => |g, c, r| g.record_check(&c, r);
        record_incident(RecordIncidentRequest) -> Home => |g, c, r| g.record_incident(&c, r);
        withdraw_consent(WithdrawConsentRequest) -> Home => |g, c, r| g.withdraw_consent(&c, r);
        set_jour_availability(SetJourAvailabilityRequest) -> Home => |g, c, r| g.set_jour(&c, r);
        object_to_further_placements(ObjectToFurtherPlacementsRequest) -> Home => |g, c, r| g.object(&c, r);
        withdraw_objection(WithdrawObjectionRequest) -> Home => |g, c, r| g.withdraw_objection(&c, r);
        import_homes(ImportHomesRequest) -> ImportHomesResponse => |g, c, r| g.import_homes(&c, r);
        submit_home_request(SubmitHomeRequestRequest) -> HomeRequest => |g, c, r| g.submit_home_request(&c, r);
        list_home_requests(ListHomeRequestsRequest) -> ListHomeRequestsResponse => |g, c, r| g.list_home_requests(&c, &r);
        decide_home_request(DecideHomeRequestRequest) -> HomeRequest => |g, c, r| g.decide_home_request(&c, r);
        list_overdue_home_requests(ListOverdueHomeRequestsRequest) -> ListHomeRequestsResponse => |g, c, r| g.list_overdue_requests(&c, &r);
        record_restriction(RecordRestrictionRequest) -> Home => |g, c, r| g.record_restriction(&c, r);
        lift_restriction(LiftRestrictionRequest) -> Home => |g, c, r| g.lift_restriction(&c, r);
        list_home_notices(ListHomeNoticesRequest) -> ListHomeNoticesResponse => |g, c, r| g.list_home_notices(&c, &r);
        record_training(RecordTrainingRequest) -> Home => |g, c, r| g.record_training(&c, r);
        record_investigation(RecordInvestigationRequest) -> Home => |g, c, r| g.record_investigation(&c, r);
        record_home_visit(RecordHomeVisitRequest) -> Home => |g, c, r| g.record_home_visit(&c, r);
        list_record_checks_overdue(ListOverdueHomesRequest) -> SearchHomesResponse => |g, c, r| g.list_record_checks_overdue(&c, &r);
        list_ivo_reports(ListIvoReportsRequest) -> SearchHomesResponse => |g, c, r| g.list_ivo_reports(&c, &r);
        record_agency_inspection(RecordAgencyInspectionRequest) -> Agency => |g, c, r| g.record_agency_inspection(&c, r);
        create_agency(CreateAgencyRequest) -> Agency => |g, c, r| g.create_agency(&c, r);
        get_agency(GetAgencyRequest) -> Agency => |g, c, r| g.get_agency(&c, &r.agency_id);
        list_agencies(ListAgenciesRequest) -> ListAgenciesResponse => |g, c, r| g.list_agencies(&c, &r);
        update_agency(UpdateAgencyRequest) -> Agency => |g, c, r| g.update_agency(&c, r);
        create_unit(CreateUnitRequest) -> Unit => |g, c, r| g.create_unit(&c, r);
        get_unit(GetUnitRequest) -> Unit => |g, c, r| g.get_unit(&c, &r.unit_id);
        list_units(ListUnitsRequest) -> ListUnitsResponse => |g, c, r| g.list_units(&c, &r);
        update_vacancies(UpdateVacanciesRequest) -> Unit => |g, c, r| g.update_vacancies(&c, r);
        record_inspection(RecordInspectionRequest) -> Unit => |g, c, r| g.record_inspection(&c, r);
        register_child(RegisterChildRequest) -> RegisterChildResponse => |g, c, r| g.register_child(&c, r);
        get_child(GetChildRequest) -> Child => |g, c, r| g.get_child(&c, &r.child_id);
        list_children(ListChildrenRequest) -> ListChildrenResponse => |g, c, r| g.list_children(&c, &r);
        set_child_protection(SetChildProtectionRequest) -> Child => |g, c, r| g.set_child_protection(&c, r);
        locate_child(LocateChildRequest) -> LocateChildResponse => |g, c, r| g.locate_child(&c, &r);
        create_placement(CreatePlacementRequest) -> CreatePlacementResponse => |g, c, r| g.create_placement(&c, r);
        get_placement(GetPlacementRequest) -> Placement => |g, c, r| g.get_placement(&c, &r.placement_id);
        list_placements(ListPlacementsRequest) -> ListPlacementsResponse => |g, c, r| g.list_placements(&c, &r);
        end_placement(EndPlacementRequest) -> Placement => |g, c, r| g.end_placement(&c, r);
        list_custody_transfer_due(ListCustodyTransferDueRequest) -> ListPlacementsResponse => |g, c, r| g.custody_transfer_due(&c, &r);
        record_custody_consideration(RecordCustodyConsiderationRequest) -> Placement => |g, c, r| g.record_custody_consideration(&c, r);
        list_long_jourhem_stays(ListLongJourhemStaysRequest) -> ListPlacementsResponse => |g, c, r| g.long_jourhem_stays(&c, &r);
        set_sibling_link(SetSiblingLinkRequest) -> Child => |g, c, r| g.set_sibling_link(&c, r);
        record_closing_conversation(RecordClosingConversationRequest) -> Placement => |g, c, r| g.record_closing_conversation(&c, r);
        get_placement_statistics(GetPlacementStatisticsRequest) -> PlacementStatistics => |g, c, r| g.placement_statistics(&c, &r);
        get_statistics(GetStatisticsRequest) -> StatisticsReport => |g, c, r| g.get_statistics(&c, &r);
        report_unexecuted_decision(ReportUnexecutedDecisionRequest) -> UnexecutedDecision => |g, c, r| g.report_decision(&c, r);
        mark_decision_executed(MarkDecisionExecutedRequest) -> UnexecutedDecision => |g, c, r| g.mark_executed(&c, r);
        list_unexecuted_decisions(ListUnexecutedDecisionsRequest) -> ListUnexecutedDecisionsResponse => |g, c, r| g.list_decisions(&c, &r);
        get_quarterly_report(GetQuarterlyReportRequest) -> QuarterlyReport => |g, c, r| g.quarterly_report(&c, &r);
        list_duplicate_flags(ListDuplicateFlagsRequest) -> ListDuplicateFlagsResponse => |g, c, r| g.list_flags(&c, &r);
        resolve_duplicate_flag(ResolveDuplicateFlagRequest) -> DuplicateFlag => |g, c, r| g.resolve_flag(&c, r);
        reserve_home_place(ReserveHomePlaceRequest) -> ReserveHomePlaceResponse => |g, c, r| g.reserve_home_place(&c, r);
        release_home_place(ReleaseHomePlaceRequest) -> ReleaseHomePlaceResponse => |g, c, r| g.release_home_place(&c, r);
        match_identities(MatchIdentitiesRequest) -> MatchIdentitiesResponse => |g, c, r| g.match_identities(&c, r);
    ;

    type ExportHomesStream = Stream<Home>;

    async fn export_homes(&self, request: Request<ExportHomesRequest>) -> Result<Response<Self::ExportHomesStream>, Status> {
        let (ctx, r) = split(request)?;
        Service::bind(&self.0, &ctx)?;
        crate::domain::access::manage_register(&ctx)?;
        let reg = self.0.clone();
        let stream = async_stream::try_stream! {
            let mut after = String::new();
            loop {
                let batch = reg.export_homes(&ctx, &r.municipality_code, &after, 500).await?;
                let done = batch.len() < 500;
                for h in batch {
                    after = h.id.clone();
                    yield h;
                }
                if done {
                    break;
                }
            }
        };
        Ok(Response::new(Box::pin(stream)))
    }
}

/// The server with the auth interceptor in front.
pub fn server(
    registry: Registry,
    verifier: samling_kit::auth::ContextVerifier,
) -> tonic::service::interceptor::InterceptedService<
    RegistryServiceServer<RegistryGrpc>,
    impl tonic::service::Interceptor + Clone,
> {
    RegistryServiceServer::with_interceptor(RegistryGrpc(registry), auth::interceptor(verifier))
}

impl From<crate::domain::RegistryError> for Status {
    fn from(e: crate::domain::RegistryError) -> Self {
        samling_kit::error::to_status(&e)
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::RegistryError;
    use samling_kit::error::{FIELD_METADATA_KEY, REASON_METADATA_KEY};
    use samling_kit::error::{KitError, Reason};

    fn sent(e: RegistryError) -> (tonic::Code, String, Option<String>) {
        let s = tonic::Status::from(e);
        let meta = |k: &str| {
            s.metadata()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        (
            s.code(),
            meta(REASON_METADATA_KEY).unwrap_or_default(),
            meta(FIELD_METADATA_KEY),
        )
    }

    #[test]
    fn each_refusal_goes_out_with_its_code_reason_and_field() {
        use tonic::Code;
        let field = |f: &str| Some(f.to_string());
        for (e, want) in [
            (
                RegistryError::invalid("draft.capacity", "must be 1–10"),
                (
                    Code::InvalidArgument,
                    "INVALID_FIELD",
                    field("draft.capacity"),
                ),
            ),
            (
                KitError::invalid("home_id", "is not a UUID").into(),
                (Code::InvalidArgument, "INVALID_FIELD", field("home_id")),
            ),
            (
                RegistryError::NotFound("home x".into()),
                (Code::NotFound, "NOT_FOUND", None),
            ),
            (
                RegistryError::Conflict("read it again".into()),
                (Code::Aborted, "VERSION_CONFLICT", None),
            ),
            (
                RegistryError::precondition("already ended"),
                (Code::FailedPrecondition, "INVALID_STATE", None),
            ),
            (
                RegistryError::forbidden("your role may not"),
                (Code::PermissionDenied, "FORBIDDEN_ROLE", None),
            ),
            (
                RegistryError::refused(Reason::OutOfRegion, "another region"),
                (Code::PermissionDenied, "OUT_OF_REGION", None),
            ),
            (
                RegistryError::refused(Reason::AlreadyRecorded, "already"),
                (Code::Aborted, "ALREADY_RECORDED", None),
            ),
        ] {
            let want = (want.0, want.1.to_string(), want.2);
            assert_eq!(sent(e), want);
        }
    }
}
