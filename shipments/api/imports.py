"""Import batches: every upload with its row report (绩效可追)."""
from flask.views import MethodView
from flask_smorest import Blueprint

from shipments.api.auth import auth_required, current_caller
from shipments.api.network import keyset_page
from shipments.extensions import db
from shipments.schemas.network import ImportBatchPageSchema, ImportBatchQuerySchema
from shipments.services import imports

blp = Blueprint("imports", __name__, url_prefix="/api/v1/imports", description="Import batches (导入批次)")


@blp.route("")
class ImportBatches(MethodView):
    @auth_required(blp)
    @blp.arguments(ImportBatchQuerySchema, location="query")
    @blp.response(200, ImportBatchPageSchema)
    def get(self, query):
        """List import batches, newest first, with their row reports (members: their own)"""
        limit = query["limit"]
        rows = db.session.scalars(imports.list_batches(current_caller(), query.get("after")).limit(limit + 1)).all()
        return keyset_page(rows, limit)
