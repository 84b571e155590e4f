//! The Python that runs a registry-package validator in a test (sepaxml's
//! pain.001 XSD, `fhir.resources`): `SAMLING_TEST_PYTHON` (CI's venv,
//! .ci/run), else `python3` when it imports what the test needs, else a
//! venv made under `venv_dir` from the pinned `.ci/requirements-pain001.txt`
//! (so `cargo test --workspace` needs no setup beyond Python and the
//! package registry). Callers keep the answer in a `OnceLock`.

use std::path::Path;
use std::process::Command;

/// A Python that can `import_check` (e.g. `"import sepaxml, xmlschema"`);
/// `venv_dir` is where to make the venv when neither given one can.
pub fn with_packages(import_check: &str, venv_dir: &Path) -> String {
    if let Ok(p) = std::env::var("SAMLING_TEST_PYTHON") {
        return p;
    }
    let has_packages = |python: &str| {
        Command::new(python)
            .args(["-c", import_check])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has_packages("python3") {
        return "python3".into();
    }
    let python = venv_dir.join("bin/python").to_string_lossy().to_string();
    if !has_packages(&python) {
        let requirements =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/requirements-pain001.txt");
        let run = |cmd: &mut Command| {
            let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
            assert!(
                out.status.success(),
                "{cmd:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(venv_dir));
        run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements));
    }
    python
}
