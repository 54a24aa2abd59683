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
