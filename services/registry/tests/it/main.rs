//! The registry's integration tests, one binary (one link on a 2-core
//! machine): a real store, the tonic server and the typed client per test.

#[macro_use]
mod common;

mod access;
mod decisions;
mod due_process;
mod evidence;
mod feeds;
mod homes;
mod ivo;
mod ombud;
mod over_time;
mod placements;
mod providers;
mod quarterly_form;
mod restrictions;
mod runaway;
mod socialjour;
mod statistics;
mod unit_role;
mod xregion;
