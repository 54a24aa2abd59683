#!/usr/bin/env bash
# Benchmark: comparing two points of 100 000 files (3 changed), tidemark
# diff against restic diff (Debian's) on the same data in one run. Both
# read only metadata; the target is under a second for tidemark.
#   bench/diff.sh                   100 000 files
#   FILES=20000 bench/diff.sh       fewer
#   TIDEMARK_BIN=target/debug/tidemark bench/diff.sh   (skips the release build)
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
FILES="${FILES:-100000}"
WORK="${BENCH_DIR:-$(mktemp -d /var/tmp/tidemark-bench.XXXXXX)}"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT

for tool in restic /usr/bin/time; do
  command -v "$tool" >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic time
done
if [ -n "${TIDEMARK_BIN:-}" ]; then
  TM="$TIDEMARK_BIN"
else
  log "building tidemark (release)"
  (cd "$ROOT" && cargo build --release -q -p server --bin tidemark)
  TM="$TARGET_DIR/release/tidemark"
fi
export TIDEMARK_PASSPHRASE=bench-passphrase RESTIC_PASSWORD=bench-passphrase TIDEMARK_LOG=warn
source "$ROOT/bench/steps.sh"

DATA="$WORK/data"
log "writing $FILES small files in 100 folders"
python3 - "$DATA" "$FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"device-{i % 100:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"reading {i:06d}.csv"), "w") as f:
        f.write(f"ts,value\n{i},{i * 0.25}\n")
PY
"$TM" repo init "$WORK/tm-repo" --encrypt >/dev/null
restic init -q -r "$WORK/restic-repo" >/dev/null
log "first backups"
run tm_a "$TM" backup --repo "$WORK/tm-repo" --source "file://$DATA" --task bench
run restic_a restic -q -r "$WORK/restic-repo" backup "$DATA"
log "changing 3 files, second backups"
for i in 7 4242 $((FILES - 1)); do
  echo "changed $i" >> "$DATA/device-$(printf %03d $((i % 100)))/reading $(printf %06d "$i").csv"
done
run tm_b "$TM" backup --repo "$WORK/tm-repo" --source "file://$DATA" --task bench
run restic_b restic -q -r "$WORK/restic-repo" backup "$DATA"

IDS=$("$TM" points --repo "$WORK/tm-repo" --json | python3 -c 'import json,sys; print(" ".join(p["id"] for p in json.load(sys.stdin)))')
set -- $IDS
run tm_diff "$TM" diff --repo "$WORK/tm-repo" "$1" "$2" --json
CHANGED=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["changed"], d["added"], d["removed"])' "$WORK/tm_diff.out")
[ "$CHANGED" = "3 0 0" ] || die "tidemark diff found changed/added/removed = $CHANGED, expected 3 0 0"
SNAPS=$(restic -q -r "$WORK/restic-repo" snapshots --json | python3 -c 'import json,sys; print(" ".join(s["short_id"] for s in json.load(sys.stdin)))')
set -- $SNAPS
run restic_diff restic -q -r "$WORK/restic-repo" diff "$1" "$2"

printf '%-26s %10s %10s\n' "comparing two points" "seconds" "peak MiB"
printf '%-26s %10s %10s\n' "tidemark diff" "$(s tm_diff)" "$(mib tm_diff)"
printf '%-26s %10s %10s\n' "restic diff" "$(s restic_diff)" "$(mib restic_diff)"
printf 'ratio (restic / tidemark): %s   files: %s   target: tidemark under 1 s\n' \
  "$(awk -v a="$(s tm_diff)" -v b="$(s restic_diff)" 'BEGIN{ if (a == 0) a = 0.01; printf "%.1f×", b/a}')" "$FILES"
