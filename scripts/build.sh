#!/usr/bin/env bash
# Builds the console: the hydrating WASM bundle, the CSS and static files in
# target/site (the layout leptos_axum serves), and the `tidemark` binary.
#   scripts/build.sh --release  the deployable build: optimised bundle
#                               (wasm-opt when installed), release binary
#   scripts/build.sh            the quick developer build (debug)
#   scripts/build.sh --bundle-only
#                               the debug bundle alone, for a `tidemark` that
#                               `cargo test` already built (the test suite)
# Either way the bundle files get content-hashed names
# (pkg/tidemark.<hash>.wasm, listed in target/site/hash.txt) and .br and .gz
# copies beside them, which the server sends by Accept-Encoding.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

profile=debug
wasm_profile=dev
cargo_flags=()
build_server=yes
case "${1:-}" in
  --release) profile=release; wasm_profile=wasm-release; cargo_flags=(--release) ;;
  --bundle-only) build_server=no ;;
  "") ;;
  *) die "unknown option $1 (expected --release, --bundle-only or nothing)" ;;
esac
wasm_dir_profile=$([ "$wasm_profile" = dev ] && echo debug || echo "$wasm_profile")

cd "$ROOT"
log "building the browser bundle ($wasm_profile)"
# RUSTC_BOOTSTRAP is scoped to this build: -Zbuild-std rebuilds wasm32's std
# from Debian's rust-web-src. A separate target dir keeps it from
# invalidating the native build.
RUSTC_BOOTSTRAP=1 cargo build -p frontend --lib --target wasm32-unknown-unknown \
  -Zbuild-std=std,panic_abort --profile "$wasm_profile" --target-dir "$TARGET_DIR/front"

# Assembled beside the site and swapped in at the end, so a running server
# never sees a half-written bundle.
stage="$SITE_DIR.new"
rm -rf "$stage"
pkg="$stage/pkg"
mkdir -p "$pkg"
wasm-bindgen --target web --no-typescript --out-dir "$pkg" --out-name "$OUTPUT_NAME" \
  "$TARGET_DIR/front/wasm32-unknown-unknown/$wasm_dir_profile/frontend.wasm"
mv -f "$pkg/${OUTPUT_NAME}_bg.wasm" "$pkg/$OUTPUT_NAME.wasm"

wasm_opt="$ROOT/tools/wasm-opt/node_modules/.bin/wasm-opt"
if [ "$profile" = release ] && [ -x "$wasm_opt" ]; then
  log "optimising the bundle with wasm-opt"
  "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    -o "$pkg/$OUTPUT_NAME.opt.wasm" "$pkg/$OUTPUT_NAME.wasm"
  mv -f "$pkg/$OUTPUT_NAME.opt.wasm" "$pkg/$OUTPUT_NAME.wasm"
elif [ "$profile" = release ]; then
  log "wasm-opt not installed (scripts/setup.sh installs it); bundle left unoptimised"
fi

cp style/main.css "$pkg/$OUTPUT_NAME.css"
cp -R public/. "$stage/"

# Deployed bundles get the best compression (zopfli writes gzip about 4%
# smaller than gzip -9: browsers take only gzip over plain HTTP); the debug
# bundle is large (debug info) and compressed quickly.
if [ "$profile" = release ]; then gzip_level=-9 brotli_level=11; else gzip_level=-1 brotli_level=1; fi
write_gzip() {
  if [ "$profile" = release ] && command -v zopfli >/dev/null; then zopfli "$1"
  else gzip "$gzip_level" --no-name --keep --force "$1"; fi
}
: >"$stage/hash.txt"
for ext in js wasm css; do
  file="$pkg/$OUTPUT_NAME.$ext"
  # 16 hex digits: the length the server recognises as a content hash.
  hash="$(sha256sum "$file" | cut -c1-16)"
  hashed="$pkg/$OUTPUT_NAME.$hash.$ext"
  mv "$file" "$hashed"
  write_gzip "$hashed"
  brotli --quality="$brotli_level" --keep --force "$hashed"
  echo "$ext: $hash" >>"$stage/hash.txt"
done
# Read by the bundle-size browser test, to say which bundle it measured.
echo "$profile" >"$stage/bundle-profile"

rm -rf "$SITE_DIR.old"
[ ! -e "$SITE_DIR" ] || mv "$SITE_DIR" "$SITE_DIR.old"
mv "$stage" "$SITE_DIR"
rm -rf "$SITE_DIR.old"

if [ "$build_server" = yes ]; then
  log "building the server ($profile)"
  cargo build -p server --bin tidemark "${cargo_flags[@]}"
fi
pkg="$SITE_DIR/pkg"
sizes() { du -b "$@" | awk '{ s += $1 } END { printf "%.2f MiB", s / 1048576 }'; }
log "built $TARGET_DIR/$profile/tidemark and $SITE_DIR; bundle (wasm, js, css):" \
  "$(sizes "$pkg"/*.{wasm,js,css}), $(sizes "$pkg"/*.gz) gzip, $(sizes "$pkg"/*.br) brotli"
