"""Bulk imports that continue in the background: their status, progress and report."""
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from shipments.api.auth import auth_required, current_caller
from shipments.api.shipments import request_language
from shipments.extensions import db
from shipments.models import ImportJob
from shipments.models.enums import Role
from shipments.services import import_jobs

blp = Blueprint("imports", __name__, url_prefix="/api/v1/imports", description="Bulk imports (批量导入进度)")


@blp.route("/<int(min=1, max=2147483647):job_id>")
class ImportById(MethodView):
    @auth_required(blp, Role.ADMIN, Role.MEMBER)
    @blp.response(200, description='`{"id", "status": "running"|"done"|"failed", "progress": {rows_done, '
                                   'rows_total, percent}, "report": {…the bulk endpoint\'s report…}}`')
    @blp.alt_response(404, description="No such import of your organisation")
    def get(self, job_id):
        """Read a bulk import's status, progress and report (so far)"""
        job = db.session.get(ImportJob, job_id)
        if job is None or job.organisation_id != current_caller().organisation_id:
            abort(404, message="找不到该导入 (no such import)")
        return import_jobs.job_state(job, request_language())
