"""The app as the benches serve it: production code, public-tracking limits raised so load tests measure work, not 429s."""
from shipments import create_app

app = create_app({"TRACK_RATE_LIMIT": "100000000 per second", "TRACK_NUMBER_RATE_LIMIT": "100000000 per second"})
