//! The gateway's integration tests, one binary (one link on a 2-core
//! machine): real registries behind the real gateway, over TCP.

mod common;

mod compensation;
mod dashboard;
mod duties;
mod http;
mod ivo;
mod limits;
mod matching;
mod matrix;
mod ombud;
mod portfolio;
mod recruitment;
mod regions;
mod restrictions;
mod statistics;
mod trace;
mod xregion;
