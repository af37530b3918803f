"""Configuration: defaults, the environment (DESIGN.md §5), validation."""
import os
import secrets
from pathlib import Path

# Names read from the environment, with their defaults. Everything else is a
# code default that tests and deployments may override through create_app().
ENV_DEFAULTS = {
    "DATABASE_URL": None,  # sqlite file under instance/ when unset
    "SECRET_KEY": None,  # generated into instance/ on first run when unset
    "REDIS_URL": None,
    "KUAIDI100_URL": "https://poll.kuaidi100.com",
    "KUAIDI100_KEY": None,
    "KUAIDI100_CUSTOMER": None,
    "KUAIDI100_SALT": None,
    "KDNIAO_URL": "https://api.kdniao.com",
    "KDNIAO_EBUSINESS_ID": None,
    "KDNIAO_APP_KEY": None,
    "SEVENTEENTRACK_URL": "https://api.17track.net/track/v2.2",
    "SEVENTEENTRACK_TOKEN": None,
    "SCHEDULER_IN_PROCESS": None,  # decided by the process that starts the app
    "SESSION_COOKIE_SECURE": None,  # Secure cookies and HSTS: on unless debug or loopback (see finalise)
    "PUBLIC_BASE_URL": None,  # for carrier push callback URLs
    "WEBHOOK_ALLOW_PRIVATE": None,  # 1: webhooks may go to private/loopback addresses (tests, closed networks)
}

DEFAULTS = {
    # No ping per checkout (a round trip on every request): pooled connections
    # are replaced after 5 minutes instead, and a connection the server closed
    # fails one request, after which the pool discards it.
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": 300},
    "JSON_AS_ASCII": False,
    "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "DISPLAY_TIMEZONE": "Asia/Shanghai",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    # Web pages (shipments/web): languages offered, page sizes, limits.
    "LANGUAGES": {"zh_Hans_CN": "中文", "en": "English"},
    "WEB_PAGE_SIZE": 50,
    "SELLER_MAX_NUMBERS": 1000,
    "UPLOAD_FOLDER": None,  # uploads kept between preview and import; instance/uploads when unset
    # Public tracking lookups per client address, and per tracking number (DOMAIN.md §6).
    "TRACK_RATE_LIMIT": "20 per minute;200 per hour",
    "TRACK_NUMBER_RATE_LIMIT": "30 per hour",  # per client and number: strangers cannot lock a recipient out
    # Failed logins, per client address and per account.
    "LOGIN_RATE_LIMIT": "10 per minute;50 per hour",
    "LOGIN_ACCOUNT_RATE_LIMIT": "5 per minute;30 per hour",
    # Redis down: limits fall back to per-process memory instead of failing requests.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    "RATELIMIT_HEADERS_ENABLED": True,
    # Verified API tokens are remembered per process this long: a revoked token
    # keeps working for at most this many seconds (0: look every token up).
    "API_TOKEN_CACHE_SECONDS": 5,
    # Request body ceilings per route family, enforced on the stream (chunked bodies too):
    # uploads (API bulk, portal upload; a 100,000-row CSV is ≈ 10 MB), carrier pushes,
    # and everything else (MAX_CONTENT_LENGTH: forms, JSON).
    "BULK_MAX_BYTES": 32 * 1024 * 1024,
    "PUSH_MAX_BYTES": 1024 * 1024,
    # Bulk file imports: answered within this many seconds (200 with the report); what is
    # left continues in the background (202 and /api/v1/imports/{id}). See services/import_jobs.py.
    "IMPORT_SYNC_SECONDS": 20,
    "IMPORT_CHUNK_ROWS": 5000,
    "IMPORT_BACKGROUND_THREAD": None,  # carry on in a thread of the same process (None: on unless TESTING)
    "IMPORT_TICK_SECONDS": 10,  # the worker takes over imports nobody holds
    "IMPORT_FOLDER": None,  # kept upload files; instance/imports when unset
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    # Polling policy (DESIGN.md §3); intervals in seconds. See services/schedule.py.
    "POLL_PENDING_INTERVAL": 3600,  # registered, no data yet: hourly ...
    "POLL_PENDING_FAST_HOURS": 48,  # ... for the first 2 days ...
    "POLL_PENDING_SLOW_INTERVAL": 6 * 3600,  # ... then every 6 h
    "POLL_IN_TRANSIT_INTERVAL": 4 * 3600,
    "POLL_NEAR_DELIVERY_INTERVAL": 3600,  # out for delivery, at a pickup point, failed attempt
    "POLL_EXCEPTION_INTERVAL": 2 * 3600,
    "POLL_EXPIRE_DAYS": 30,  # no new event for this long: expired
    "POLL_PUSH_FALLBACK_HOURS": 12,  # subscribed to pushes: poll only after this long without one
    "POLL_JITTER": 0.1,  # +/- share of an interval, spreads bulk registrations apart
    "POLL_BACKOFF_BASE": 300,  # first retry after a failure; doubles per consecutive failure
    "POLL_BACKOFF_MAX": 6 * 3600,
    # Per number: never ask again sooner than this (Kuaidi100 locks numbers asked too often).
    "POLL_MIN_INTERVAL": {"kuaidi100": 1800},
    # Quotas shared by every process (services/quotas.py; Redis when REDIS_URL is set).
    "POLL_RATE": {"kuaidi100": 20, "kdniao": 10, "17track": 3},  # HTTP requests/second
    # Quotas are counted over 1 + slack seconds of send times and paced (1 + slack)/Q apart: the delay from
    # our write to the carrier's clock (the network) may vary this much (s) before its one-second count
    # could see Q+1. Our own delay before the write is counted already (services/quotas.py), so 0.05 (pace
    # 0.95 of Q) is enough: never above Q under two CPU hogs in bench/poller.py, 0.94 of Q (BENCHMARKS.md).
    "POLL_RATE_SLACK": 0.05,
    "POLL_BATCH": {},  # numbers per request; default and ceiling: the provider's max_batch
    # Claiming and the cycle
    "POLL_CLAIM_SIZE": 200,  # shipments leased per claim
    "POLL_LEASE_SECONDS": 300,  # a dead worker's claims come back after this
    # Concurrent carrier calls per process: enough to keep every enabled quota busy, Q x POLL_CALL_SECONDS
    # x 1.5 summed over the providers (a call holds its thread for its whole round trip), at least
    # POLL_THREADS, at most POLL_THREADS_MAX (threads wait on the quota, the GIL and the database too).
    "POLL_THREADS": 8,
    "POLL_THREADS_MAX": 32,
    "POLL_CALL_SECONDS": 0.3,  # a carrier call's expected round trip, for the thread count only
    "POLL_HTTP_TIMEOUT": 10.0,
    "POLL_CYCLE_SECONDS": 50,  # one cycle stops claiming after this long
    "POLL_TICK_SECONDS": 60,
    "QUOTA_NAMESPACE": "yx",  # prefix of the shared quota and circuit keys
    # Per-provider circuit breaker
    "CIRCUIT_FAILURES": 5,  # consecutive whole-call failures that open it
    "CIRCUIT_OPEN_SECONDS": 60,  # then one probe call is let through
    # Sweeps
    "SWEEP_INTERVAL_SECONDS": 900,
    "POLL_LOG_KEEP_DAYS": 90,  # poll log rows older than this are summarised per day, then deleted
    "PICKUP_OVERDUE_HOURS": 24,
    # Outbound webhooks (services/webhooks): the delivery job, timeouts, retries.
    "WEBHOOK_TICK_SECONDS": 1,
    "WEBHOOK_CYCLE_SECONDS": 50,  # one job run claims for this long, then the next tick starts another
    "WEBHOOK_IDLE_POLL_SECONDS": 0.2,  # how often a running cycle looks for new deliveries
    "WEBHOOK_THREADS": 16,  # concurrent requests per worker process
    "WEBHOOK_MAX_IN_FLIGHT": 4,  # per subscriber, across all processes
    "WEBHOOK_LEASE_SECONDS": 60,  # a killed worker's deliveries go out again after this
    "WEBHOOK_CONNECT_TIMEOUT": 3.0,
    "WEBHOOK_TIMEOUT": 5.0,  # reading the answer
    "WEBHOOK_MAX_RESPONSE_BYTES": 65536,  # of an answer's body read (and ignored)
    "WEBHOOK_RETRY_BASE_SECONDS": 60,  # first retry after 1 min, doubling ...
    "WEBHOOK_RETRY_MAX_SECONDS": 6 * 3600,  # ... at most 6 h apart ...
    "WEBHOOK_MAX_ATTEMPTS": 12,  # ... 12 tries span about 21-24 h, then failed
    "WEBHOOK_DISABLE_AFTER_DAYS": 3,  # failing without a success this long: subscription disabled
    "WEBHOOK_SECRET_GRACE_HOURS": 24,  # after a rotation the old secret signs too, this long
    # Reports read rollups plus unfolded deltas (exact at once); folding keeps the deltas short.
    "ROLLUP_FOLD_SECONDS": 60,
}

TRUE_WORDS = {"1", "true", "yes", "on"}


def env_flag(value):
    """Read a boolean environment value; None stays None."""
    if value is None:
        return None
    return str(value).strip().lower() in TRUE_WORDS


def load_config(instance_path: str, environ=os.environ) -> dict:
    """Build the configuration from defaults and the environment."""
    config = dict(DEFAULTS)
    for name, default in ENV_DEFAULTS.items():
        value = environ.get(name)
        config[name] = value if value not in (None, "") else default
    config["SCHEDULER_IN_PROCESS"] = env_flag(config["SCHEDULER_IN_PROCESS"])
    config["SESSION_COOKIE_SECURE"] = env_flag(config["SESSION_COOKIE_SECURE"])
    config["WEBHOOK_ALLOW_PRIVATE"] = bool(env_flag(config["WEBHOOK_ALLOW_PRIVATE"]))
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{Path(instance_path) / 'yuexiang.db'}"
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _instance_secret_key(Path(instance_path))
    return config


def finalise(config: dict) -> None:
    """Derive settings that depend on others, after overrides are applied."""
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    if config["DATABASE_URL"].startswith("postgresql"):
        # No JIT: the planner compiles any query whose estimate passes jit_above_cost, and at 10M rows
        # our indexed report reads pass it while returning a handful of rows: 25–90 ms of compiling
        # per statement (seven centres' scans on the dashboard: 0.5 s) for queries that run in 1 ms.
        options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        connect_args = dict(options.get("connect_args", {}))
        connect_args["options"] = f"{connect_args.get('options', '')} -c jit=off".strip()
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, "connect_args": connect_args}
    # Rate limits are shared by every process through Redis when configured.
    config.setdefault("RATELIMIT_STORAGE_URI", config.get("REDIS_URL") or "memory://")
    # Flask itself sets SESSION_COOKIE_SECURE = False, so a setdefault never applied:
    # None (unset in the environment and overrides) means "decide here".
    if config.get("SESSION_COOKIE_SECURE") is None:
        config["SESSION_COOKIE_SECURE"] = not (config.get("DEBUG") or config.get("TESTING") or is_loopback(config))
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]


LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


def is_loopback(config) -> bool:
    """Whether this is a developer's own machine: PUBLIC_BASE_URL on loopback, or unset with SQLite."""
    base = config.get("PUBLIC_BASE_URL")
    if base:
        from urllib.parse import urlsplit

        host = urlsplit(base).hostname or ""
        return host in LOOPBACK_HOSTS or host.startswith("127.")
    return config["DATABASE_URL"].startswith("sqlite")


def validate(config: dict) -> None:
    """Refuse configurations that cannot work, with a message naming the setting."""
    url = config["DATABASE_URL"]
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise ValueError(f"DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL, got scheme {url.split(':', 1)[0]!r}")
    if url.startswith("postgresql://"):
        raise ValueError("DATABASE_URL: use postgresql+psycopg:// (psycopg 3 is the installed driver)")
    kuaidi100_on = config.get("KUAIDI100_KEY") and config.get("KUAIDI100_CUSTOMER")
    if kuaidi100_on and config.get("PUBLIC_BASE_URL") and not config.get("KUAIDI100_SALT"):
        # Its push signature is MD5(param + salt): without a salt anyone could forge a push.
        raise ValueError("KUAIDI100_SALT must be set when Kuaidi100 pushes are on (KUAIDI100_KEY and "
                         "PUBLIC_BASE_URL are set): without it anyone could forge a push")


def _instance_secret_key(instance: Path) -> str:
    """Return the instance's secret key, generating it on first run."""
    instance.mkdir(parents=True, exist_ok=True)
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()
