"""Pages anyone may see: home and health."""
from flask import Blueprint, render_template
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from shipments.extensions import db
from shipments.services import programs

bp = Blueprint("public", __name__)


@bp.get("/livez")
def livez():
    """Answer 200 while the process serves requests (no database: a liveness probe and the benches' ceiling)."""
    return {"status": "ok"}


@bp.get("/healthz")
def healthz():
    """Answer 200 when the database answers, 503 otherwise."""
    try:
        db.session.execute(select(1))
    except SQLAlchemyError:
        db.session.rollback()
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}


@bp.get("/")
def home():
    """The landing page: what the service is and the programs it follows."""
    program_list = db.session.scalars(programs.list_programs()).all()
    return render_template("public/home.html", programs=program_list)
