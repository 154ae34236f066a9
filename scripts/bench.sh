#!/usr/bin/env bash
# Runs every benchmark of benches/ in release (`cargo bench` builds them) and
# collects their BENCH lines into target/bench-results.txt (the full output
# goes to target/bench-output.txt). Method and results: BENCHMARKS.md.
#
# One loop on one core (SPEC §8): each benchmark process is pinned with
# `taskset -c 0` when taskset exists and CPU 0 is allowed. cross_thread gets
# two CPUs (`taskset -c 0,1`): it pins its loop thread to the first and its
# producer thread to the second itself.
#
# Usage: bash scripts/bench.sh [BENCH...] [-- ARGS...]
#   BENCH: tell ping_pong spawn skynet cross_thread timers (default: all)
#   ARGS:  passed to every benchmark, e.g. `-- --runs 7` or `-- --smoke`
# Environment: JZX_BACKEND=epoll|io_uring picks the backend (default: io_uring
# where available, else epoll).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

all=(tell ping_pong spawn skynet cross_thread timers)
benches=()
args=()
while [ $# -gt 0 ]; do
    case $1 in
    --) shift; args=("$@"); break ;;
    *) benches+=("$1"); shift ;;
    esac
done
[ ${#benches[@]} -eq 0 ] && benches=("${all[@]}")

results=target/bench-results.txt
output=target/bench-output.txt
mkdir -p target

# Build once (release, the bench profile) and learn each executable's path.
build_args=()
for b in "${benches[@]}"; do build_args+=(--bench "$b"); done
json=$(cargo bench --no-run --message-format=json-render-diagnostics "${build_args[@]}")
exe_of() {
    printf '%s\n' "$json" | python3 -c '
import json, sys
want = sys.argv[1]
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    t = m.get("target") or {}
    if m.get("reason") == "compiler-artifact" and "bench" in t.get("kind", []) \
            and t.get("name") == want and m.get("executable"):
        print(m["executable"])
' "$1"
}

# pin CPUS: the taskset prefix, or nothing when pinning is not possible.
pin() {
    if command -v taskset >/dev/null && taskset -c "$1" true 2>/dev/null; then
        printf 'taskset -c %s' "$1"
    fi
}

ncpu=$(nproc 2>/dev/null || echo 1)
{
    echo "# jzx benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# $(nproc 2>/dev/null) CPUs, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r)"
    echo "# backend: ${JZX_BACKEND:-auto}; args: ${args[*]:-(defaults)}"
} | tee "$results" >"$output"

for b in "${benches[@]}"; do
    exe=$(exe_of "$b")
    if [ -z "$exe" ]; then
        echo "bench.sh: no executable for bench '$b'" >&2
        exit 1
    fi
    cpus=0
    if [ "$b" = cross_thread ] && [ "$ncpu" -ge 2 ]; then cpus=0,1; fi
    prefix=$(pin "$cpus")
    echo "==> $b (${prefix:-unpinned})" | tee -a "$output" >&2
    # shellcheck disable=SC2086 # $prefix is a command prefix, split on purpose
    $prefix "$exe" --bench ${args[@]+"${args[@]}"} 2>&1 | tee -a "$output" | grep '^BENCH ' | tee -a "$results"
done

# TODO(echo): the echo benchmark (SPEC §8: 50 connections x 64 B, server pinned
# to one core, client on the other, jzx vs a tokio current-thread echo server,
# server CPU time per echo and req/s, on io_uring and on epoll) is being written
# by another engineer (examples/echo_server.rs, examples/echo_bench.rs). Hook it
# in here so that it appends its own `BENCH echo ...` line(s) to "$results", e.g.
#   bash scripts/echo_bench.sh | grep '^BENCH ' | tee -a "$results"

echo "results: $results (full output: $output)" >&2
