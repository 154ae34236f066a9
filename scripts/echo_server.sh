#!/usr/bin/env bash
# Starts the echo server example. On a fresh machine it first installs what
# building jzx needs (Zig 0.16.0 from PyPI, libclang; see scripts/install-deps.sh).
#
# Usage: bash scripts/echo_server.sh [PORT] [--loops N]   (PORT defaults to 5555,
#        N to 1: with N > 1 it serves on N loops, see the example's docs)
# Then, from another terminal: nc 127.0.0.1 PORT
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/install-deps.sh
. scripts/install-deps.sh

jzx_ensure_rust
jzx_ensure_zig
jzx_ensure_zig_cache
jzx_ensure_libclang

exec cargo run --release --example echo_server -- "$@"
