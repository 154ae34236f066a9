//! The CI workflow, `.ci/run` and the README agree on how the test suite runs:
//! GitHub Actions on Ubuntu and macOS installs Zig 0.16.0 from PyPI and runs
//! `bash scripts/test.sh`, the same command `.ci/run` calls and the README names.

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

/// The one command that runs the whole test suite on a fresh machine.
const TEST_COMMAND: &str = "bash scripts/test.sh";

#[track_caller]
fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The workflow's jobs, by name.
#[track_caller]
fn jobs() -> Vec<(String, Yaml)> {
    let text = read(".github/workflows/ci.yml");
    let docs = YamlLoader::load_from_str(&text).expect("ci.yml is valid YAML");
    assert_eq!(docs.len(), 1, "ci.yml holds one YAML document");
    let jobs = docs[0]["jobs"].as_hash().expect("ci.yml has a `jobs` map");
    assert!(!jobs.is_empty(), "ci.yml has at least one job");
    jobs.iter()
        .map(|(name, job)| {
            let name = name.as_str().expect("job names are strings").to_owned();
            (name, job.clone())
        })
        .collect()
}

#[track_caller]
fn steps<'a>(name: &str, job: &'a Yaml) -> &'a [Yaml] {
    job["steps"]
        .as_vec()
        .unwrap_or_else(|| panic!("job `{name}` has a list of steps"))
}

/// The shell lines of a step's `run`, trimmed; none for a `uses` step.
fn run_lines(step: &Yaml) -> Vec<String> {
    step["run"]
        .as_str()
        .map(|run| run.lines().map(|l| l.trim().to_owned()).collect())
        .unwrap_or_default()
}

/// The lines of a shell script that are neither blank nor comments, trimmed.
fn script_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn workflow_matrix_is_ubuntu_and_macos() {
    for (name, job) in jobs() {
        let os = job["strategy"]["matrix"]["os"]
            .as_vec()
            .unwrap_or_else(|| panic!("job `{name}` has a matrix `os` list"));
        let mut os: Vec<&str> = os
            .iter()
            .map(|o| o.as_str().expect("matrix os entries are strings"))
            .collect();
        os.sort_unstable();
        assert_eq!(os, ["macos-latest", "ubuntu-latest"], "job `{name}`");
    }
}

#[test]
fn workflow_runs_on_the_matrix_os() {
    for (name, job) in jobs() {
        assert_eq!(
            job["runs-on"].as_str(),
            Some("${{ matrix.os }}"),
            "job `{name}` runs on the matrix os"
        );
    }
}

#[test]
fn workflow_checks_out_the_repository_first() {
    for (name, job) in jobs() {
        let first = &steps(&name, &job)[0];
        let uses = first["uses"].as_str().unwrap_or_default();
        assert!(
            uses.starts_with("actions/checkout@"),
            "job `{name}` starts with actions/checkout, not {first:?}"
        );
    }
}

#[test]
fn workflow_installs_ziglang_0_16_0_with_pip() {
    for (name, job) in jobs() {
        let installs = steps(&name, &job).iter().any(|step| {
            run_lines(step)
                .iter()
                .any(|l| l.contains("pip install") && l.contains("ziglang==0.16.0"))
        });
        assert!(
            installs,
            "job `{name}` has a step running `pip install ziglang==0.16.0`"
        );
    }
}

#[test]
fn workflow_runs_the_test_script() {
    for (name, job) in jobs() {
        let runs = steps(&name, &job)
            .iter()
            .any(|step| run_lines(step).iter().any(|l| l == TEST_COMMAND));
        assert!(runs, "job `{name}` has a step running `{TEST_COMMAND}`");
    }
}

#[test]
fn ci_run_calls_the_test_script() {
    let text = read(".ci/run");
    let lines = script_lines(&text);
    assert!(
        lines
            .iter()
            .any(|l| *l == TEST_COMMAND || l.strip_prefix("exec ") == Some(TEST_COMMAND)),
        ".ci/run calls `{TEST_COMMAND}`; its lines are {lines:?}"
    );
}

#[test]
fn readme_names_the_test_script() {
    let readme = read("README.md");
    assert!(
        readme.contains(&format!("`{TEST_COMMAND}`")),
        "README.md names `{TEST_COMMAND}`"
    );
}
