#!/usr/bin/env bash
# Benchmark: bandwidth limits hold. Backs up the same data unlimited, then
# with --limit-read and with --limit-upload, then copies the unlimited
# point to a second repository with `copy --limit-upload` (what a copy job
# into a repository with an upload limit does), and prints each achieved
# rate beside its limit and their ratio (the target: within 10%).
#   bench/throttle.sh                     256 MiB, limits 40 MiB/s and 20 MiB/s
#   TIDEMARK_BIN=target/debug/tidemark bench/throttle.sh   (skips the release build)
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
SIZE_MIB="${SIZE_MIB:-256}"
READ_MIB="${READ_MIB:-40}"
UPLOAD_MIB="${UPLOAD_MIB:-20}"
WORK="${BENCH_DIR:-$(mktemp -d /var/tmp/tidemark-bench.XXXXXX)}"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
if [ -n "${TIDEMARK_BIN:-}" ]; then
  TM="$TIDEMARK_BIN"
else
  log "building tidemark (release)"
  (cd "$ROOT" && cargo build --release -q -p server --bin tidemark)
  TM="$TARGET_DIR/release/tidemark"
fi
export TIDEMARK_LOG=warn

# Random bytes: nothing compresses, so what is read is what is written.
mkdir -p "$WORK/data"
for i in $(seq 1 $((SIZE_MIB / 16))); do
  head -c $((16 << 20)) /dev/urandom > "$WORK/data/part-$i.bin"
done
BYTES=$(du -sb "$WORK/data" | cut -f1)

# Seconds a fresh full backup takes, with the given extra arguments.
backup() {
  local repo="$WORK/repo-$1"; shift
  "$TM" repo init "$repo" >/dev/null
  local t0 t1
  t0=$(date +%s.%N)
  "$TM" backup --repo "$repo" --source "file://$WORK/data" --task bench --full --json "$@" >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}'
}
# Seconds copying the unlimited run's point into a new repository.
copy_limited() {
  "$TM" repo init "$WORK/repo-copy" >/dev/null
  local t0 t1
  t0=$(date +%s.%N)
  "$TM" copy --from "$WORK/repo-free" --to "$WORK/repo-copy" --json "$@" >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}'
}
mib_s() { awk -v n="$BYTES" -v s="$1" 'BEGIN{printf "%.1f", n/s/1048576}'; }

log "backing up $((BYTES >> 20)) MiB of random data"
FREE=$(backup free)
READ=$(backup read --limit-read "${READ_MIB}MiB")
UPLOAD=$(backup upload --limit-upload "${UPLOAD_MIB}MiB")
COPY=$(copy_limited --limit-upload "${UPLOAD_MIB}MiB")
printf '%-22s %8s %12s %12s %8s\n' "run" "seconds" "achieved" "limit" "ratio"
printf '%-22s %8s %9s MiB/s %12s %8s\n' "unlimited" "$FREE" "$(mib_s "$FREE")" "-" "-"
for row in "limit-read $READ $READ_MIB" "limit-upload $UPLOAD $UPLOAD_MIB" "copy-limit-upload $COPY $UPLOAD_MIB"; do
  set -- $row
  printf '%-22s %8s %9s MiB/s %6s MiB/s %8s\n' "$1" "$2" "$(mib_s "$2")" "$3" \
    "$(awk -v a="$(mib_s "$2")" -v l="$3" 'BEGIN{printf "%.3f", a/l}')"
done
