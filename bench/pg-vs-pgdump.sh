#!/usr/bin/env bash
# Benchmark: tidemark against pg_dump / pg_restore on the same PostgreSQL
# database, in one run. Prints times, throughput, sizes and the ratios the
# targets are stated in.
#   bench/pg-vs-pgdump.sh                        ~1 GiB database
#   TS_ROWS=2000000 PGBENCH_SCALE=5 bench/...    smaller
# The database: a time-series table `readings` (TS_ROWS rows) plus the
# `pgbench -i` tables. A private cluster is started in a temporary directory
# on a free loopback port and removed afterwards. Tidemark backs up with
# --watermark, so its incremental reads only the new readings.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
TS_ROWS="${TS_ROWS:-12000000}"
PGBENCH_SCALE="${PGBENCH_SCALE:-5}"
WORK="${BENCH_DIR:-$(mktemp -d /var/tmp/tidemark-pgbench.XXXXXX)}"
mkdir -p "$WORK"
command -v /usr/bin/time >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time

PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
PASSWORD=bench-pw
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_server() {
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pgdata" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap stop_server EXIT

log "building tidemark (release)"
(cd "$ROOT" && cargo build --release -q -p server --bin tidemark)
TM="$TARGET_DIR/release/tidemark"
export TIDEMARK_LOG=warn

log "starting PostgreSQL on 127.0.0.1:$PORT"
echo "$PASSWORD" >"$WORK/pw"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$WORK"
as_pg "$PGBIN/initdb" -D "$WORK/pgdata" -U postgres --auth=scram-sha-256 --pwfile "$WORK/pw" -E UTF8 --locale=C >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$WORK/pgdata" -l "$WORK/pg.log" -w start \
  -o "-p $PORT -k $WORK -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=4GB" >/dev/null
export PGHOST=127.0.0.1 PGPORT="$PORT" PGUSER=postgres PGPASSWORD="$PASSWORD"
url() { echo "postgres://postgres:$PASSWORD@127.0.0.1:$PORT/$1"; }
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

log "generating the database: $TS_ROWS readings + pgbench scale $PGBENCH_SCALE"
createdb bench
sql bench "CREATE TABLE readings (
  id bigserial PRIMARY KEY, ts timestamptz NOT NULL, device int NOT NULL,
  metric text NOT NULL, value double precision NOT NULL, quality smallint NOT NULL DEFAULT 0)"
sql bench "INSERT INTO readings (ts, device, metric, value, quality)
  SELECT timestamptz '2026-01-01' + g * interval '1 second', g % 500,
         (ARRAY['cpu','mem','disk','net'])[1 + g % 4], sin(g / 1000.0) * 100 + (g % 7), g % 3
  FROM generate_series(1, $TS_ROWS) g"
sql bench "CREATE INDEX readings_ts ON readings (ts)"
pgbench -i -q -s "$PGBENCH_SCALE" bench >/dev/null 2>&1
sql bench "VACUUM ANALYZE"
DB_BYTES=$(sql bench "SELECT pg_database_size('bench')")
# What both tools read: table data (indexes are rebuilt, not copied).
DATA_BYTES=$(sql bench "SELECT sum(pg_relation_size(oid)) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")

source "$ROOT/bench/steps.sh"
rate() { rate_of "$1" "$DATA_BYTES"; }

log "backups"
run pgdump_fc pg_dump -Fc -f "$WORK/bench.dump" bench
run pgdump_fd pg_dump -Fd -j2 -f "$WORK/bench.dir" bench
"$TM" repo init "$WORK/tm-repo" >/dev/null
run tm_full "$TM" backup --repo "$WORK/tm-repo" --source "$(url bench)" --task bench --watermark
TM_FULL_SIZE=$(size "$WORK/tm-repo")

log "inserting 1% new readings, then an incremental backup"
NEW=$((TS_ROWS / 100))
sql bench "INSERT INTO readings (ts, device, metric, value)
  SELECT timestamptz '2026-01-01' + ($TS_ROWS + g) * interval '1 second', g % 500, 'cpu', g
  FROM generate_series(1, $NEW) g"
run tm_incr "$TM" backup --repo "$WORK/tm-repo" --source "$(url bench)" --task bench --watermark

log "restores into fresh databases"
# Compared with the source as of the incremental (pg_dump's copy predates it).
run pgdump_fd2 pg_dump -Fd -j2 -f "$WORK/bench2.dir" bench
createdb r_pg
run pgrestore pg_restore -j2 -d r_pg "$WORK/bench2.dir"
run tm_restore "$TM" restore --repo "$WORK/tm-repo" --point latest --target "$(url r_tm)"

log "a restore drill of the latest point (throwaway server, every value proven, one check)"
# Exit code 3 (the drill ran and something failed) is reported below, with its error.
run tm_drill bash -c '"$@" || [ $? = 3 ]' drill "$TM" drill --repo "$WORK/tm-repo" --task bench --point latest \
  --scratch-dir "$WORK/drills" --check "SELECT count(*) FROM readings=$((TS_ROWS + NEW))" --json
drill() { python3 -c "import json; d=json.load(open('$WORK/tm_drill.out')); print($1)"; }
drill_summary() { python3 - "$WORK/tm_drill.out" <<'PY'
import json, sys
from datetime import datetime
d = json.load(open(sys.argv[1]))
t = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
phases = ", ".join(f"{p['name']} {t(p['finished_at']) - t(p['started_at']):.1f} s" for p in d["phases"])
print(f"RTO {d['rto_seconds']:.1f} s (restore + every value proven), {d['seconds']:.1f} s in all ({phases})")
PY
}
[ "$(drill "d['passed']")" = True ] || die "the drill failed: $(drill "d['error']") $(cat "$WORK/tm_drill.out")"

log "checking both restores against the source"
counts() { sql "$1" "SELECT string_agg(c, ',' ORDER BY c) FROM (
  SELECT 'readings:' || count(*) || ':' || max(ts) AS c FROM readings
  UNION ALL SELECT 'accounts:' || count(*) || ':' || sum(abalance) FROM pgbench_accounts
  UNION ALL SELECT 'branches:' || count(*) FROM pgbench_branches
  UNION ALL SELECT 'tellers:' || count(*) FROM pgbench_tellers) x"; }
schema() { pg_dump --schema-only --no-owner --no-privileges -d "$1" | grep -v '^\\\(un\)\?restrict'; }
[ "$(counts bench)" = "$(counts r_tm)" ] || die "tidemark's restore differs: $(counts r_tm) vs $(counts bench)"
[ "$(counts bench)" = "$(counts r_pg)" ] || die "pg_restore's restore differs"
diff <(schema bench) <(schema r_tm) >/dev/null || die "tidemark's restored schema differs from the source"

FC_SIZE=$(size "$WORK/bench.dump")
FD_SIZE=$(size "$WORK/bench.dir")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
echo
echo "database: $(awk -v b="$DB_BYTES" 'BEGIN{printf "%.0f", b/1048576}') MiB ($(awk -v b="$DATA_BYTES" 'BEGIN{printf "%.0f", b/1048576}') MiB of table data); machine: $(nproc) cores"
printf '%-28s %9s %10s %9s\n' "step" "seconds" "MiB/s" "peak MiB"
for step in pgdump_fc pgdump_fd tm_full tm_incr pgrestore tm_restore; do
  printf '%-28s %9s %10s %9s\n' "$step" "$(s $step)" "$(rate $step)" "$(mib $step)"
done
printf '%-28s %8s MiB\n' "pg_dump -Fc file" "$FC_SIZE" "pg_dump -Fd dir" "$FD_SIZE" "tidemark repository (full)" "$TM_FULL_SIZE"
echo
echo "backup speed vs pg_dump -Fc:       $(ratio "$(s pgdump_fc)" "$(s tm_full)")x   (target >= 1.4)"
echo "backup speed vs pg_dump -Fd -j2:   $(ratio "$(s pgdump_fd)" "$(s tm_full)")x"
echo "repository size vs pg_dump -Fc:    $(ratio "$TM_FULL_SIZE" "$FC_SIZE")    (target <= 0.9)"
echo "restore speed vs pg_restore -j2:   $(ratio "$(s pgrestore)" "$(s tm_restore)")x   (target >= 1.0, with every table's content verified)"
echo "content verification's share:      $(verified_share tm_restore)"
echo "drill of the latest point:         $(drill_summary)"
echo "drill RTO / plain restore time:    $(ratio "$(drill "d['rto_seconds']")" "$(s tm_restore)")"
echo "incremental time / full time:      $(ratio "$(s tm_incr)" "$(s tm_full)")    (target < 0.15)"
