"""Shipments: register one or many, list with filters, read one with events."""
import io
import logging
import threading
import time

from flask import current_app, request, send_file, url_for
from flask.views import MethodView
from flask_babel import lazy_pgettext as _x
from flask_smorest import Blueprint, abort
from sqlalchemy.exc import IntegrityError, OperationalError

from shipments import labels
from shipments.api.auth import auth_required, current_caller
from shipments.api.paging import keyset_page
from shipments.extensions import db
from shipments.models.enums import Role
from shipments.schemas.shipments import (
    CancelInSchema, ImportReportSchema, OfficialShipmentPageSchema, ShipmentPatchSchema, ShipmentDetailSchema, ShipmentInSchema, ShipmentPageSchema,
    ShipmentQuerySchema, ShipmentSchema, TemplateQuerySchema, dump_shipment_detail,
)
from shipments.models import Shipment
from shipments.schemas.network import PollPageSchema, PollQuerySchema, ShipmentHistorySchema
from shipments.services import history, import_jobs, imports, poll_log
from shipments.services import shipments as service
from shipments.services.carriers import provider_settings

log = logging.getLogger(__name__)

blp = Blueprint("shipments", __name__, url_prefix="/api/v1/shipments", description="Shipments (运单)")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WRITERS = (Role.ADMIN, Role.MEMBER)
INVALID_INPUT = _x("api", "invalid input")  # the Chinese answer names both: 输入有误 (invalid input)


def request_language() -> str:
    """The caller's language: en when Accept-Language prefers English, zh otherwise."""
    for value, _quality in request.accept_languages:
        primary = value.split("-")[0].lower()
        if primary in service.LANGUAGES:
            return primary
    return "zh"


def problems_as_errors(problems, lang: str) -> dict:
    errors: dict[str, list[str]] = {}
    for problem in problems:
        errors.setdefault(problem.field, []).append(problem.text(lang))
    return {"json": errors}


def dump(schema, data):
    """A JSON response from a schema chosen by role (the documented one is the members' view)."""
    return current_app.json.response(schema.dump(data))


def cursor_position(query: dict):
    """The keyset position of the query's `cursor` (None without one; 422 for one we did not issue)."""
    if not query.get("cursor"):
        return None
    try:
        return service.decode_cursor(query["cursor"])
    except service.BadCursor:
        abort(422, message="分页游标无效 (invalid cursor)", errors={"query": {"cursor": ["invalid cursor"]}})


@blp.route("")
class Shipments(MethodView):
    @auth_required(blp)
    @blp.arguments(ShipmentQuerySchema, location="query")
    @blp.response(200, ShipmentPageSchema)
    def get(self, query):
        """List shipments, newest first, one page after `cursor`"""
        caller = current_caller()
        after = cursor_position(query)
        page = keyset_page(service.list_shipments(caller, query, after), query["limit"], service.encode_cursor)
        schema = ShipmentPageSchema() if caller.sees_personal_data else OfficialShipmentPageSchema()
        return dump(schema, page)

    @auth_required(blp, *WRITERS)
    @blp.arguments(ShipmentInSchema)
    @blp.response(201, ShipmentSchema)
    @blp.alt_response(200, schema=ShipmentSchema, description="Already registered by your organisation (idempotent)")
    @blp.alt_response(409, description="Registered by another organisation")
    def post(self, data):
        """Register one shipment (idempotent on carrier and number)"""
        lang = request_language()
        try:
            shipment, created = service.register_shipment(
                db.session, current_caller(), data, provider_settings(current_app.config))
        except service.CarrierUndecided as exc:
            abort(422, message=exc.problem.text(lang),
                  errors={"json": {"carrier": [exc.problem.text(lang)]}, "candidates": exc.candidates})
        except service.RowInvalid as exc:
            abort(422, message=labels.text(INVALID_INPUT, lang),
                  errors=problems_as_errors(exc.problems, lang))
        except service.NumberTaken:
            db.session.rollback()
            abort(409, message=service.message("registered_by_other_org", lang))
        except IntegrityError:
            db.session.rollback()
            abort(409, message=service.message("registered_by_other_org", lang))
        db.session.commit()
        return shipment, 201 if created else 200


@blp.route("/bulk")
class ShipmentsBulk(MethodView):
    @blp.doc(requestBody={
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "maxItems": imports.MAX_JSON_ROWS,
                                            "items": {"$ref": "#/components/schemas/ShipmentIn"}}},
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary",
                                        "description": "CSV (UTF-8, UTF-8 BOM or GBK) or XLSX, ≤ 100,000 rows"}}}},
        },
    })
    @auth_required(blp, *WRITERS)
    @blp.response(200, ImportReportSchema)
    @blp.alt_response(202, description="Still importing after IMPORT_SYNC_SECONDS: `{id, status, status_url, "
                                       "progress}`; the import carries on in the background")
    @blp.alt_response(413, description="Too many rows or too large")
    @blp.alt_response(415, description="Neither JSON nor a multipart upload")
    @blp.alt_response(422, description="Unreadable file or no tracking-number column")
    def post(self):
        """Register many shipments: a JSON array, or a CSV/XLSX upload; answer a per-row report"""
        caller = current_caller()
        lang = request_language()
        options = {"providers": provider_settings(current_app.config), "commit": db.session.commit,
                   "any_program": caller.role == Role.ADMIN}
        try:
            if request.mimetype == "application/json":
                items = request.get_json(silent=True)
                if not isinstance(items, list):
                    abort(422, message="请求体应为运单数组 (body must be a JSON array)",
                          errors={"json": {"_schema": ["must be an array"]}})
                batch = imports.start_batch(db.session, caller.organisation_id, None, token_id=caller.token_id)
                report = imports.import_rows(db.session, imports.json_rows(items), caller.organisation_id,
                                             batch=batch, **options)
            elif request.mimetype == "multipart/form-data":
                upload = request.files.get("file")
                if upload is None:
                    abort(422, message="缺少文件 (missing file)", errors={"files": {"file": ["required"]}})
                report, job = import_file(upload.stream, upload.filename, caller, options)
                if not report.finished:
                    return current_app.json.response(
                        {"id": job.id, "status": "running", "status_url": url_for("imports.ImportById", job_id=job.id),
                         "progress": import_jobs.job_state(job, lang)["progress"]}), 202
            else:
                abort(415, message="请以 JSON 数组或 multipart 文件上传 (send JSON or a multipart file)")
        except imports.FileRejected as exc:
            db.session.rollback()
            abort(exc.status, message=exc.text(lang), errors={"file": [exc.text(lang)]})
        except OperationalError:
            # The database went away mid-import: every committed chunk stays, and the
            # job carries on once its lease runs out; uploading the file again also finishes it.
            db.session.rollback()
            abort(503, message="数据库连接中断：已保存的行不会丢失，请重新上传同一文件以完成导入 "
                               "(database connection lost: rows saved so far are kept; upload the same file again)")
        return report.as_dict(lang)


def import_file(stream, filename: str | None, caller, options: dict):
    """Keep the upload, import it for up to IMPORT_SYNC_SECONDS; (report, job)."""
    config = current_app.config
    where = import_jobs.folder(config, current_app.instance_path)
    key = import_jobs.keep_file(stream, where)
    job = import_jobs.start_job(db.session, caller.organisation_id, key, {
        "any_program": options["any_program"], "file_name": filename, "token_id": caller.token_id}, rows_total=0)
    db.session.commit()
    try:
        report = import_jobs.run_job(db.session, job, where, providers=options["providers"], commit=db.session.commit,
                                     deadline=time.monotonic() + float(config["IMPORT_SYNC_SECONDS"]),
                                     chunk_rows=int(config["IMPORT_CHUNK_ROWS"]))
    except imports.FileRejected:
        db.session.delete(job)  # nothing was imported: no trace of a refused file
        db.session.commit()
        raise
    if not report.finished and background_thread_enabled(config):
        continue_in_background(current_app._get_current_object())
    return report, job


def background_thread_enabled(config) -> bool:
    flag = config.get("IMPORT_BACKGROUND_THREAD")
    return (not config.get("TESTING")) if flag is None else bool(flag)


def continue_in_background(app) -> None:
    """Carry on handed-over imports in a thread of this process (the worker would, a little later)."""
    def work():
        with app.app_context():
            try:
                import_jobs.finish_pending(db.session, import_jobs.folder(app.config, app.instance_path),
                                           provider_settings(app.config),
                                           chunk_rows=int(app.config["IMPORT_CHUNK_ROWS"]))
            except Exception:
                db.session.rollback()
                log.exception("background import failed; the worker will retry it")
            finally:
                db.session.remove()
    threading.Thread(target=work, name="import", daemon=True).start()


@blp.route("/template")
class ShipmentsTemplate(MethodView):
    @auth_required(blp)
    @blp.arguments(TemplateQuerySchema, location="query")
    @blp.doc(responses={"200": {"description": "The upload template", "content": {
        "text/csv": {"schema": {"type": "string", "format": "binary"}},
        XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
    def get(self, query):
        """Download the bulk-upload template (CSV or XLSX)"""
        lang = query["lang"]
        if query["format"] == "csv":
            body, mimetype = imports.template_csv(lang), "text/csv"
        else:
            body, mimetype = imports.template_xlsx(lang), XLSX
        name = f"shipments-template-{lang}.{query['format']}"
        return send_file(io.BytesIO(body), mimetype=mimetype, as_attachment=True, download_name=name)


@blp.route("/<string(maxlength=16):carrier>/<string(maxlength=80):number>")
class ShipmentByNumber(MethodView):
    @auth_required(blp)
    @blp.response(200, ShipmentDetailSchema)
    @blp.alt_response(404, description="No such shipment visible to you")
    def get(self, carrier, number):
        """Read one shipment with its tracking events"""
        caller = current_caller()
        found = service.find_shipment_detail(db.session, caller, carrier, number)
        if found is None:
            abort(404, message="找不到该运单 (no such shipment)")
        shipment, events = found
        return current_app.json.response(dump_shipment_detail(shipment, events, masked=not caller.sees_personal_data))

    @auth_required(blp, *WRITERS)
    @blp.arguments(ShipmentPatchSchema)
    @blp.response(200, ShipmentSchema)
    @blp.alt_response(404, description="No such shipment visible to you")
    def patch(self, data, carrier, number):
        """Add the phone's last 4 digits (polled again at the next tick) or correct program, channel, direction, destination, pieces, order reference"""
        lang = request_language()
        shipment = db.session.scalar(service.find_shipment(current_caller(), carrier, number).with_for_update())
        if shipment is None:
            abort(404, message="找不到该运单 (no such shipment)")
        try:
            service.update_shipment(db.session, current_caller(), shipment, data)
        except service.RowInvalid as exc:
            db.session.rollback()
            abort(422, message=labels.text(INVALID_INPUT, lang),
                  errors=problems_as_errors(exc.problems, lang))
        db.session.commit()
        return shipment

    @auth_required(blp, *WRITERS)
    @blp.arguments(CancelInSchema)
    @blp.response(200, ShipmentSchema)
    @blp.alt_response(404, description="No such shipment visible to you")
    def delete(self, data, carrier, number):
        """Cancel a registration: the row stays as `cancelled` with the reason, and leaves the volumes"""
        shipment = db.session.scalar(service.find_shipment(current_caller(), carrier, number).with_for_update())
        if shipment is None:
            abort(404, message="找不到该运单 (no such shipment)")
        service.cancel_shipment(shipment, data["reason"], caller=current_caller())
        db.session.commit()
        return shipment


@blp.route("/<string(maxlength=16):carrier>/<string(maxlength=80):number>/polls")
class ShipmentPolls(MethodView):
    @auth_required(blp)
    @blp.arguments(PollQuerySchema, location="query")
    @blp.response(200, PollPageSchema)
    @blp.alt_response(404, description="No such shipment visible to you")
    def get(self, query, carrier, number):
        """Read a shipment's poll log, newest first (sent at, provider, HTTP status, outcome, duration, error)"""
        shipment_id = db.session.scalar(service.find_shipment(current_caller(), carrier, number)
                                        .with_only_columns(Shipment.id))
        if shipment_id is None:
            abort(404, message="找不到该运单 (no such shipment)")
        return keyset_page(poll_log.shipment_polls(shipment_id, cursor_position(query)), query["limit"],
                           lambda row: service.encode_position(row.sent_at, row.id))


@blp.route("/<string(maxlength=16):carrier>/<string(maxlength=80):number>/history")
class ShipmentHistory(MethodView):
    @auth_required(blp)
    @blp.response(200, ShipmentHistorySchema)
    @blp.alt_response(404, description="No such shipment visible to you")
    def get(self, carrier, number):
        """Read a shipment's edit history, newest first (when, field, old → new, source, who; masked for officials)"""
        caller = current_caller()
        shipment_id = db.session.scalar(service.find_shipment(caller, carrier, number).with_only_columns(Shipment.id))
        if shipment_id is None:
            abort(404, message="找不到该运单 (no such shipment)")
        return {"items": history.history_rows(db.session, shipment_id, masked=not caller.sees_personal_data)}
