//! `warroom demo` as a user runs it: the built binary, no config, no database, no network but loopback.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `warroom demo ARGS` with its temporary directory under `tmp` and hostile `WARROOM_*` overrides
/// (a database URL and listen address it must ignore).
fn demo(tmp: &Path, args: &[&str]) -> (Output, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warroom"));
    for (key, _) in std::env::vars() {
        if key.starts_with("WARROOM_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd
        .arg("demo")
        .args(args)
        .current_dir(tmp)
        .env("TMPDIR", tmp)
        .env(
            "WARROOM_DATABASE__URL",
            "postgres://nobody@192.0.2.1:1/none",
        )
        .env("WARROOM_SERVER__LISTEN", "192.0.2.1:1")
        .env("WARROOM_CONFIG", tmp.join("missing.toml"))
        .output()
        .expect("run warroom demo");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "warroom demo failed ({}):\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (out, stdout)
}

fn expect(stdout: &str, needle: &str) {
    assert!(
        stdout.contains(needle),
        "`{needle}` missing from the demo's output:\n{stdout}"
    );
}

#[test]
fn demo_runs_the_whole_incident_and_prints_the_postmortem() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, stdout) = demo(tmp.path(), &[]);
    // The storm is de-duplicated into one incident.
    expect(&stdout, "300 alert reports received");
    expect(&stdout, "300 reports → 6 distinct alerts");
    expect(&stdout, "→ 1 incident(s)");
    expect(&stdout, "== Incident #1 opened ==");
    expect(&stdout, "service checkout");
    // The deploy is named as the suspect, with its version and author and evidence.
    let suspects = stdout
        .split("== Suspect changes")
        .nth(1)
        .expect("a suspects section");
    let first = suspects.lines().nth(1).unwrap_or_default();
    assert!(
        first.starts_with("  1. chg-") && first.contains("v2.3.1") && first.contains("by alice"),
        "the top suspect is the v2.3.1 deploy by alice: {first}"
    );
    expect(suspects, "evidence:");
    // The war room works through its commands, then the incident resolves.
    expect(&stdout, "alice> /inc role commander @me");
    expect(&stdout, "alice> /inc mitigate");
    expect(&stdout, "alice> /inc action Add a canary stage");
    expect(&stdout, "all alerts of #1 resolved");
    expect(&stdout, "incident #1 status: resolved");
    // The postmortem, rendered through templates/postmortem.md.
    let pm = stdout
        .split("== The postmortem draft")
        .nth(1)
        .expect("a postmortem section");
    for heading in [
        "# Postmortem draft: #1 ",
        "## Summary",
        "## Impact",
        "## Detection",
        "## Timeline",
        "## Alerts",
        "## Contributing factors",
        "## Action items",
        "## Questions for the review",
    ] {
        expect(pm, heading);
    }
    expect(pm, "v2.3.1");
    expect(pm, "Add a canary stage to the checkout pipeline");
    expect(&stdout, "demo complete");
    // The throw-away directory is gone.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "the demo left files behind: {left:?}");
}

#[test]
fn demo_keep_leaves_the_database_and_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, stdout) = demo(tmp.path(), &["--keep"]);
    let line = stdout
        .lines()
        .find(|l| l.contains("kept in "))
        .expect("the kept directory is named");
    let dir = Path::new(line.rsplit("kept in ").next().unwrap().trim());
    assert!(dir.starts_with(tmp.path()), "{dir:?} is under TMPDIR");
    assert!(dir.join("warroom.db").is_file(), "the database is kept");
    assert!(dir.join("services.toml").is_file(), "the catalog is kept");
}
