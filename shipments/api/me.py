"""Who am I: the caller's organisation and role."""
from flask.views import MethodView
from flask_smorest import Blueprint

from shipments.api.auth import auth_required, current_caller
from shipments.schemas.access import CallerSchema

blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="The authenticated caller")


@blp.route("")
class Me(MethodView):
    @auth_required(blp)
    @blp.response(200, CallerSchema)
    def get(self):
        """Describe the caller of this request"""
        return current_caller()
