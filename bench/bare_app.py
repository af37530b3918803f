"""A bare Flask app with one constant JSON route: the ceiling bench/lookup.sh compares against."""
from flask import Flask

app = Flask(__name__)


@app.get("/livez")
def livez():
    return {"status": "ok"}
