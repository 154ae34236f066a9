#!/usr/bin/env bash
# Runs every benchmark of benches/ in release (`cargo bench` builds them) and
# collects their BENCH lines into target/bench-results.txt (the full output
# goes to target/bench-output.txt). Method and results: BENCHMARKS.md.
#
# One loop on one core (SPEC §8): each benchmark process is pinned with
# `taskset -c 0` when taskset exists and CPU 0 is allowed. cross_thread gets
# two CPUs (`taskset -c 0,1`): it pins its loop thread to the first and its
# producer thread to the second itself. cross_loop gets two CPUs too: it runs
# runtimes of two loops (and tokio's two workers) on them, pinning its
# threads only with `-- --pin 1`. echo runs unpinned: it starts its own
# processes and pins them (echo server on CPU 0, load client on CPU 1); it
# needs the release examples, which this script builds first, and writes its
# plot to bench-echo.svg (target/bench-echo-smoke.svg with --smoke).
#
# Usage: bash scripts/bench.sh [BENCH...] [-- ARGS...]
#   BENCH: tell ping_pong spawn skynet cross_thread timers ask cross_loop echo
#          (default: all)
#   ARGS:  passed to every benchmark, e.g. `-- --runs 7` or `-- --smoke`
# Environment: JZX_BACKEND=epoll|io_uring picks the backend (default: io_uring
# where available, else epoll); echo ignores it and runs both.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

all=(tell ping_pong spawn skynet cross_thread timers ask cross_loop echo)
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
# echo runs these (release, next to the bench executables' profile).
case " ${benches[*]} " in
*" echo "*) cargo build --release --example echo_server --example echo_tokio --example echo_bench ;;
esac
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
    case $b in
    cross_thread | cross_loop) if [ "$ncpu" -ge 2 ]; then cpus=0,1; fi ;;
    esac
    prefix=$(pin "$cpus")
    extra=()
    if [ "$b" = echo ]; then
        # It pins the processes it starts itself.
        prefix=
        plot=bench-echo.svg
        case " ${args[*]-} " in *" --smoke "*) plot=target/bench-echo-smoke.svg ;; esac
        extra=(--plot "$plot")
        echo "==> $b (server on CPU 0, client on CPU 1; loadavg $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))" | tee -a "$output" >&2
    else
        echo "==> $b (${prefix:-unpinned})" | tee -a "$output" >&2
    fi
    # shellcheck disable=SC2086 # $prefix is a command prefix, split on purpose
    $prefix "$exe" --bench ${extra[@]+"${extra[@]}"} ${args[@]+"${args[@]}"} 2>&1 | tee -a "$output" | grep '^BENCH ' | tee -a "$results"
done

echo "results: $results (full output: $output)" >&2
