#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS (default 10) from its seed corpus: the real
# payloads in ../shared/fixtures/ and tests/fixtures/, plus the hand-written seeds in fuzz/seeds/.
# A crash stops nothing else; the script exits non-zero naming each target that crashed, and the
# input is in fuzz/artifacts/<target>/ (make it a regression test in tests/fuzz_regressions.rs).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
# cargo fuzz needs nightly flags (-Zsanitizer=…, sancov); the stable toolchain allows them this way.
export RUSTC_BOOTSTRAP=1 CARGO_INCREMENTAL=0
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# No sanitizer: safe Rust, a panic is what is looked for; debug assertions give overflow checks.
# CI's bounded run builds unoptimised (a clean optimised, instrumented build of the whole tree takes
# ~13 CPU-minutes on this machine, the unoptimised one a fraction of it); long runs want
# WARROOM_FUZZ_PROFILE=release for ~10x the executions per second.
if [ "${WARROOM_FUZZ_PROFILE:-dev}" = release ]; then
  flags=(-s none -O -a)
else
  flags=(-s none --dev)
fi
cargo fuzz build "${flags[@]}" || exit 1

shared=../shared/fixtures
[ -d "$shared" ] || shared="$(cd .. && pwd)/shared/fixtures"
seed() { # target, files…
  local dir="fuzz/corpus/$1"; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/seed-$(basename "$f")"; done
}
seed alertmanager "$shared"/alertmanager/*.json tests/fixtures/alertmanager/*.json
seed grafana "$shared"/realworld/grafana/*.json tests/fixtures/grafana/*.json
seed pagerduty "$shared"/realworld/pagerduty/*.json*
seed native_alerts fuzz/seeds/native_alerts/*
seed changes fuzz/seeds/changes/*
seed argocd fuzz/seeds/argocd/*
seed slack_event "$shared"/realworld/slack/*.json
seed slack_command "$shared"/realworld/slack/*slash-command*.form
seed slack_interaction "$shared"/realworld/slack/*interactivity*.form
seed command fuzz/seeds/command/*
seed config config/warroom.example.toml
seed backstage "$shared"/realworld/backstage/*.yaml
# GitHub: the first byte picks the X-GitHub-Event header (0 deployment, 1 deployment_status, 2 ping).
mkdir -p fuzz/corpus/github
for f in "$shared"/realworld/github/*.json; do
  [ -f "$f" ] || continue
  case "$(basename "$f")" in
    deployment_status*) b='\001' ;; deployment*) b='\000' ;; *) b='\002' ;;
  esac
  { printf "$b"; cat "$f"; } > "fuzz/corpus/github/seed-$(basename "$f")"
done

crashed=()
for target in $(cargo fuzz list); do
  echo "--- fuzz $target (${seconds}s)"
  cargo fuzz run "${flags[@]}" "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    > "fuzz/last-$target.log" 2>&1
  status=$?
  grep -E "^(stat::number_of_executed_units|stat::new_units_added|SUMMARY|thread '|==[0-9]+== ERROR)" \
    "fuzz/last-$target.log" || true
  if [ "$status" -ne 0 ]; then tail -40 "fuzz/last-$target.log"; crashed+=("$target"); fi
done
if [ "${#crashed[@]}" -gt 0 ]; then
  echo "fuzzing found crashes in: ${crashed[*]} (inputs in fuzz/artifacts/)"
  exit 1
fi
echo "fuzzing: no crash in $(cargo fuzz list | wc -l) targets, ${seconds}s each"
