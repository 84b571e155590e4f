//! A test alone in a process of its own.

/// Set in the child process to the name of the test it runs.
const CHILD: &str = "SAMLING_TEST_OWN_PROCESS";

/// Runs the calling test alone in a process of its own, for a test that
/// installs per-process globals (the tracing subscriber, the OpenTelemetry
/// tracer and meter providers) and counts what they collect: in a shared
/// test binary other tests would add their spans and metrics.
///
/// Returns `true` where the test's body is to run (the child process, or
/// every test under nextest, which already gives each test a process);
/// `false` in the parent once the child ran exactly that test and passed.
/// A failing child fails the test with the child's output.
pub fn in_own_process() -> bool {
    // libtest runs each test on a thread named after it.
    let name = std::thread::current()
        .name()
        .expect("called from a test's thread (libtest names it after the test)")
        .to_string();
    if std::env::var(CHILD).as_deref() == Ok(name.as_str())
        || std::env::var("NEXTEST_EXECUTION_MODE").as_deref() == Ok("process-per-test")
    {
        return true;
    }
    if let Err(e) = run_alone(&name) {
        panic!("{e}");
    }
    false
}

/// Run the test binary again with test `name` alone; an error unless it
/// ran exactly that one test and it passed.
fn run_alone(name: &str) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("the test binary's path: {e}"))?;
    let out = std::process::Command::new(exe)
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, name)
        .output()
        .map_err(|e| format!("run the test binary again: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.success() && stdout.contains("test result: ok. 1 passed") {
        Ok(())
    } else {
        Err(format!(
            "{name} in its own process: {}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_runs_in_the_child_only() {
        if !in_own_process() {
            return;
        }
        if std::env::var("NEXTEST_EXECUTION_MODE").as_deref() != Ok("process-per-test") {
            assert_eq!(
                std::env::var(CHILD).as_deref(),
                Ok("process::tests::the_body_runs_in_the_child_only"),
                "the body ran outside the child"
            );
        }
    }

    #[test]
    fn a_child_that_ran_no_test_is_a_failure_not_a_pass() {
        let e = run_alone("process::tests::no_such_test").unwrap_err();
        assert!(e.contains("no_such_test in its own process"), "{e}");
    }
}
