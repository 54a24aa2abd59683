#!/usr/bin/env bash
# Builds the console: the hydrating WASM bundle, the CSS and static files in
# target/site (the layout leptos_axum serves), and the `tidemark` binary.
#   scripts/build.sh            debug build
#   scripts/build.sh --release  optimised build (wasm-opt when installed)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

profile=debug
wasm_profile=dev
cargo_flags=()
case "${1:-}" in
  --release) profile=release; wasm_profile=wasm-release; cargo_flags=(--release) ;;
  "") ;;
  *) die "unknown option $1 (expected --release or nothing)" ;;
esac
wasm_dir_profile=$([ "$wasm_profile" = dev ] && echo debug || echo "$wasm_profile")

cd "$ROOT"
log "building the browser bundle ($wasm_profile)"
# RUSTC_BOOTSTRAP is scoped to this build: -Zbuild-std rebuilds wasm32's std
# from Debian's rust-web-src. A separate target dir keeps it from
# invalidating the native build.
RUSTC_BOOTSTRAP=1 cargo build -p frontend --lib --target wasm32-unknown-unknown \
  -Zbuild-std=std,panic_abort --profile "$wasm_profile" --target-dir "$TARGET_DIR/front"

pkg="$SITE_DIR/pkg"
mkdir -p "$pkg"
wasm-bindgen --target web --out-dir "$pkg" --out-name "$OUTPUT_NAME" \
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
cp -R public/. "$SITE_DIR/"

log "building the server ($profile)"
cargo build -p server --bin tidemark "${cargo_flags[@]}"
log "built $TARGET_DIR/$profile/tidemark and $SITE_DIR ($(du -h "$pkg/$OUTPUT_NAME.wasm" | cut -f1) of wasm)"
