#!/usr/bin/env bash
# How to serve "levels by updated_at" (sort key UPDATED_AT, filter updatedSince) without making every
# stock change a non-HOT update: three designs measured side by side with pgbench, on a scratch
# database (dropped at the end) of the PostgreSQL server of $DATABASE_URL.
#
#   A  today:      index (store_id, updated_at, id) on the levels table; every change moves the row in it
#   B  no index:   (store_id, id) instead; updated_at stays a plain column; fillfactor 50 (as shipped)
#   C  side table: B + a narrow table level_touch(level_id, store_id, updated_at) indexed on
#                  (store_id, updated_at, level_id), updated in the same statement as the level
#
# Writes: the stock writer's column set (reserved, version, updated_at) on one hot row, and on rows drawn
# uniformly; 16 clients, $SECS s each. Reads: first 51 rows by updated_at DESC, and updatedSince = last 10 s
# (first 51 by updated_at), 4 clients, $SECS s each. 10 stores × $ROWS levels (ids are bigints here).
#
#   bash bench/updated-at/run.sh            (ROWS=10000 SECS=15 by default)
set -euo pipefail
ADMIN=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
ROWS=${ROWS:-10000}
SECS=${SECS:-15}
DB=inv_updated_at_$$
URL=$(node -e 'const u=new URL(process.argv[1]); u.pathname="/"+process.argv[2]; console.log(u.toString())' "$ADMIN" "$DB")
DIR=$(mktemp -d)
trap 'psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null; rm -rf "$DIR"' EXIT
psql -q "$ADMIN" -c "CREATE DATABASE $DB" >/dev/null
psql -q "$URL" -v ON_ERROR_STOP=1 -v rows="$ROWS" >/dev/null <<'SQL'
CREATE FUNCTION mk(name text, ff int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN
  EXECUTE format('CREATE TABLE %I (id bigint PRIMARY KEY, store_id int NOT NULL, variant_id bigint NOT NULL, warehouse_id int NOT NULL,
    on_hand int NOT NULL, reserved int NOT NULL DEFAULT 0, incoming int NOT NULL DEFAULT 0, safety_stock int NOT NULL DEFAULT 0,
    low_stock_threshold int NOT NULL DEFAULT 0, critical_threshold int NOT NULL DEFAULT 0, version int NOT NULL DEFAULT 0,
    created_at timestamptz(3) NOT NULL DEFAULT now(), updated_at timestamptz(3) NOT NULL DEFAULT now()) WITH (fillfactor = %s)', name, ff);
  EXECUTE format('CREATE UNIQUE INDEX ON %I (variant_id, warehouse_id)', name);
  EXECUTE format('CREATE INDEX ON %I (warehouse_id)', name);
END $$;
SELECT mk('lv_a', 100); CREATE INDEX ON lv_a (store_id, updated_at, id);
SELECT mk('lv_b', 50);  CREATE INDEX ON lv_b (store_id, id);
SELECT mk('lv_c', 50);  CREATE INDEX ON lv_c (store_id, id);
CREATE TABLE touch_c (level_id bigint PRIMARY KEY, store_id int NOT NULL, updated_at timestamptz(3) NOT NULL) WITH (fillfactor = 50);
CREATE INDEX ON touch_c (store_id, updated_at, level_id);
INSERT INTO lv_a (id, store_id, variant_id, warehouse_id, on_hand, updated_at)
  SELECT i, 1 + (i - 1) / :rows, i, 1, 1000000000, now() - random() * interval '30 days' FROM generate_series(1, 10 * :rows) i;
INSERT INTO lv_b SELECT * FROM lv_a;
INSERT INTO lv_c SELECT * FROM lv_a;
INSERT INTO touch_c SELECT id, store_id, updated_at FROM lv_a;
ANALYZE;
SQL
for v in a b c; do
  if [ $v = c ]; then
    w="WITH u AS (UPDATE lv_c SET reserved = reserved + 1, version = version + 1, updated_at = now() WHERE id = :id RETURNING id) UPDATE touch_c SET updated_at = now() WHERE level_id = (SELECT id FROM u);"
    r1="SELECT l.* FROM touch_c t JOIN lv_c l ON l.id = t.level_id WHERE t.store_id = 1 ORDER BY t.updated_at DESC, t.level_id DESC LIMIT 51;"
    r2="SELECT l.* FROM touch_c t JOIN lv_c l ON l.id = t.level_id WHERE t.store_id = 1 AND t.updated_at >= now() - interval '10 seconds' ORDER BY t.updated_at, t.level_id LIMIT 51;"
  else
    w="UPDATE lv_$v SET reserved = reserved + 1, version = version + 1, updated_at = now() WHERE id = :id;"
    r1="SELECT * FROM lv_$v WHERE store_id = 1 ORDER BY updated_at DESC, id DESC LIMIT 51;"
    r2="SELECT * FROM lv_$v WHERE store_id = 1 AND updated_at >= now() - interval '10 seconds' ORDER BY updated_at, id LIMIT 51;"
  fi
  printf '\\set id 1\n%s\n' "$w" > "$DIR/hot_$v.sql"
  printf '\\set id random(1, %s)\n%s\n' "$ROWS" "$w" > "$DIR/spread_$v.sql"
  echo "$r1" > "$DIR/r1_$v.sql"
  echo "$r2" > "$DIR/r2_$v.sql"
done
tps() { pgbench -n -c "$1" -j 2 -T "$SECS" -f "$2" "$URL" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | cut -d. -f1; }
stats() { psql -Atq "$URL" -c "SELECT string_agg(format('%s: HOT %s/%s, dead %s, heap %s / index %s pages', relname, n_tup_hot_upd, n_tup_upd, n_dead_tup,
  pg_relation_size(relid) / 8192, pg_indexes_size(relid) / 8192), '; ' ORDER BY relname) FROM pg_stat_user_tables WHERE relname IN ($1)" | sed '/^$/d'; }
echo "rows per store: $ROWS (10 stores); $SECS s per figure; $(psql -Atq "$URL" -c 'SHOW server_version') autovacuum=$(psql -Atq "$URL" -c 'SHOW autovacuum')"
echo "| design | hot row writes/s | spread writes/s | HOT updates / updates, dead tuples, sizes after the writes | first 51 by updated_at, reads/s | updatedSince last 10 s, reads/s |"
echo "|---|---:|---:|---|---:|---:|"
for v in a b c; do
  h=$(tps 16 "$DIR/hot_$v.sql"); s=$(tps 16 "$DIR/spread_$v.sql")
  sleep 1
  st=$(stats "'lv_$v','touch_c'")
  [ $v != c ] && st=$(stats "'lv_$v'")
  echo "| $v | $h | $s | $st | $(tps 4 "$DIR/r1_$v.sql") | $(tps 4 "$DIR/r2_$v.sql") |"
done
