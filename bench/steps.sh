# Timing helpers shared by the bench scripts. Sourced, not run; needs $WORK.

# run NAME CMD...: wall seconds and peak RSS (KiB) into $WORK/NAME.{s,kb}.
# Each step starts with no dirty pages of an earlier one (tidemark's restore
# ends with syncfs, which would otherwise also flush the other tool's output).
run() {
  local name=$1; shift
  sync
  /usr/bin/time -f "%e %M" -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || {
    cat "$WORK/$name.err" >&2; die "$name failed"; }
  read -r secs kb <"$WORK/$name.time"
  echo "$secs" >"$WORK/$name.s"; echo "$kb" >"$WORK/$name.kb"
}
# Seconds and peak MiB of a step; MiB/s of $2 bytes in a step; MiB on disk.
s() { cat "$WORK/$1.s"; }
mib() { awk '{printf "%.0f", $1/1024}' "$WORK/$1.kb"; }
rate_of() { awk -v b="$2" -v t="$(s "$1")" 'BEGIN{printf "%.0f", b/1048576/t}'; }
size() { du -sb "$1" | cut -f1 | awk '{printf "%.1f", $1/1048576}'; }
# A tidemark restore's own account of its read-back: fails the bench when
# any object was not proven exact, else prints the verification's share.
verified_share() {
  local name=$1 total vs
  grep -q '^DIFFERS\|^counts ' "$WORK/$name.err" && { cat "$WORK/$name.err" >&2; die "$name: not every object was proven exact"; }
  vs=$(grep -o 'of which [0-9.]* s reading back' "$WORK/$name.err" | awk '{print $3}')
  total=$(s "$name")
  awk -v v="${vs:-0}" -v t="$total" 'BEGIN{printf "%.1f s of %.1f s (%.0f%%)", v, t, 100*v/t}'
}
