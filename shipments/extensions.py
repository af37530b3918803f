"""Unbound extensions, initialised in create_app()."""
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from shipments.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True)
