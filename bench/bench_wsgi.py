"""The app as the benches serve it: production code, public-tracking limits raised so load tests measure work,
not 429s, but as many windows as production checks (per client a minute and an hour; per client and number)."""
import os

from shipments import create_app, freeze_start_up_objects
from shipments.services import imports

# bench/import.py --reader-thread off: the import reads and validates in the request's thread (the A/B of issue 11)
if os.environ.get("BENCH_IMPORT_READER_THREAD") == "0":
    imports.READER_THREAD = False

app = create_app({"TRACK_RATE_LIMIT": "100000000 per minute;100000000 per hour",
                  "TRACK_NUMBER_RATE_LIMIT": "100000000 per hour",
                  # bench/import.py times whole imports in the request (no 202 hand-over to the background)
                  **({"IMPORT_SYNC_SECONDS": float(os.environ["BENCH_IMPORT_SYNC_SECONDS"])}
                     if os.environ.get("BENCH_IMPORT_SYNC_SECONDS") else {})})
freeze_start_up_objects()  # as wsgi.py does
