#!/usr/bin/env bash
# README command 1: set up, build, and run the console on embedded defaults
# (SQLite catalog and a local repository under ./data, 127.0.0.1:3000).
# Builds what an administrator deploys: the optimised, precompressed bundle
# and the release binary.
#   scripts/run-console.sh --dev   the quick developer build instead (debug;
#                                  a bundle of about 130 MiB)
# Other arguments go to `tidemark serve`, e.g. --listen 127.0.0.1:8080.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$ROOT/scripts/setup.sh"
case "${1:-}" in
  --dev) shift; "$ROOT/scripts/build.sh"; bin="$TARGET_DIR/debug/tidemark" ;;
  # --release is the default; still accepted, as older instructions give it.
  --release) shift; "$ROOT/scripts/build.sh" --release; bin="$TARGET_DIR/release/tidemark" ;;
  *) "$ROOT/scripts/build.sh" --release; bin="$TARGET_DIR/release/tidemark" ;;
esac
cd "$ROOT"
exec "$bin" serve "$@"
