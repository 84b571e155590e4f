//! The event types recruitment writes to its outbox. Payloads carry ids,
//! codes and dates only (DESIGN.md §4): never names, contact details,
//! personnummer or assessments.
pub const INQUIRY_RECEIVED: &str = "recruitment.inquiry_received";
pub const FIRST_RESPONSE_RECORDED: &str = "recruitment.first_response_recorded";
pub const CASE_ADVANCED: &str = "recruitment.case_advanced";
pub const CASE_DROPPED_OUT: &str = "recruitment.case_dropped_out";
pub const CASE_WITHDRAWN: &str = "recruitment.case_withdrawn";
pub const CASE_APPROVED: &str = "recruitment.case_approved";
pub const NETWORK_CASE_STARTED: &str = "recruitment.network_case_started";
pub const MENTOR_ASSIGNED: &str = "recruitment.mentor_assigned";
pub const MENTOR_ASSIGNMENT_ENDED: &str = "recruitment.mentor_assignment_ended";
pub const CLOSING_CONVERSATION_DUE: &str = "recruitment.closing_conversation_due";
pub const CLOSING_CONVERSATION_RECORDED: &str = "recruitment.closing_conversation_recorded";
