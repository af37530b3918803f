"""What the timeline index costs the writers: COPY of tracking events into the real table (its
constraints, foreign key and every index) with ix_tracking_events_timeline (shipment_id, occurred_at, id)
INCLUDE (the shown columns), against the same COPY with the index it replaced, (shipment_id,
occurred_at). Alternating runs on an empty table; also the two indexes' sizes for the same rows.

Needs a PostgreSQL database migrated to head that nothing else is using (a test database after its
tests: its rows are removed at the end):
    python bench/timeline_index_cost.py postgresql://postgres@127.0.0.1:5432/yx_lookup --runs 5
Carriers' descriptions are ~20–60 characters; the bench databases' are 2–9, so the events here carry
realistic ones (the included columns make the index about as wide as the rows).
"""
import argparse
import io
import random
import statistics
import time
from datetime import datetime, timedelta, timezone

import psycopg

NEW = ("CREATE INDEX ix_tracking_events_timeline ON tracking_events (shipment_id, occurred_at, id) "
       "INCLUDE (status, substatus, location, description, raw_code, source)")
OLD = "CREATE INDEX ix_tracking_events_shipment_occurred ON tracking_events (shipment_id, occurred_at)"
PLACES = ["浙江省绍兴市诸暨市", "杭州市", "广州市白云区", "上海市"]
TEXTS = ["【诸暨市】快件已由诸暨转运中心发往杭州转运中心", "【杭州市】快件已到达杭州转运中心，正在分拣",
         "【广州市】快递员王小明 13912345678 正在派件，请保持电话畅通",
         "【广州市】您的快件已放入菜鸟驿站，取件码 6-2-3018，请及时领取", "已揽收"]


def events_csv(shipment_ids: list[int], per_parcel: int) -> bytes:
    rng = random.Random(7)
    start = datetime(2026, 6, 1, tzinfo=timezone.utc)
    out = io.StringIO()
    # Interleaved like carriers' reports: round k of every parcel, then round k + 1.
    for k in range(per_parcel):
        for sid in shipment_ids:
            at = start + timedelta(hours=k * 9, seconds=rng.randrange(3600), microseconds=rng.randrange(10 ** 6))
            out.write(f"{sid}\t{at.isoformat()}\tin_transit\t\\N\t{rng.choice(PLACES)}\t{rng.choice(TEXTS)}\t"
                      f"\\N\tpoll\tk{k}\t{at.isoformat()}\n")
    return out.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="postgresql://… of a scratch database migrated to head")
    parser.add_argument("--parcels", type=int, default=50_000)
    parser.add_argument("--per-parcel", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with psycopg.connect(args.url, autocommit=True) as conn:
        org = conn.execute("INSERT INTO organisations (name, kind, created_at) VALUES "
                           "('timeline-index-bench', 'cooperative', now()) RETURNING id").fetchone()[0]
        try:
            conn.execute("""
                INSERT INTO shipments (carrier, tracking_number, provider, organisation_id, channel, direction, pieces,
                    registered_at, status, at_station, poll_failures, subscription_state, created_at, updated_at)
                SELECT 'sandbox', 'TIX' || lpad(g::text, 10, '0'), 'sandbox', %s, 'other', 'outbound', 1,
                       now(), 'in_transit', false, 0, 'none', now(), now()
                FROM generate_series(1, %s) AS g""", (org, args.parcels))
            ids = [r[0] for r in conn.execute("SELECT id FROM shipments WHERE organisation_id = %s ORDER BY id",
                                              (org,))]
            data = events_csv(ids, args.per_parcel)
            rows = len(ids) * args.per_parcel
            timings = {"old": [], "new": []}
            sizes = {}
            for run in range(args.runs):
                for kind in (("old", "new") if run % 2 == 0 else ("new", "old")):
                    conn.execute("TRUNCATE tracking_events")
                    conn.execute("DROP INDEX IF EXISTS ix_tracking_events_timeline")
                    conn.execute("DROP INDEX IF EXISTS ix_tracking_events_shipment_occurred")
                    conn.execute(NEW if kind == "new" else OLD)
                    conn.execute("CHECKPOINT")
                    began = time.perf_counter()
                    with conn.cursor().copy(
                            "COPY tracking_events (shipment_id, occurred_at, status, substatus, location, description, "
                            "raw_code, source, dedupe_key, created_at) FROM STDIN") as copy:
                        copy.write(data)
                    timings[kind].append(rows / (time.perf_counter() - began))
                    name = "ix_tracking_events_timeline" if kind == "new" else "ix_tracking_events_shipment_occurred"
                    sizes[kind] = conn.execute("SELECT pg_relation_size(%s::regclass), pg_relation_size('tracking_events')",
                                               (name,)).fetchone()
                print(f"run {run + 1}: COPY with (shipment_id, occurred_at) {timings['old'][-1]:9,.0f} rows/s, "
                      f"with the timeline index {timings['new'][-1]:9,.0f} rows/s")
        finally:
            conn.execute("TRUNCATE tracking_events")
            conn.execute("DROP INDEX IF EXISTS ix_tracking_events_shipment_occurred")
            conn.execute("CREATE INDEX IF NOT EXISTS " + NEW.removeprefix("CREATE INDEX "))
            conn.execute("DELETE FROM shipments WHERE organisation_id = %s", (org,))
            conn.execute("DELETE FROM organisations WHERE id = %s", (org,))
    old, new = statistics.median(timings["old"]), statistics.median(timings["new"])
    print(f"{rows:,} events ({args.parcels:,} parcels × {args.per_parcel}), {args.runs} runs each, alternating")
    print(f"COPY, (shipment_id, occurred_at):  median {old:9,.0f} rows/s (range {min(timings['old']):,.0f}–"
          f"{max(timings['old']):,.0f})")
    print(f"COPY, timeline index (INCLUDE):    median {new:9,.0f} rows/s (range {min(timings['new']):,.0f}–"
          f"{max(timings['new']):,.0f})")
    print(f"ratio timeline / old: {new / old:.2f}")
    print(f"index size: old {sizes['old'][0] / 2 ** 20:.1f} MB, timeline {sizes['new'][0] / 2 ** 20:.1f} MB; "
          f"table {sizes['new'][1] / 2 ** 20:.1f} MB")


if __name__ == "__main__":
    main()
