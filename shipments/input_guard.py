"""Guards every request passes before a view runs.

- A body ceiling per route family (uploads bounded, pushes and forms small),
  enforced by werkzeug on the stream, so a chunked body without
  Content-Length stops at the limit too.
- NUL characters in the path, query strings and web form fields are refused:
  no column can store them (PostgreSQL refuses them outright), and no honest
  client sends them.
"""
from flask import current_app, request
from flask_smorest import abort

MESSAGE = "输入含有不可见的控制字符 (NUL) · the input contains a NUL character"
UPLOAD_PATHS = ("/api/v1/shipments/bulk", "/portal/upload", "/seller/")
PUSH_PREFIX = "/api/v1/integrations/"


def body_limit(path: str, config) -> int:
    """The largest request body accepted on `path`, in bytes."""
    if path in UPLOAD_PATHS:
        return config["BULK_MAX_BYTES"]
    if path.startswith(PUSH_PREFIX):
        return config["PUSH_MAX_BYTES"]
    return config["MAX_CONTENT_LENGTH"]


def too_large_message(limit: int) -> str:
    """The 413 message, naming the limit."""
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    return f"请求内容超过 {size} 上限 · the request body is larger than {size}"


def register(app) -> None:
    """Check every request's body size, path, query string, and the form fields of the HTML pages."""

    @app.before_request
    def limit_body_size():
        limit = request.max_content_length = body_limit(request.path, current_app.config)
        if (request.content_length or 0) > limit:
            abort(413, message=too_large_message(limit))

    @app.before_request
    def refuse_nul_characters():
        if "\x00" in request.path:
            abort(400, message=MESSAGE)
        sources = [request.args]
        # API bodies are checked by their schemas; reading the form here would
        # also consume bodies the push callbacks must verify byte for byte.
        if not request.path.startswith("/api/"):
            sources.append(request.form)
        for source in sources:
            if any("\x00" in key or "\x00" in value for key, value in source.items(multi=True)):
                abort(400, message=MESSAGE)
