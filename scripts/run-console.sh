#!/usr/bin/env bash
# README command 1: set up, build, and run the console on embedded defaults
# (SQLite catalog and a local repository under ./data, 127.0.0.1:3000).
# Extra arguments go to `tidemark serve`, e.g. --listen 127.0.0.1:8080.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$ROOT/scripts/setup.sh"
if [ "${1:-}" = --release ]; then shift; "$ROOT/scripts/build.sh" --release; bin="$TARGET_DIR/release/tidemark"
else "$ROOT/scripts/build.sh"; bin="$TARGET_DIR/debug/tidemark"; fi
cd "$ROOT"
exec "$bin" serve "$@"
