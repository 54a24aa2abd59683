#!/usr/bin/env bash
# Benchmark: tidemark against restic (Debian's) on the same data, in one run.
# Prints throughput, ratios, repository sizes and peak memory.
#   bench/backup-vs-restic.sh               ~1 GiB dataset
#   SIZE_MIB=256 bench/backup-vs-restic.sh  smaller
# Both repositories are encrypted (restic always is); caches are warm for both;
# restores are timed until their data is on disk (sync) for both tools.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
SIZE_MIB="${SIZE_MIB:-1024}"
WORK="${BENCH_DIR:-$(mktemp -d /var/tmp/tidemark-bench.XXXXXX)}"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT

for tool in restic /usr/bin/time; do
  command -v "$tool" >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic time
done
log "building tidemark (release)"
(cd "$ROOT" && cargo build --release -q -p server --bin tidemark)
TM="$TARGET_DIR/release/tidemark"
export TIDEMARK_PASSPHRASE=bench-passphrase RESTIC_PASSWORD=bench-passphrase TIDEMARK_LOG=warn

DATA="$WORK/data"
log "generating ${SIZE_MIB} MiB of time-series CSV and a mixed file tree in $DATA"
python3 "$ROOT/bench/gen_dataset.py" "$DATA" "$SIZE_MIB"
BYTES=$(du -sb "$DATA" | cut -f1)

source "$ROOT/bench/steps.sh"
rate() { rate_of "$1" "$BYTES"; }
ratio() { awk -v a="$(s "$1")" -v b="$(s "$2")" 'BEGIN{printf "%.2f", b/a}'; }

"$TM" repo init "$WORK/tm-repo" --encrypt >/dev/null
restic init -q -r "$WORK/restic-repo" >/dev/null

log "full backups"
run restic_full restic -q -r "$WORK/restic-repo" backup "$DATA"
run tm_full "$TM" backup --repo "$WORK/tm-repo" --source "file://$DATA" --task bench
TM_FULL_SIZE=$(size "$WORK/tm-repo"); RESTIC_FULL_SIZE=$(size "$WORK/restic-repo")

log "changing about 1% and taking incrementals"
python3 "$ROOT/bench/gen_dataset.py" "$DATA" "$SIZE_MIB" --change
run restic_incr restic -q -r "$WORK/restic-repo" backup "$DATA"
run tm_incr "$TM" backup --repo "$WORK/tm-repo" --source "file://$DATA" --task bench
TM_GROWTH=$(awk -v a="$(size "$WORK/tm-repo")" -v b="$TM_FULL_SIZE" 'BEGIN{printf "%.1f", a-b}')
RESTIC_GROWTH=$(awk -v a="$(size "$WORK/restic-repo")" -v b="$RESTIC_FULL_SIZE" 'BEGIN{printf "%.1f", a-b}')

log "restores"
# tidemark writes its packs past the page cache (O_DIRECT) and restic through
# it: both repositories are read once so that both restores start warm.
find "$WORK/tm-repo" "$WORK/restic-repo" -type f -exec cat {} + >/dev/null
# restic does not sync what it restored; tidemark does before reporting
# success, so restic's restore is timed with a sync to compare like with like.
run restic_restore sh -c 'restic -q -r "$1" restore latest --target "$2" && sync' sh "$WORK/restic-repo" "$WORK/restic-out"
run tm_restore "$TM" restore --repo "$WORK/tm-repo" --point latest --target "file://$WORK/tm-out"
diff -r "$DATA" "$WORK/tm-out" >/dev/null || die "tidemark's restore differs from the data"
diff -r "$DATA" "$WORK/restic-out$DATA" >/dev/null || die "restic's restore differs from the data"

log "start-up cost (list points of the encrypted repository)"
run tm_points "$TM" points --repo "$WORK/tm-repo"
run restic_snapshots restic -q -r "$WORK/restic-repo" snapshots

echo
echo "dataset: $(awk -v b="$BYTES" 'BEGIN{printf "%.0f", b/1048576}') MiB; machine: $(nproc) cores"
printf '%-22s %10s %10s %12s %12s %8s\n' "step" "tidemark" "restic" "tm MiB/s" "restic MiB/s" "speedup"
for step in full incr restore; do
  r=$([ $step = restore ] && echo restore || echo "$step")
  printf '%-22s %9ss %9ss %12s %12s %7sx\n' "$step" "$(s tm_$r)" "$(s restic_$r)" "$(rate tm_$r)" "$(rate restic_$r)" "$(ratio tm_$r restic_$r)"
done
printf '%-22s %9ss %9ss\n' "start-up (list)" "$(s tm_points)" "$(s restic_snapshots)"
printf '%-22s %s\n' "restore check" "$(verified_share tm_restore) after the commit (every file's content read back, mostly while loading; target: restore >= 1.5x restic)"
printf '%-22s %8s MiB %6s MiB\n' "peak memory backup" "$(mib tm_full)" "$(mib restic_full)"
printf '%-22s %8s MiB %6s MiB\n' "peak memory restore" "$(mib tm_restore)" "$(mib restic_restore)"
printf '%-22s %8s MiB %6s MiB\n' "repository after full" "$TM_FULL_SIZE" "$RESTIC_FULL_SIZE"
printf '%-22s %8s MiB %6s MiB\n' "growth after 1% change" "$TM_GROWTH" "$RESTIC_GROWTH"
