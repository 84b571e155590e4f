//! Ombud's integration tests, one binary: a real store on every backend,
//! the tonic server, the registry's feed followed by the real consumer,
//! and a typed client per caller.

#[macro_use]
mod common;

mod access;
mod assignment;
mod cases;
mod follow_up;
mod meetings;
mod reviews;
mod surveys;
