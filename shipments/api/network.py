"""The delivery network: stations (7+31+N), 客货邮 routes, co-distribution centres' daily volumes.

Any authenticated caller reads the network (attendant names only for admins
and officials); admins change it. A centre's sorting equipment reports its
daily sorted volume with a token given to that centre (or an admin token).
"""
from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from shipments.api.auth import auth_required, current_caller
from shipments.api.paging import keyset_page
from shipments.db import utcnow
from shipments.extensions import db
from shipments.models import Route, Station
from shipments.models.enums import Role
from shipments.schemas.network import (
    CensusReportSchema, CentreDaysInSchema, CentreDaysOutSchema, CentreFigureQuerySchema, CentreFiguresSchema,
    InboundPageSchema, PublicStationSchema, RouteInSchema, RoutePageSchema, RouteQuerySchema, RouteSchema, StationInSchema,
    StationPageSchema, StationQuerySchema, NetworkStationSchema,
)
from shipments.services.network import desk, figures, routes, stations

blp = Blueprint("network_api", __name__, url_prefix="/api/v1", description="Network: stations, routes, centres (网络)")


def _station_error(exc: stations.StationError, status: int = 422):
    db.session.rollback()
    abort(status, message=exc.message, errors={"json": {exc.field: [exc.message]}})


@blp.route("/stations")
class Stations(MethodView):
    @auth_required(blp)
    @blp.arguments(StationQuerySchema, location="query")
    @blp.response(200, StationPageSchema)
    def get(self, query):
        """List stations by id (filter by level, county, township; page with `after`)"""
        page = keyset_page(stations.list_stations(
            query.get("level"), query.get("county"), query.get("township"), query.get("after")), query["limit"])
        if not current_caller().sees_everything:
            return current_app.json.response({"items": PublicStationSchema(many=True).dump(page["items"]),
                                              "next_cursor": page["next_cursor"]})
        return page

    @auth_required(blp, Role.ADMIN)
    @blp.arguments(StationInSchema)
    @blp.response(201, NetworkStationSchema)
    @blp.alt_response(200, schema=NetworkStationSchema, description="Updated (same census code or name)")
    def post(self, data):
        """Add or update one station (admins; keyed on census code, else name)"""
        try:
            values = stations.clean_station(data, stations.division_lookup(db.session))
            station, created = stations.save_station(db.session, values)
        except stations.StationError as exc:
            _station_error(exc)
        db.session.commit()
        return station, 201 if created else 200


@blp.route("/stations/<int(min=1, max=2147483647):station_id>/inbound")
class StationInbound(MethodView):
    @auth_required(blp, Role.ADMIN, Role.OFFICIAL)
    @blp.response(200, InboundPageSchema)
    @blp.alt_response(404, description="No such station")
    def get(self, station_id):
        """A station's inbound parcels: addressed to it, or scanned there by a carrier in the last 14 days"""
        station = db.session.get(Station, station_id)
        if station is None:
            abort(404, message="没有这个站点 (no such station)")
        parcels = db.session.scalars(desk.inbound_parcels(station, utcnow())).all()
        return {"station_id": station.id, "items": [
            {"carrier": p.carrier, "tracking_number": p.tracking_number, "status": p.status.value,
             "registered_at": p.registered_at, "last_event_at": p.last_event_at,
             "addressed": p.destination_station_id == station.id} for p in parcels]}


@blp.route("/stations/census")
class StationCensus(MethodView):
    @blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary",
                                "description": "CSV: 站点编码,站点名称,层级,类型,所属乡镇,纬度,经度,服务品牌,邮快合作,负责人,日处理能力"}}}}}})
    @auth_required(blp, Role.ADMIN)
    @blp.response(200, CensusReportSchema)
    @blp.alt_response(422, description="Unreadable file or missing columns")
    def post(self):
        """Import the network census (普查数据) CSV: per-row report, valid rows kept"""
        upload = request.files.get("file")
        if upload is None:
            abort(422, message="缺少文件 (missing file)", errors={"files": {"file": ["required"]}})
        try:
            report = stations.import_census(db.session, upload.stream, db.session.commit)
        except stations.StationError as exc:
            _station_error(exc)
        return vars(report)


@blp.route("/routes")
class Routes(MethodView):
    @auth_required(blp)
    @blp.arguments(RouteQuerySchema, location="query")
    @blp.response(200, RoutePageSchema)
    def get(self, query):
        """List 客货邮 routes and 共富邮路 with their stops in order and timetable"""
        return keyset_page(routes.list_routes(query.get("county"), query.get("after")), query["limit"])

    @auth_required(blp, Role.ADMIN)
    @blp.arguments(RouteInSchema)
    @blp.response(201, RouteSchema)
    def post(self, data):
        """Add a route with its stops in order (admins)"""
        try:
            route = routes.create_route(db.session, data["name"], data["kind"], data["county_code"],
                                        data["departures"], data["station_ids"], data.get("operator"))
        except stations.StationError as exc:
            _station_error(exc, 409 if "exists" in exc.message else 422)
        db.session.commit()
        return route


@blp.route("/routes/<int(min=1, max=2147483647):route_id>")
class RouteById(MethodView):
    @auth_required(blp, Role.ADMIN)
    @blp.arguments(RouteInSchema)
    @blp.response(200, RouteSchema)
    @blp.alt_response(404, description="No such route")
    def put(self, data, route_id):
        """Replace a route: name, kind, county, timetable and its stops in order (admins)"""
        route = db.session.get(Route, route_id)
        if route is None:
            abort(404, message="没有这条线路 (no such route)")
        try:
            route = routes.save_route(db.session, route, name=data["name"], kind=data["kind"],
                                      county_code=data["county_code"], departures=data["departures"],
                                      stops=[(i, None) for i in data["station_ids"]], operator=data.get("operator"),
                                      active=data.get("active", True))
        except stations.StationError as exc:
            _station_error(exc, 409 if "exists" in exc.message else 422)
        db.session.commit()
        return route


def _centre(centre_id: int):
    centre = figures.find_centre(db.session, centre_id)
    if centre is None:
        abort(404, message="没有这个共配中心 (no such co-distribution centre)")
    return centre


@blp.route("/centres/<int(min=1, max=2147483647):centre_id>/daily")
class CentreDaily(MethodView):
    @auth_required(blp)
    @blp.arguments(CentreDaysInSchema)
    @blp.response(200, CentreDaysOutSchema)
    @blp.alt_response(404, description="No such centre")
    def post(self, data, centre_id):
        """Report a centre's sorted parcels per Beijing day (the centre's equipment token, or admins; a day
        reported again is replaced)"""
        # Checked before the centre is looked up: a token learns nothing about other ids.
        if not current_caller().reports_for_centre(centre_id):
            abort(403, message="该令牌不能上报此共配中心 (this token may not report for this centre)")
        centre = _centre(centre_id)
        try:
            count = figures.record_centre_days(db.session, centre, [(d["day"], d["sorted_pieces"]) for d in data["days"]],
                                               "api", utcnow())
        except figures.FigureError as exc:
            db.session.rollback()
            abort(422, message=exc.message, errors={"json": {exc.field: [exc.message]}})
        db.session.commit()
        return {"recorded": count}


@blp.route("/centres/<int(min=1, max=2147483647):centre_id>/figures")
class CentreFigures(MethodView):
    @auth_required(blp, Role.ADMIN, Role.OFFICIAL)
    @blp.arguments(CentreFigureQuerySchema, location="query")
    @blp.response(200, CentreFiguresSchema)
    @blp.alt_response(404, description="No such centre")
    def get(self, query, centre_id):
        """A centre's days: reported volume, our parcels of its area, capacity, utilisation; peak; before/after"""
        centre = _centre(centre_id)
        try:
            return figures.centre_figures(db.session, centre, query["date_from"], query["date_to"])
        except figures.FigureError as exc:
            abort(422, message=exc.message, errors={"query": {exc.field: [exc.message]}})
