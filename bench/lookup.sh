#!/usr/bin/env bash
# GET one shipment with its ~10 events (1,000,000 shipments, 10,000,000 events)
# beside a minimal JSON endpoint (/healthz) of the same app, same run:
# gunicorn + wrk, 32 connections. Targets: ≥ 0.5 × its req/s, ≤ 3 × its p99.
#   bench/lookup.sh            (set KEEP_DATA=1 to reuse the database of a previous run)
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres), wrk (apt-get install -y wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/work/main/.venv/bin/python}
BIN=$(dirname "$PY")
DB=${BENCH_DB:-yx_api_lookup}
SHIPMENTS=${SHIPMENTS:-1000000}
EVENTS_PER=${EVENTS_PER:-10}
PORT=${PORT:-8765}
WORKERS=${WORKERS:-$(( $(nproc) * 2 ))}
DURATION=${DURATION:-20s}
export DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/${DB}" FLASK_APP=wsgi SECRET_KEY=bench
psql_db() { psql -h 127.0.0.1 -U postgres -d "$DB" -v ON_ERROR_STOP=1 -qAt "$@"; }

if [[ "${KEEP_DATA:-0}" != 1 ]]; then
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS ${DB} WITH (FORCE)" -c "CREATE DATABASE ${DB}"
  "$BIN/flask" db upgrade >/dev/null 2>&1
  # Reference data and the one organisation (not `flask demo load`: the demo polls the sandbox).
  "$PY" - <<'PY'
from shipments import create_app
from shipments.extensions import db
from shipments.models import Organisation
from shipments.models.enums import OrganisationKind
from shipments.services import reference

with create_app().app_context():
    reference.load_divisions(db.session)
    reference.load_provinces(db.session)
    db.session.add(Organisation(name="诸暨山下湖珍珠专业合作社", kind=OrganisationKind.COOPERATIVE, county_code="330681"))
    db.session.commit()
PY
  org=$(psql_db -c "SELECT id FROM organisations WHERE name = '诸暨山下湖珍珠专业合作社'")
  start=$(date +%s)
  # generate_series: the fastest way to fill the tables without Python in the loop.
  psql_db <<SQL
INSERT INTO shipments (carrier, tracking_number, provider, organisation_id, program_id, channel, direction,
  origin_division_code, destination_province_code, pieces, weight_kg, declared_value, order_ref, phone_last4,
  registered_at, status, at_station, poll_failures, subscription_state, created_at, updated_at, next_poll_at)
SELECT 'sandbox', 'SBX' || lpad(i::text, 10, '0'), 'sandbox', ${org}, NULL, 'douyin', 'outbound', '330681',
  '440000', 1, 0.3, 199.00, 'DY' || i, lpad((i % 10000)::text, 4, '0'),
  now() - (i % 86400) * interval '1 minute', 'in_transit', false, 0, 'none', now(), now(), now() + interval '4 hours'
FROM generate_series(1, ${SHIPMENTS}) AS i;
INSERT INTO tracking_events (shipment_id, occurred_at, status, location, description, raw_code, source, dedupe_key, created_at)
SELECT s.id, s.registered_at + e * interval '3 hours', 'in_transit', '浙江省绍兴市诸暨市',
  '快件已到达【诸暨山下湖营业部】，快递员王师傅 1391234567' || (e % 10) || ' 正在派件', 'IN_TRANSIT', 'poll',
  md5(s.id::text || ':' || e), now()
FROM shipments s CROSS JOIN generate_series(1, ${EVENTS_PER}) AS e;
ANALYZE shipments; ANALYZE tracking_events;
SQL
  echo "data: $(psql_db -c 'SELECT count(*) FROM shipments') shipments, $(psql_db -c 'SELECT count(*) FROM tracking_events') events in $(( $(date +%s) - start )) s"
fi

org=$(psql_db -c "SELECT id FROM organisations WHERE name = '诸暨山下湖珍珠专业合作社'")
token=$("$BIN/flask" tokens create --org 诸暨山下湖珍珠专业合作社 --role member --name bench)
number="SBX$(printf '%010d' $(( SHIPMENTS / 2 )))"

"$BIN/gunicorn" -w "$WORKERS" -b "127.0.0.1:${PORT}" --log-level warning wsgi:app &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:${PORT}/healthz" >/dev/null && break; sleep 0.2; done
curl -sf -H "Authorization: Bearer ${token}" "http://127.0.0.1:${PORT}/api/v1/shipments/sandbox/${number}" \
  | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print("events in answer:", len(d["events"]))'

run() {  # name url [header]
  local out
  if [[ -n "${3:-}" ]]; then out=$(wrk -t2 -c32 -d"$DURATION" --latency -H "$3" "$2"); else out=$(wrk -t2 -c32 -d"$DURATION" --latency "$2"); fi
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  local errors; errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
  echo "$1 $rps $p99 ${errors}" >&2
  echo "$rps $p99"
}
to_ms() { "$PY" -c "import sys; v=sys.argv[1]; print(float(v[:-2]) if v.endswith('ms') else float(v[:-2])/1000 if v.endswith('us') else float(v[:-1])*1000)" "$1"; }

run warmup "http://127.0.0.1:${PORT}/api/v1/shipments/sandbox/${number}" "Authorization: Bearer ${token}" >/dev/null
read -r base_rps base_p99 < <(run "minimal /healthz" "http://127.0.0.1:${PORT}/healthz")
read -r one_rps one_p99 < <(run "shipment+events" "http://127.0.0.1:${PORT}/api/v1/shipments/sandbox/${number}" "Authorization: Bearer ${token}")
"$BIN/flask" tokens revoke "${token:0:10}" >/dev/null

base_ms=$(to_ms "$base_p99"); one_ms=$(to_ms "$one_p99")
"$PY" - "$base_rps" "$base_ms" "$one_rps" "$one_ms" "$WORKERS" <<'PY'
import sys
base_rps, base_p99, one_rps, one_p99, workers = map(float, sys.argv[1:])
print(f"gunicorn sync workers: {workers:.0f}, wrk: 2 threads, 32 connections")
print(f"minimal JSON (/healthz):    {base_rps:9,.0f} req/s  p99 {base_p99:7.2f} ms")
print(f"shipment + ~10 events:      {one_rps:9,.0f} req/s  p99 {one_p99:7.2f} ms")
print(f"ratio: {one_rps / base_rps:.2f} × req/s (target ≥ 0.5), {one_p99 / base_p99:.2f} × p99 (target ≤ 3)")
PY
