"""Refuse NUL characters in query strings and web form fields: no column can store them
(PostgreSQL refuses them outright), and no honest client sends them."""
from flask import request
from flask_smorest import abort

MESSAGE = "输入含有不可见的控制字符 (NUL) · the input contains a NUL character"


def register(app) -> None:
    """Check every request's query string, and the form fields of the HTML pages."""

    @app.before_request
    def refuse_nul_characters():
        sources = [request.args]
        # API bodies are checked by their schemas; reading the form here would
        # also consume bodies the push callbacks must verify byte for byte.
        if not request.path.startswith("/api/"):
            sources.append(request.form)
        for source in sources:
            if any("\x00" in key or "\x00" in value for key, value in source.items(multi=True)):
                abort(400, message=MESSAGE)
