#!/usr/bin/env bash
# Benchmark: point-in-time recovery of MariaDB, in one run.
#   - archive lag under a steady write load (target: under 5 s), sampled
#     from `tidemark timeline` every second while the load runs;
#   - replay speed: tidemark's restore --to-time (base point + replay, with
#     its row-count read-back) against `mariadb-binlog | mariadb` replaying
#     the same log range onto the same base.
#   bench/mariadb-pitr.sh                          ~1.2 M rows in 60 s
#   LOAD_SECONDS=20 ROWS_PER_STATEMENT=500 bench/mariadb-pitr.sh
# A private server is started in a temporary directory on a free loopback
# port and removed afterwards.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
LOAD_SECONDS="${LOAD_SECONDS:-60}"
ROWS_PER_STATEMENT="${ROWS_PER_STATEMENT:-200}"
STATEMENTS_PER_SECOND="${STATEMENTS_PER_SECOND:-100}"
WORK="${BENCH_DIR:-$(mktemp -d /var/tmp/tidemark-mariabench.XXXXXX)}"
mkdir -p "$WORK/tmp"
command -v /usr/bin/time >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
PASSWORD=bench-pw
ARCHIVER=
stop_all() {
  [ -n "$ARCHIVER" ] && kill "$ARCHIVER" 2>/dev/null && wait "$ARCHIVER" 2>/dev/null || true
  [ -f "$WORK/pid" ] && kill "$(cat "$WORK/pid")" 2>/dev/null || true
  sleep 2
  rm -rf "$WORK"
}
trap stop_all EXIT

log "building tidemark (release)"
(cd "$ROOT" && cargo build --release -q -p server --bin tidemark)
TM="$TARGET_DIR/release/tidemark"
export TIDEMARK_LOG=warn
source "$ROOT/bench/steps.sh"

log "starting MariaDB on 127.0.0.1:$PORT (binary log, ROW format)"
user_args=()
if [ "$(id -u)" = 0 ]; then chown -R mysql:mysql "$WORK"; user_args=(--user=mysql); fi
mariadb-install-db --no-defaults --datadir="$WORK/data" --tmpdir="$WORK/tmp" \
  --auth-root-authentication-method=normal --skip-test-db "${user_args[@]}" >/dev/null
/usr/sbin/mariadbd --no-defaults --datadir="$WORK/data" --socket="$WORK/sock" --pid-file="$WORK/pid" \
  --log-error="$WORK/log" --port="$PORT" --tmpdir="$WORK/tmp" --bind-address=127.0.0.1 \
  --log-bin=binlog --server-id=1 --binlog-format=ROW --innodb-buffer-pool-size=512M \
  --innodb-flush-log-at-trx-commit=2 "${user_args[@]}" >/dev/null 2>&1 &
for _ in $(seq 100); do mariadb --no-defaults --socket="$WORK/sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
mariadb --no-defaults --socket="$WORK/sock" -uroot -e \
  "CREATE USER 'bench'@'127.0.0.1' IDENTIFIED BY '$PASSWORD'; GRANT ALL ON *.* TO 'bench'@'127.0.0.1'"
export MYSQL_PWD="$PASSWORD"
sql() { mariadb --no-defaults -h 127.0.0.1 -P "$PORT" -u bench -N -B "$@"; }
url() { echo "mysql://bench:$PASSWORD@127.0.0.1:$PORT/$1"; }

sql -e "CREATE DATABASE bench"
sql bench -e "CREATE TABLE readings (id BIGINT AUTO_INCREMENT PRIMARY KEY, ts DATETIME(6) NOT NULL,
  device INT NOT NULL, metric VARCHAR(16) NOT NULL, value DOUBLE NOT NULL, note VARCHAR(64)) ENGINE=InnoDB"
"$TM" repo init "$WORK/repo" >/dev/null
"$TM" backup --repo "$WORK/repo" --source "$(url bench)" --task bench >/dev/null 2>&1
BASE=$(sql -e "SHOW BINARY LOGS" | head -1 | cut -f1)

log "archiving while $STATEMENTS_PER_SECOND statements/s of $ROWS_PER_STATEMENT rows run for $LOAD_SECONDS s"
"$TM" archive --repo "$WORK/repo" --source "$(url bench)" --task bench --spool-dir "$WORK/spool" \
  2>"$WORK/archive.err" &
ARCHIVER=$!
# The load: one client, statements paced to the rate.
python3 - "$PORT" "$PASSWORD" "$LOAD_SECONDS" "$STATEMENTS_PER_SECOND" "$ROWS_PER_STATEMENT" >"$WORK/load.out" <<'EOF' &
import subprocess, sys, time
port, pw, seconds, rate, rows = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
p = subprocess.Popen(["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", port, "-u", "bench", "bench"],
                     stdin=subprocess.PIPE, env={"MYSQL_PWD": pw, "PATH": "/usr/bin:/bin"}, text=True)
start = time.time(); n = 0
while time.time() - start < seconds:
    p.stdin.write("INSERT INTO readings (ts, device, metric, value, note) SELECT NOW(6), seq % 500, "
                  "ELT(1 + seq % 4, 'cpu', 'mem', 'disk', 'net'), RAND() * 100, IF(seq % 5, NULL, 'ünïcødé note') "
                  f"FROM seq_1_to_{rows};\n")
    p.stdin.flush(); n += 1
    time.sleep(max(0, start + n / rate - time.time()))
p.stdin.close(); p.wait()
print(n)
EOF
LOAD=$!
: >"$WORK/lag"
while kill -0 "$LOAD" 2>/dev/null; do
  "$TM" timeline --repo "$WORK/repo" --task bench --json 2>/dev/null \
    | python3 -c 'import json,sys; t=json.load(sys.stdin); print(t["lag_seconds"] if t["lag_seconds"] is not None else "")' >>"$WORK/lag" || true
  sleep 1
done
wait "$LOAD"
STATEMENTS=$(cat "$WORK/load.out")
ROWS=$(sql bench -e "SELECT COUNT(*) FROM readings")
sleep 1
TO=$(sql -e "SELECT DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:%i:%s')")
sleep 4
kill "$ARCHIVER"; wait "$ARCHIVER" 2>/dev/null || true; ARCHIVER=
LAG=$(awk 'NF { n++; s += $1; if ($1 > m) m = $1 } END { printf "mean %.1f s, max %.1f s over %d samples", s/n, m, n }' "$WORK/lag")
LOG_BYTES=$(sql -e "SHOW BINARY LOGS" | awk '{ s += $2 } END { print s }')

log "restoring to $TO: tidemark restore --to-time"
run tidemark "$TM" restore --repo "$WORK/repo" --task bench --to-time "$TO" --target "$(url bench_tm)"
TM_REPLAY=$(grep -o 'offset [0-9]* in [0-9.]* s' "$WORK/tidemark.err" | awk '{print $4}')
grep -q "counts  readings: $ROWS rows" "$WORK/tidemark.err" || { cat "$WORK/tidemark.err" >&2; die "the restored row count is not $ROWS"; }

log "the peer: the same base, then mariadb-binlog | mariadb over the same log range"
"$TM" restore --repo "$WORK/repo" --point latest --target "$(url bench_peer)" >/dev/null 2>&1
START=$(python3 -c "import json; print(json.load(open('$WORK/repo/runs/' + __import__('os').listdir('$WORK/repo/runs')[0] + '/manifest.json'))['log_position']['pos'])")
FILES=$(ls "$WORK/data"/binlog.[0-9]* | sort)
run peer bash -c "mariadb-binlog --no-defaults --start-position=$START --database=bench --rewrite-db='bench->bench_peer' $FILES \
  | mariadb --no-defaults -h 127.0.0.1 -P $PORT -u bench --binary-mode bench_peer"
[ "$(sql -e 'CHECKSUM TABLE bench_tm.readings' | cut -f2)" = "$(sql -e 'CHECKSUM TABLE bench.readings' | cut -f2)" ] \
  || die "tidemark's restore differs from the source"

cat <<REPORT

MariaDB point-in-time recovery ($ROWS rows in $STATEMENTS statements over $LOAD_SECONDS s; binary logs $(awk -v b="$LOG_BYTES" 'BEGIN{printf "%.0f", b/1048576}') MiB, from $BASE)
  archive lag (RPO) under the load:   $LAG   (target: under 5 s)
  tidemark restore --to-time:          $(s tidemark) s in all, of which replay $TM_REPLAY s (with fetch, decrypt and row-count read-back); $(mib tidemark) MiB peak
  mariadb-binlog | mariadb (replay):   $(s peer) s
  replay ratio tidemark / peer:        $(awk -v a="$TM_REPLAY" -v b="$(s peer)" 'BEGIN{printf "%.2f", a/b}')  (1.00 = as fast as the server's own tools)
REPORT
