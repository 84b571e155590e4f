//! Helpers the binary's integration tests share.
#![allow(dead_code)] // each test file uses its own subset

use std::process::{Child, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_samling");

/// A running `samling` process, killed when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The standard output of a command that must have succeeded; on failure
/// the assertion shows both streams.
pub fn stdout_of_success(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
