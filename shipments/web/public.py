"""Pages anyone may see: home and health."""
from flask import Blueprint, current_app, render_template

from shipments.extensions import db
from shipments.services import health, programs

bp = Blueprint("public", __name__)


@bp.get("/livez")
def livez():
    """Answer 200 while the process serves requests (no database: a liveness probe and the benches' ceiling)."""
    return {"status": "ok"}


@bp.get("/healthz")
def healthz():
    """Each dependency's state (database, Redis, scheduler heartbeat); 503 only when the database is down."""
    body, status = health.health(db.session, current_app.config)
    return body, status


@bp.get("/")
def home():
    """The landing page: what the service is and the programs it follows."""
    program_list = db.session.scalars(programs.list_programs()).all()
    return render_template("public/home.html", programs=program_list)
