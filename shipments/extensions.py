"""Unbound extensions, initialised in create_app()."""
from flask_babel import Babel, lazy_gettext
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as _FlaskSession
from flask_wtf import CSRFProtect

from shipments.db import Base, autocommit_engine, is_read_only_request


class Session(_FlaskSession):
    """Flask-SQLAlchemy's session; read-only requests (GET, HEAD) run on PostgreSQL without a transaction.

    No BEGIN and no ROLLBACK around a page or API read: each statement is
    its own snapshot (every report query reads rollups and deltas in one
    statement). Writes are POST/PUT/PATCH/DELETE and keep their transaction.
    """

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        engine = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if bind is None and is_read_only_request():
            return autocommit_engine(engine)
        return engine


db = SQLAlchemy(model_class=Base, session_options={"class_": Session})
migrate = Migrate(compare_type=True)

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = lazy_gettext("Please log in first.")
login_manager.login_message_category = "info"
csrf = CSRFProtect()
babel = Babel()
# Per-client limits (public tracking); storage is REDIS_URL or memory:// (config.finalise).
limiter = Limiter(key_func=get_remote_address)
