//! Recruitment's integration tests, one binary (one link on a 2-core
//! machine): a real store on every backend, the tonic server and a typed
//! client per test.

#[macro_use]
mod common;

mod approval;
mod cases;
mod closing;
mod funnel;
mod intake;
mod journey;
mod matching;
mod network;
mod registry_feed;
mod skeleton;
mod stages;
mod support;
mod training;
