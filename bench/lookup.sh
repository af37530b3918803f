#!/usr/bin/env bash
# One shipment with its ~10 events, by random keys over the parcels bench/scale.py built
# (1,000,000 shipments / 10,000,000 events by default), and the public track API, each beside two
# ceilings in the same run and under the same gunicorn settings (README's production command: 4 sync
# workers) and with Redis as production has it (rate limits): a constant-JSON route of the same
# app (/livez, no database) and a bare Flask app. wrk -t2 -c32. Targets: detail ≥ 0.5 × the same-app
# route and ≥ 0.3 × the bare app, p99 ≤ 3 × the same-app route; track API ≥ 0.5 × the same-app route.
#   bench/lookup.sh              (needs: python bench/scale.py build --size 1000000; wrk: apt-get install -y wrk)
#   RUNS=5 SIZE=10000000 bench/lookup.sh
#   BENCH_REDIS_URL=redis://127.0.0.1:6379/4 PORT=5400 bench/lookup.sh   (defaults: redis db 0, port 18230)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-$PWD/.venv/bin/python}
BIN=$(dirname "$PY")
SIZE=${SIZE:-1000000}
RUNS=${RUNS:-5}
DURATION=${DURATION:-10s}
PORT=${PORT:-18230}
BARE_PORT=$((PORT + 1))
WORKERS=${WORKERS:-4}  # README: gunicorn -w 4 (sync) in production
if (( SIZE % 1000000 == 0 )); then DB=yx_bench_scale_$((SIZE / 1000000))m; else DB=yx_bench_scale_$((SIZE / 1000))k; fi
export DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/${DB}" FLASK_APP=wsgi SECRET_KEY=bench SCHEDULER_IN_PROCESS=0
export REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/0}  # the public lookups' rate limits live there
token=$("$BIN/flask" tokens create --org 绍兴市邮政管理局 --role official --name lookup-bench)

"$BIN/gunicorn" -w "$WORKERS" -b "127.0.0.1:${PORT}" --log-level warning --chdir "$PWD" bench.bench_wsgi:app &
APP=$!
"$BIN/gunicorn" -w "$WORKERS" -b "127.0.0.1:${BARE_PORT}" --log-level warning --chdir "$PWD/bench" bare_app:app &
BARE=$!
trap 'kill $APP $BARE 2>/dev/null || true; "$BIN/flask" tokens revoke "${token:0:10}" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:${PORT}/livez" >/dev/null && curl -sf "http://127.0.0.1:${BARE_PORT}/livez" >/dev/null && break
  sleep 0.2
done

run() {  # name url [lua kind] -> "req/s p99ms"
  local out
  if [[ -n "${3:-}" ]]; then
    out=$(N=$SIZE PATH_KIND=$3 TOKEN=$token wrk -t2 -c32 -d"$DURATION" --latency -s bench/random_path.lua "$2")
  else
    out=$(wrk -t2 -c32 -d"$DURATION" --latency "$2")
  fi
  local bad; bad=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
  [[ -n "$bad" ]] && echo "$1: $bad" >&2
  "$PY" - "$out" <<'PY'
import re, sys
out = sys.argv[1]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
v, unit = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out).groups()
print(rps, float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit])
PY
}

# warm-up (caches, connections)
run warmup "http://127.0.0.1:${PORT}" detail >/dev/null
run warmup "http://127.0.0.1:${PORT}" track >/dev/null
echo "database ${DB}; gunicorn -w ${WORKERS} sync (both apps); rate limits in ${REDIS_URL}; wrk -t2 -c32 -d${DURATION}; ${RUNS} runs"
printf '%-4s %10s %10s %10s %10s %9s %9s %9s %9s %9s\n' run "bare r/s" "livez r/s" "detail r/s" "track r/s" \
  "det/livez" "det/bare" "p99 ×" "trk/livez" "p99 ms"
for i in $(seq 1 "$RUNS"); do
  read -r bare_rps bare_p99 < <(run bare "http://127.0.0.1:${BARE_PORT}/livez")
  read -r live_rps live_p99 < <(run livez "http://127.0.0.1:${PORT}/livez")
  read -r det_rps det_p99 < <(run detail "http://127.0.0.1:${PORT}" detail)
  read -r trk_rps trk_p99 < <(run track "http://127.0.0.1:${PORT}" track)
  "$PY" - "$i" "$bare_rps" "$live_rps" "$live_p99" "$det_rps" "$det_p99" "$trk_rps" <<'PY' | tee -a /tmp/lookup_runs.$$
import sys
i = sys.argv[1]
bare, live, live_p99, det, det_p99, trk = map(float, sys.argv[2:])
print(f"{i:4} {bare:10,.0f} {live:10,.0f} {det:10,.0f} {trk:10,.0f} {det / live:9.2f} {det / bare:9.2f} "
      f"{det_p99 / live_p99:9.2f} {trk / live:9.2f} {det_p99:9.1f}")
PY
done
"$PY" - /tmp/lookup_runs.$$ <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
cols = {"detail/livez (≥ 0.5)": 5, "detail/bare (≥ 0.3)": 6, "detail p99 / livez p99 (≤ 3)": 7, "track/livez (≥ 0.5)": 8}
for name, c in cols.items():
    v = [float(r[c]) for r in rows]
    print(f"{name:30} median {statistics.median(v):.2f}  range {min(v):.2f}–{max(v):.2f}")
PY
rm -f /tmp/lookup_runs.$$
echo "load: $(uptime | sed 's/.*load average/load average/')"
