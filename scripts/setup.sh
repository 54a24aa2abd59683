#!/usr/bin/env bash
# Installs what building and testing Tidemark needs, from package registries
# only. Idempotent and quick when everything is present.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APT_PACKAGES=(
  # Debian's Rust 1.96 with its std source, to rebuild wasm32's std offline.
  rustc-web cargo-web rust-web-src rust-web-llvm lld-22 rustfmt-web rust-web-clippy
  # Browser tests (never a downloaded browser) and the servers tests start.
  chromium postgresql mariadb-server
  # InfluxDB 1.x (influxd) and its CLI, which checks the InfluxDB round trips.
  influxdb influxdb-client
  # promtool (Prometheus' own checker) validates the /metrics exposition.
  prometheus
  # A real SMTP server (aiosmtpd) receives the notification tests' mail.
  python3-aiosmtpd
  # A CJK font, so the browser tests' zh-CN screenshots show the characters.
  fonts-wqy-microhei
  # sqlite3 .dump is the independent check of SQLite round trips.
  sqlite3
  # The build precompresses the browser bundle: .br, and .gz (smaller with zopfli).
  brotli zopfli
  # chattr makes a restore target read-only even for root in the failure tests.
  e2fsprogs
  ca-certificates
)
# Node and npm run the browser tests and wasm-opt. A machine may already have
# them from another packaging (which ships npm inside nodejs): only install
# Debian's when the commands are missing.
command -v node >/dev/null && command -v npm >/dev/null || APT_PACKAGES+=(nodejs npm)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The distribution's services are not used: tests start their own servers.
for svc in postgresql mariadb influxdb prometheus; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    as_root systemctl stop "$svc" || true
  fi
done

want="$(locked_wasm_bindgen_version)"
[ -n "$want" ] || die "no wasm-bindgen entry in Cargo.lock"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$want" ]; then
  log "installing wasm-bindgen-cli $want (was: ${have:-none}); this takes several minutes"
  # Not --locked: its lock file wants a webpki-roots release the registry lacks.
  /usr/bin/cargo install wasm-bindgen-cli --version "$want"
fi

if [ ! -x "$MOTO_SERVER" ]; then
  log "installing moto's S3 test server into $TOOLS_VENV"
  python3 -m venv "$TOOLS_VENV" || { as_root apt-get install -y -qq python3-venv && python3 -m venv "$TOOLS_VENV"; }
  "$TOOLS_VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.*'
fi
if [ ! -x "$OPENAPI_SPEC_VALIDATOR" ]; then
  log "installing openapi-spec-validator into $TOOLS_VENV"
  "$TOOLS_VENV/bin/pip" install --quiet --disable-pip-version-check 'openapi-spec-validator>=0.7,<1'
fi

npm_install() {
  local dir="$1"
  # Re-install only when the lock file changed since the last install.
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "installing npm packages in ${dir#"$ROOT"/}"
    if [ -f "$dir/package-lock.json" ]; then
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    else
      (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
    fi
  fi
}
# playwright-core ships no browser and downloads none.
npm_install "$ROOT/end2end"
npm_install "$ROOT/tools/wasm-opt"
