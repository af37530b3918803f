"""Programs (寄递项目) and their progress against target.

Any authenticated caller lists programs (names and targets are public
facts); only admins create them and set their member organisations. Progress is program-wide (it sums every
organisation's parcels), so it is for officials and admins: members get 403
and read their own organisation's volumes from /reports/volumes?program_id=.
"""
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from shipments.api.auth import auth_required, current_caller
from shipments.api.reports import FILE_DOWNLOADS, file_response
from shipments.extensions import db
from shipments.models import Program
from shipments.models.enums import Role
from shipments.schemas.reports import (
    ProgramInSchema, ProgramListQuerySchema, ProgramOrganisationsInSchema, ProgramSchema, ProgressQuerySchema,
    ProgressSchema,
)
from shipments.services import exports, programs, reports

blp = Blueprint("programs", __name__, url_prefix="/api/v1/programs", description="Shipping programs and targets")


@blp.route("")
class Programs(MethodView):
    @auth_required(blp)
    @blp.arguments(ProgramListQuerySchema, location="query")
    @blp.response(200, ProgramSchema(many=True))
    def get(self, args):
        """List programs (their names and targets are public facts)"""
        return db.session.scalars(programs.list_programs(args.get("year"))).all()

    @auth_required(blp, Role.ADMIN)
    @blp.arguments(ProgramInSchema)
    @blp.response(201, ProgramSchema)
    @blp.alt_response(404, description="A listed organisation does not exist")
    @blp.alt_response(409, description="A program with this name exists")
    def post(self, data):
        """Create a program (admins only)"""
        try:
            program = programs.create_program(db.session, **data)
        except programs.ProgramError as exc:
            db.session.rollback()
            # 409: the name is taken; 404: a named organisation does not exist.
            status = {"name": 409, "organisation_ids": 404}.get(exc.field, 422)
            abort(status, message=exc.message, errors={"json": {exc.field: [exc.message]}})
        db.session.commit()
        return program


@blp.route("/<int(min=1, max=2147483647):program_id>/organisations")
class ProgramOrganisations(MethodView):
    @auth_required(blp, Role.ADMIN)
    @blp.arguments(ProgramOrganisationsInSchema)
    @blp.response(200, ProgramSchema)
    @blp.alt_response(404, description="No such program, or a listed organisation does not exist")
    def put(self, data, program_id):
        """Replace the program's member organisations (admins only)"""
        program = db.session.get(Program, program_id) or abort(404, message="没有这个寄递项目 (no such program)")
        try:
            programs.set_program_organisations(db.session, program, data["organisation_ids"])
        except programs.ProgramError as exc:
            db.session.rollback()
            abort(404, message=exc.message, errors={"json": {exc.field: [exc.message]}})
        db.session.commit()
        return program


@blp.route("/<int(min=1, max=2147483647):program_id>/progress")
class ProgramProgress(MethodView):
    @auth_required(blp, Role.ADMIN, Role.OFFICIAL)
    @blp.arguments(ProgressQuerySchema, location="query")
    @blp.response(200, ProgressSchema)
    @blp.doc(**FILE_DOWNLOADS)
    @blp.alt_response(404, description="No such program")
    def get(self, args, program_id):
        """Pieces to date against the season-prorated target, pace, tier and shortfalls"""
        program = db.session.get(Program, program_id)
        county = current_caller().county_code
        if program is None or (county and program.county_code != county):
            abort(404, message="没有这个寄递项目 (no such program)")
        progress = reports.program_progress(db.session, program, args.get("as_of"))
        if args["format"] != "json":
            return file_response(exports.shortfall_table(progress, args["lang"]), args["format"])
        return progress
