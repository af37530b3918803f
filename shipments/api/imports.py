"""Import batches: every upload with its row report (绩效可追)."""
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from shipments.api.auth import auth_required, current_caller
from shipments.api.paging import keyset_page
from shipments.api.shipments import request_language
from shipments.extensions import db
from shipments.models import ImportJob
from shipments.models.enums import Role
from shipments.schemas.network import ImportBatchPageSchema, ImportBatchQuerySchema
from shipments.services import import_jobs, imports

blp = Blueprint("imports", __name__, url_prefix="/api/v1/imports", description="Import batches (导入批次)")


@blp.route("")
class ImportBatches(MethodView):
    @auth_required(blp)
    @blp.arguments(ImportBatchQuerySchema, location="query")
    @blp.response(200, ImportBatchPageSchema)
    def get(self, query):
        """List import batches, newest first, with their row reports (members: their own)"""
        return keyset_page(imports.list_batches(current_caller(), query.get("after")), query["limit"])


@blp.route("/<int(min=1, max=2147483647):job_id>")
class ImportById(MethodView):
    @auth_required(blp, Role.ADMIN, Role.MEMBER)
    @blp.response(200, description='A bulk file import that may continue in the background (its id comes '
                                   'from the bulk endpoint\'s 202): `{"id", "status": "running"|"done"|"failed", '
                                   '"progress": {rows_done, rows_total, percent}, "report": {…the bulk '
                                   'endpoint\'s report…}}`')
    @blp.alt_response(404, description="No such import of your organisation")
    def get(self, job_id):
        """Read a bulk file import's status, progress and report (so far)"""
        job = db.session.get(ImportJob, job_id)
        if job is None or job.organisation_id != current_caller().organisation_id:
            abort(404, message="找不到该导入 (no such import)")
        return import_jobs.job_state(job, request_language())
