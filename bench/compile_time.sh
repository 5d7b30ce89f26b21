#!/usr/bin/env bash
# Compile-time cost of the macros: a generated 50-tool server written with
# `#[mcp_rbac::tool_router]` (+ `#[mcp_rbac::tool_handler]`) against the same server written with
# plain rmcp macros. Dependencies are built first and shared; each measurement is
# `cargo clean -p <crate>` then `cargo build -p <crate>` (wall time), alternating the two crates,
# median of RUNS (default 3).
#
#   bench/compile_time.sh            # prints one line per crate and the ratio
#   TOOLS=50 RUNS=3 PROFILE=dev WORK=/tmp/mcp-rbac-compile-time bench/compile_time.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=${TOOLS:-50}
RUNS=${RUNS:-3}
PROFILE=${PROFILE:-dev}
WORK=${WORK:-/tmp/mcp-rbac-compile-time}
mkdir -p "$WORK"
cd "$WORK"

cat > Cargo.toml <<TOML
[workspace]
members = ["rbac", "plain"]
resolver = "2"
TOML
cp "$ROOT/Cargo.lock" Cargo.lock

# $1 crate dir, $2 "rbac" | "plain"
generate() {
  local dir=$1 kind=$2 i
  mkdir -p "$dir/src"
  {
    echo '[package]'
    echo "name = \"compile-time-$kind\""
    echo 'version = "0.0.0"'
    echo 'edition = "2021"'
    echo 'publish = false'
    echo '[dependencies]'
    echo 'rmcp = { version = "3.9", default-features = false, features = ["server", "macros", "schemars", "transport-streamable-http-server"] }'
    echo 'serde = { version = "1", features = ["derive"] }'
    echo 'schemars = "1"'
    # Both crates link mcp-rbac, so they share one dependency graph and differ only in macros.
    echo "mcp-rbac = { path = \"$ROOT/mcp-rbac\" }"
  } > "$dir/Cargo.toml"
  {
    echo 'use rmcp::handler::server::wrapper::Parameters;'
    echo 'use rmcp::ServerHandler;'
    echo 'use schemars::JsonSchema;'
    echo 'use serde::Deserialize;'
    for i in $(seq 1 "$TOOLS"); do
      echo "#[derive(Deserialize, JsonSchema)] pub struct Args$i { pub id: u64, pub note: Option<String> }"
    done
    echo '#[derive(Clone)] pub struct Server;'
    if [[ $kind == rbac ]]; then echo '#[mcp_rbac::tool_router]'; else echo '#[rmcp::tool_router]'; fi
    echo 'impl Server {'
    for i in $(seq 1 "$TOOLS"); do
      if [[ $kind == rbac ]]; then
        if (( i % 5 == 0 )); then req='public'
        elif (( i % 5 == 1 )); then req="requires = any(\"Area$i.Write\", \"Admin.Write\")"
        else req="requires = \"Area$i.Read\""; fi
        echo "    #[tool($req, description = \"Tool number $i\")]"
      else
        echo "    #[rmcp::tool(description = \"Tool number $i\")]"
      fi
      echo "    async fn tool_$i(&self, Parameters(Args$i { id, note }): Parameters<Args$i>) -> String { format!(\"{} {} {:?}\", $i, id, note) }"
    done
    echo '}'
    if [[ $kind == rbac ]]; then echo '#[mcp_rbac::tool_handler]'; else echo '#[rmcp::tool_handler]'; fi
    echo 'impl ServerHandler for Server {}'
  } > "$dir/src/lib.rs"
}
generate rbac rbac
generate plain plain

flag=()
[[ $PROFILE == release ]] && flag=(--release)
echo "building dependencies once ($PROFILE)..." >&2
cargo build "${flag[@]}" -q --workspace 2>&1 | tail -5 >&2

declare -A times
for run in $(seq 1 "$RUNS"); do
  for kind in plain rbac; do
    cargo clean "${flag[@]}" -q -p "compile-time-$kind"
    start=$(date +%s.%N)
    cargo build "${flag[@]}" -q -p "compile-time-$kind"
    end=$(date +%s.%N)
    t=$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.2f", b-a}')
    times[$kind]="${times[$kind]:-} $t"
    echo "run $run $kind ${t}s" >&2
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
p=$(echo "${times[plain]}" | median)
r=$(echo "${times[rbac]}" | median)
echo "$TOOLS tools, $PROFILE, median of $RUNS: plain rmcp ${p}s, mcp-rbac ${r}s, ratio $(awk -v r="$r" -v p="$p" 'BEGIN{printf "%.2f", r/p}')"
