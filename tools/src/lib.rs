//! What the `samling` binary does besides serving, kept out of the service
//! crates: dev certificates (`samling certs dev`) and demo data (`samling
//! seed-demo`). The binary calls these; no service links them.
#![forbid(unsafe_code)]

pub mod certs;
pub mod demo;
