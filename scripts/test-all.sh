#!/usr/bin/env bash
# README command 2: set up and run the whole test suite. CI runs exactly this.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
start=$SECONDS
step() { log "$* ($((SECONDS - start)) s)"; }

"$ROOT/scripts/setup.sh"

step "cargo fmt --check"
cargo fmt --all -- --check

# The front end is left out of native workspace runs: building it beside the
# server would unify app's `hydrate` and `ssr` features into one build.
step "clippy: server, engine and app with ssr"
cargo clippy --workspace --exclude frontend --all-targets -- -D warnings
step "clippy: app with hydrate, and the front end"
cargo clippy -p app -p frontend --features app/hydrate --all-targets -- -D warnings
step "clippy: app without features"
cargo clippy -p app --all-targets -- -D warnings

step "unit and integration tests"
cargo test --workspace --exclude frontend

step "building the console for the browser tests"
# The bundle only: `cargo test` built target/debug/tidemark for the server's
# integration tests, and building it on its own would compile app and server
# again (other features unify in a single-package build).
"$ROOT/scripts/build.sh" --bundle-only
[ -x "$TARGET_DIR/debug/tidemark" ] || die "cargo test did not build $TARGET_DIR/debug/tidemark"

step "browser tests (Chromium)"
(cd end2end && TIDEMARK_BIN="$TARGET_DIR/debug/tidemark" TIDEMARK_SITE_DIR="$SITE_DIR" npm test)
step "all tests passed"
