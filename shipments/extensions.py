"""Unbound extensions, initialised in create_app()."""
from flask_babel import Babel, lazy_gettext
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from shipments.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True)

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = lazy_gettext("Please log in first.")
login_manager.login_message_category = "info"
csrf = CSRFProtect()
babel = Babel()
# Per-client limits (public tracking); storage is REDIS_URL or memory:// (config.finalise).
limiter = Limiter(key_func=get_remote_address)
