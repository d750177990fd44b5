//! The fault suite's tools: the real binary as a child process, load generators, a private
//! PostgreSQL cluster, the exactly-once checks, and the knobs that make a run long.

#![allow(dead_code)]

pub mod checks;
pub mod load;
pub mod private_pg;
pub mod process;

use crate::slack_server::Faults;

fn knob(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not `{v}`")),
        Err(_) => default,
    }
}

/// Rounds of each fault test (`WARROOM_FAULT_ROUNDS`, default 1: the CI form).
pub fn rounds() -> u64 {
    knob("WARROOM_FAULT_ROUNDS", 1).max(1)
}

/// SIGKILLs per round of the kill test (`WARROOM_FAULT_KILLS`, default 12).
pub fn kills() -> u64 {
    knob("WARROOM_FAULT_KILLS", 12).max(1)
}

/// PostgreSQL crashes per round of the restart test (`WARROOM_FAULT_PG_RESTARTS`, default 2).
pub fn pg_restarts() -> u64 {
    knob("WARROOM_FAULT_PG_RESTARTS", 2).max(1)
}

/// Seconds of racing load in the replicas test (`WARROOM_FAULT_SECONDS`, default 8).
pub fn race_seconds() -> u64 {
    knob("WARROOM_FAULT_SECONDS", 8).max(1)
}

/// 30% of the platform's answers are faults: 15% `429` + `Retry-After: 1` before any effect, and
/// (of the rest) 15% a `500` — after the effect for a write (the reply is lost, the post is there),
/// none for a read.
pub fn thirty_percent() -> Faults {
    Faults {
        rate_limited: 0.15,
        fail_after_effect: 0.15 / 0.85,
        fail_reads: 0.15 / 0.85,
        retry_after_secs: 1,
        ..Faults::default()
    }
}

/// Prints one round's figures as a line of JSON (`fault-report {…}`, see RELIABILITY.md), and appends
/// it to the file named by `WARROOM_FAULT_REPORT` when set.
pub fn report(test: &str, backend: &str, round: u64, figures: serde_json::Value) {
    let line =
        serde_json::json!({"test": test, "backend": backend, "round": round, "figures": figures});
    eprintln!("fault-report {line}");
    if let Ok(path) = std::env::var("WARROOM_FAULT_REPORT") {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        writeln!(f, "{line}").unwrap();
    }
}
