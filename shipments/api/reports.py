"""Reports: volumes, delivery quality, late perishables, village network.

Who sees what: officials and admins read every organisation's figures; an
organisation member gets the same reports computed over their own
organisation's shipments only. The network report (all stations) is for
officials and admins.
"""
from urllib.parse import quote

from flask import Response, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from shipments.api.auth import auth_required, current_caller
from shipments.extensions import db
from shipments.models.enums import Role
from shipments.schemas.reports import (
    LateShipmentSchema, NetworkSchema, QualityQuerySchema, QualityRowSchema, ReportFilterQuerySchema,
    VolumeQuerySchema, VolumeReportSchema, dump_late_rows, dump_network, dump_quality_rows,
)
from shipments.services import exports, reports

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# With format=csv|xlsx the 200 answer is a file download.
FILE_DOWNLOADS = {"responses": {200: {"content": {
    "text/csv": {"schema": {"type": "string"}},
    XLSX: {"schema": {"type": "string", "format": "binary"}},
}}}}

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="Program volumes and delivery quality")


def file_response(table: exports.Table, fmt: str) -> Response:
    """A CSV/XLSX download of an export table."""
    body, mimetype, filename = exports.render(table, fmt)
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@blp.route("/volumes")
class Volumes(MethodView):
    @auth_required(blp)
    @blp.arguments(VolumeQuerySchema, location="query")
    @blp.response(200, VolumeReportSchema)
    @blp.doc(**FILE_DOWNLOADS)
    def get(self, args):
        """Shipments, pieces and declared value per period and grouping (Beijing days)"""
        filters = reports.filters_for(current_caller(), args)
        try:
            report = reports.volume_report(db.session, args["period"], args["group_by"], filters)
        except reports.ReportError as exc:
            abort(422, errors={"query": {exc.field: [exc.message]}})
        report = reports.label_report(db.session, report, args["lang"])
        if args["format"] != "json":
            return file_response(exports.volume_table(report, args["lang"]), args["format"])
        return {"period": report.period, "group_by": list(report.group_by), "rows": report.rows,
                "totals": report.totals}


@blp.route("/quality")
class Quality(MethodView):
    @auth_required(blp)
    @blp.arguments(QualityQuerySchema, location="query")
    @blp.response(200, QualityRowSchema(many=True))
    @blp.doc(**FILE_DOWNLOADS)
    def get(self, args):
        """Delivery quality per program and carrier (by_province=true: and destination province)"""
        by_province = args["by_province"]
        rows = reports.quality_report(db.session, reports.filters_for(current_caller(), args), by_province=by_province)
        rows = reports.label_quality(db.session, rows, args["lang"], by_province)
        if args["format"] != "json":
            return file_response(exports.quality_table(rows, args["lang"], by_province=by_province), args["format"])
        return jsonify(dump_quality_rows(rows))  # the schema's answer, built without marshmallow (thousands of rows)


@blp.route("/late-perishables")
class LatePerishables(MethodView):
    @auth_required(blp)
    @blp.arguments(ReportFilterQuerySchema, location="query")
    @blp.response(200, LateShipmentSchema(many=True))
    @blp.doc(**FILE_DOWNLOADS)
    def get(self, args):
        """Perishable shipments past their program's delivery deadline"""
        rows = db.session.execute(reports.late_perishables(db.session, reports.filters_for(current_caller(), args))).all()
        if args["format"] != "json":
            return file_response(exports.late_table(rows, args["lang"]), args["format"])
        return jsonify(dump_late_rows(rows))  # the schema's answer, built without marshmallow (500 rows)


@blp.route("/network")
class Network(MethodView):
    @auth_required(blp, Role.ADMIN, Role.OFFICIAL)
    @blp.arguments(ReportFilterQuerySchema, location="query")
    @blp.response(200, NetworkSchema)
    @blp.doc(**FILE_DOWNLOADS)
    def get(self, args):
        """Village-station coverage, silent stations, inbound vs outbound per township"""
        network = reports.network_report(db.session, reports.filters_for(current_caller(), args))
        if args["format"] != "json":
            return file_response(exports.network_table(network, args["lang"]), args["format"])
        return jsonify(dump_network(network))  # the schema's answer, built without marshmallow
