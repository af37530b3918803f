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
    "SEVENTEENTRACK_URL": "https://api.17track.net",
    "SEVENTEENTRACK_TOKEN": None,
    "SCHEDULER_IN_PROCESS": None,  # decided by the process that starts the app
    "PUBLIC_BASE_URL": None,  # for carrier push callback URLs
}

DEFAULTS = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "JSON_AS_ASCII": False,
    "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "DISPLAY_TIMEZONE": "Asia/Shanghai",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Public tracking lookups per client address, and per tracking number (DOMAIN.md §6).
    "TRACK_RATE_LIMIT": "20 per minute;200 per hour",
    "TRACK_NUMBER_RATE_LIMIT": "30 per hour",
    "RATELIMIT_HEADERS_ENABLED": True,
    # Verified API tokens are remembered per process this long: a revoked token
    # keeps working for at most this many seconds (0: look every token up).
    "API_TOKEN_CACHE_SECONDS": 5,
    # Bulk uploads: request body ceiling (a 100,000-row CSV is ≈ 10 MB).
    "BULK_MAX_BYTES": 64 * 1024 * 1024,
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
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{Path(instance_path) / 'yuexiang.db'}"
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _instance_secret_key(Path(instance_path))
    return config


def finalise(config: dict) -> None:
    """Derive settings that depend on others, after overrides are applied."""
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    # Rate limits are shared by every process through Redis when configured.
    config.setdefault("RATELIMIT_STORAGE_URI", config.get("REDIS_URL") or "memory://")
    config.setdefault("SESSION_COOKIE_SECURE", not config.get("DEBUG") and not config.get("TESTING")
                      and config["DATABASE_URL"].startswith("postgresql"))


def validate(config: dict) -> None:
    """Refuse configurations that cannot work, with a message naming the setting."""
    url = config["DATABASE_URL"]
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise ValueError(f"DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL, got scheme {url.split(':', 1)[0]!r}")
    if url.startswith("postgresql://"):
        raise ValueError("DATABASE_URL: use postgresql+psycopg:// (psycopg 3 is the installed driver)")


def _instance_secret_key(instance: Path) -> str:
    """Return the instance's secret key, generating it on first run."""
    instance.mkdir(parents=True, exist_ok=True)
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()
