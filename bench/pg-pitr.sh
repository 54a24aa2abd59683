#!/usr/bin/env bash
# Benchmark: point-in-time recovery of a PostgreSQL cluster, in one run.
#   - the 1 GiB benchmark database (pgbench scale 68), a base backup, then
#     about 1 GiB of WAL from pgbench while tidemark archives it;
#   - tidemark restore --to-time (base from the repository, unpacked and
#     checked with pg_verifybackup, WAL through tidemark wal-get) against
#     the plain setup an administrator would script: a pg_basebackup tar on
#     local disk, WAL kept by pg_receivewal in a directory, `tar -x`, then
#     the same server recovery with restore_command = cp, to the same LSN.
#   bench/pg-pitr.sh
#   SCALE=10 WAL_MIB=200 bench/pg-pitr.sh       (a quick run)
# A private server is started in a temporary directory on a free loopback
# port and removed afterwards.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
SCALE="${SCALE:-68}"
WAL_MIB="${WAL_MIB:-1024}"
WORK="${BENCH_DIR:-$(mktemp -d /var/tmp/tidemark-pgpitr.XXXXXX)}"
chmod 755 "$WORK"
command -v /usr/bin/time >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
ARCHIVER= RECEIVER=
stop_all() {
  [ -n "$ARCHIVER" ] && kill "$ARCHIVER" 2>/dev/null; [ -n "$RECEIVER" ] && kill "$RECEIVER" 2>/dev/null
  wait 2>/dev/null || true
  for d in "$WORK"/data "$WORK"/tm "$WORK"/peer; do
    [ -f "$d/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1
  done
  rm -rf "$WORK"
}
trap stop_all EXIT

log "building tidemark (release)"
(cd "$ROOT" && cargo build --release -q -p server --bin tidemark)
TM="$TARGET_DIR/release/tidemark"
export TIDEMARK_LOG=warn
source "$ROOT/bench/steps.sh"

log "starting PostgreSQL on 127.0.0.1:$PORT"
mkdir -p "$WORK/pgwal"
[ "$(id -u)" = 0 ] && chown postgres "$WORK"
as_pg "$BIN/initdb" -D "$WORK/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >/dev/null
as_pg "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w start \
  -o "-p $PORT -k $WORK -c listen_addresses=127.0.0.1 -c max_wal_size=4GB -c shared_buffers=256MB" >/dev/null
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres
SOURCE="postgres-cluster://postgres@127.0.0.1:$PORT"
log "pgbench -i -s $SCALE"
"$BIN/pgbench" -i -q -s "$SCALE" postgres >/dev/null 2>&1
DB_MIB=$(psql -Atc "SELECT pg_database_size('postgres') / 1048576")

"$TM" repo init "$WORK/repo" >/dev/null
"$TM" archive --repo "$WORK/repo" --source "$SOURCE" --task bench --spool-dir "$WORK/spool" 2>"$WORK/archive.err" &
ARCHIVER=$!
# The peer's WAL archive: pg_receivewal through a slot of its own.
"$BIN/pg_receivewal" --create-slot --if-not-exists -S peer >/dev/null
"$BIN/pg_receivewal" -D "$WORK/pgwal" -S peer --synchronous 2>"$WORK/receiver.err" &
RECEIVER=$!
sleep 3
log "base backups: tidemark's, and the peer's pg_basebackup tar"
run base "$TM" backup --repo "$WORK/repo" --source "$SOURCE" --task bench
"$BIN/pg_basebackup" -D - -Ft -X fetch -c fast > "$WORK/base.tar"
START_LSN=$(psql -Atc "SELECT pg_current_wal_lsn()")

log "writing about $WAL_MIB MiB of WAL with pgbench"
while [ "$(psql -Atc "SELECT (pg_current_wal_lsn() - '$START_LSN') / 1048576 >= $WAL_MIB")" != t ]; do
  "$BIN/pgbench" -n -c 2 -j 2 -T 10 postgres >/dev/null 2>&1
done
WAL_DONE=$(psql -Atc "SELECT round((pg_current_wal_lsn() - '$START_LSN') / 1048576)")
sleep 2
TO=$(psql -Atc "SELECT to_char(now() at time zone 'utc', 'YYYY-MM-DD HH24:MI:SS')")
sleep 2
# A commit after the moment, so that both recoveries stop at a commit record.
psql -Atc "CREATE TABLE after_the_moment ()" >/dev/null
for _ in $(seq 60); do
  "$TM" restore --repo "$WORK/repo" --task bench --to-time "$TO" --target "file://$WORK/tm" --dry-run >"$WORK/plan" 2>&1 && break
  sleep 1
done
STOP=$(grep -o 'record at [0-9A-F/]*' "$WORK/plan" | awk '{print $3}' || true)
[ -n "$STOP" ] || { cat "$WORK/plan" "$WORK/archive.err" >&2; die "no stop position for $TO"; }
psql -Atc "SELECT pg_switch_wal()" >/dev/null
sleep 3
kill "$ARCHIVER" "$RECEIVER"; wait "$ARCHIVER" "$RECEIVER" 2>/dev/null || true; ARCHIVER= RECEIVER=
for f in "$WORK"/pgwal/*.partial; do [ -e "$f" ] && mv "$f" "${f%.partial}"; done
[ "$(id -u)" = 0 ] && chown -R postgres "$WORK/pgwal"
as_pg "$BIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null

log "recovering to $TO (just before $STOP): tidemark"
run tidemark "$TM" restore --repo "$WORK/repo" --task bench --to-time "$TO" --target "file://$WORK/tm"
grep -q "recovery stopping before WAL location (LSN) \"$STOP\"" "$WORK/tidemark.err" || { cat "$WORK/tidemark.err" >&2; die "tidemark did not stop at $STOP"; }
TM_REPLAY=$(grep -o '([0-9.]* s of replay' "$WORK/tidemark.err" | tr -d '(' | awk '{print $1}')

log "the peer: tar -x of the pg_basebackup tar, the server's recovery with restore_command = cp"
cat > "$WORK/peer.sh" <<EOF
set -e
mkdir -m 700 "$WORK/peer"
tar -xf "$WORK/base.tar" -C "$WORK/peer"
touch "$WORK/peer/recovery.signal"
exec "$BIN/postgres" -D "$WORK/peer" -p 1 -c listen_addresses= -c unix_socket_directories="$WORK" \
  -c hot_standby=off -c archive_mode=off -c restore_command='cp "$WORK/pgwal/%f" "%p"' \
  -c recovery_target_lsn=$STOP -c recovery_target_inclusive=off -c recovery_target_action=shutdown
EOF
PEER=(bash "$WORK/peer.sh")
if [ "$(id -u)" = 0 ]; then chown postgres "$WORK/peer.sh" "$WORK/base.tar"; PEER=(runuser -u postgres -- "${PEER[@]}"); fi
run peer "${PEER[@]}"
grep -q "recovery stopping before WAL location (LSN) \"$STOP\"" "$WORK/peer.err" || { tail "$WORK/peer.err" >&2; die "the peer did not stop at $STOP"; }
PEER_REPLAY=$(awk '/starting point-in-time recovery/ { split($2, a, ":"); s = a[1]*3600 + a[2]*60 + a[3] }
  /recovery stopping before/ { split($2, a, ":"); e = a[1]*3600 + a[2]*60 + a[3] } END { printf "%.1f", e - s }' "$WORK/peer.err")

cat <<REPORT

PostgreSQL point-in-time recovery (pgbench scale $SCALE: $DB_MIB MiB database; $WAL_DONE MiB of WAL after the base; $(size "$WORK/repo" | cut -d. -f1) MiB stored in the repository)
  tidemark restore --to-time:                 $(s tidemark) s in all, of which the server's replay $TM_REPLAY s; $(mib tidemark) MiB peak
     (base fetched, decrypted, unpacked, checked with pg_verifybackup; WAL through tidemark wal-get)
  peer: tar -x + recovery with cp:            $(s peer) s in all, of which replay $PEER_REPLAY s
  ratio tidemark / peer (whole recovery):     $(awk -v a="$(s tidemark)" -v b="$(s peer)" 'BEGIN{printf "%.2f", a/b}')
  base backup into the repository:            $(s base) s
REPORT
