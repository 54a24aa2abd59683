# Shared by the project's scripts: paths and small helpers. Sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
SITE_DIR="$ROOT/target/site"
OUTPUT_NAME="tidemark"
export LEPTOS_OUTPUT_NAME="$OUTPUT_NAME"
# Debian's toolchain (rustc-web) in /usr, and cargo-installed tools.
export PATH="$HOME/.cargo/bin:/usr/bin:$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run as root directly, otherwise through sudo when it exists.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $* (install the packages listed in scripts/setup.sh by hand)"
  fi
}

# The wasm-bindgen version pinned in Cargo.lock.
locked_wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

# Python tools the tests start (moto's S3 server), in a virtualenv shared by
# every clone on the machine so CI does not reinstall them each run.
TOOLS_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/tidemark/venv"
export MOTO_SERVER="$TOOLS_VENV/bin/moto_server"
# An independent OpenAPI validator, and the Python that checks API answers
# against the document's schemas (jsonschema comes with it).
export OPENAPI_SPEC_VALIDATOR="$TOOLS_VENV/bin/openapi-spec-validator"
export TOOLS_PYTHON="$TOOLS_VENV/bin/python"
