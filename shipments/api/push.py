"""Carrier push callbacks. No bearer token: the provider's signature is the authentication."""
import logging

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy.exc import SQLAlchemyError

from shipments.extensions import db
from shipments.services import push

log = logging.getLogger(__name__)

blp = Blueprint("push", __name__, url_prefix="/api/v1/integrations",
                description="Carrier push callbacks (signed by the provider)")


@blp.route("/<string(minlength=2, maxlength=16):provider>/push")
class Push(MethodView):
    @blp.doc(security=[], requestBody={"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                                                    "application/json": {"schema": {"type": "object"}}}})
    @blp.alt_response(404, description="No enabled push provider by that name")
    @blp.alt_response(400, description="Signed, but not in the provider's documented shape")
    @blp.alt_response(413, description="Body larger than PUSH_MAX_BYTES")
    @blp.alt_response(403, description="Signature missing or wrong (nothing was applied)")
    @blp.response(200, description="Accepted; the body is the provider's own reply format")
    def post(self, provider):
        """Receive a carrier's tracking push"""
        try:
            client = push.push_client(current_app.config, provider)
        except push.UnknownPushProvider:
            abort(404, message="没有该推送服务商 (no enabled push provider by that name)")
        ok = True
        try:
            report = push.handle_push(db.session, current_app.config, client, request.get_data(), request.headers)
            db.session.commit()
            log.info("%s push: %s results, %s matched, %s updated", provider, report.results, report.matched,
                     report.updated)
        except push.PushRejected as exc:
            log.warning("%s push rejected: %s", provider, exc)
            client.close()
            _status, content_type, body = client.push_reply(False)
            return Response(body, status=403, content_type=content_type)
        except push.PushMalformed as exc:
            db.session.rollback()
            log.warning("%s push refused, unexpected shape: %s", provider, exc)
            abort(400, message="推送内容不符合服务商的格式 (the push is not in the provider's documented shape)")
        except SQLAlchemyError:
            db.session.rollback()
            log.exception("%s push could not be stored; the provider will retry", provider)
            ok = False
        finally:
            client.close()
        status, content_type, body = client.push_reply(ok)
        return Response(body, status=status, content_type=content_type)
