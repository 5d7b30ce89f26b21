#!/usr/bin/env bash
# Runs every fuzz target in turn (one process, one core each, sequentially) until each has had
# FUZZ_SECONDS of CPU time, and prints a summary: target, CPU and wall seconds, executions,
# corpus size, result. Not part of .ci/run: it needs nightly flags.
#
#   fuzz/run.sh                          # every target, 300 CPU-seconds each
#   FUZZ_SECONDS=60 fuzz/run.sh jwt_token claims_mapping
#   FUZZ_MAX_WALL=600 fuzz/run.sh        # stop a target after 10 minutes, whatever its CPU time
#
# Corpora grow in fuzz/corpus/<target> (not committed); fuzz/seeds/<target> (committed) is read
# too. A crash leaves its input in fuzz/artifacts/<target>/ and makes the script exit 1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

seconds=${FUZZ_SECONDS:-300}
# Wall-clock cap per target, for a busy machine (default: four times the CPU budget).
max_wall=${FUZZ_MAX_WALL:-$(( 4 * seconds ))}
# cargo-fuzz passes -Z flags to rustc; the stable toolchain accepts them with RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

# -a: debug assertions and overflow checks on, so an arithmetic overflow is a crash too.
for target in "${targets[@]}"; do
  cargo fuzz build -a "$target"
done
triple=$(rustc -vV | sed -n 's/^host: //p')
bin_dir=target/$triple/release

mkdir -p logs
summary=()
status=0
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "artifacts/$target"
  log=logs/$target.log
  : >"$log"
  # libFuzzer's -max_total_time is wall-clock; on a shared machine a run gets only part of a
  # core, so the target runs in rounds until it has had $seconds of CPU time (or $max_wall s).
  cpu=0
  execs=0
  started=$(date +%s)
  result=ok
  while [ "$cpu" -lt "$seconds" ] && [ $(( $(date +%s) - started )) -lt "$max_wall" ]; do
    round=$(( seconds - cpu < 60 ? seconds - cpu : 60 ))
    [ "$round" -lt 10 ] && round=10
    set +e
    /usr/bin/time -f '%U %S' -o "logs/$target.time" \
      "$bin_dir/$target" "corpus/$target" "seeds/$target" \
      -max_total_time="$round" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="artifacts/$target/" >>"$log" 2>&1
    code=$?
    set -e
    # time(1) puts "Command exited with non-zero status N" first when the run failed.
    read -r user sys < <(tail -n 1 "logs/$target.time") || true
    cpu=$(awk -v c="$cpu" -v u="${user:-0}" -v s="${sys:-0}" 'BEGIN { printf "%.0f", c + u + s }')
    round_execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    execs=$(( execs + ${round_execs:-0} ))
    if [ "$code" -ne 0 ]; then
      result="CRASH (exit $code, see fuzz/$log and fuzz/artifacts/$target/)"
      status=1
      break
    fi
  done
  corpus=$(find "corpus/$target" -type f | wc -l)
  summary+=("$(printf '%-24s %8s %8s %12s %8s  %s' "$target" "$cpu" "$(( $(date +%s) - started ))" "$execs" "$corpus" "$result")")
  echo "${summary[-1]}"
done

echo
printf '%-24s %8s %8s %12s %8s  %s\n' target cpu_s wall_s execs corpus result
printf '%s\n' "${summary[@]}"
exit "$status"
