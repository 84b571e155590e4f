//! The binary's end-to-end tests, one test binary (one link on a 2-core
//! machine): `samling` run as a process, over gRPC, HTTP and its CLI.

mod common;

mod bench;
mod e2e;
mod mtls;
