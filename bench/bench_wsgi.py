"""The app as the benches serve it: production code, public-tracking limits raised so load tests measure work,
not 429s, but as many windows as production checks (per client a minute and an hour; per client and number)."""
from shipments import create_app

app = create_app({"TRACK_RATE_LIMIT": "100000000 per minute;100000000 per hour",
                  "TRACK_NUMBER_RATE_LIMIT": "100000000 per hour"})
