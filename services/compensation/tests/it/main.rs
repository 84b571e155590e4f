//! Compensation's integration tests, one binary: a real store on every
//! backend, the tonic server and a typed client per test.

#[macro_use]
mod common;

mod agreements;
mod claims;
mod costs;
mod grants;
mod ledger;
mod payments;
mod schedules;
mod skeleton;
