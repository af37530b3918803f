"""Admin pages: organisations, users, API tokens, programs, stations, centres and routes."""
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField, DateField, HiddenField, IntegerField, PasswordField, SelectField, StringField, TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from shipments import labels
from shipments.db import utcnow
from shipments.extensions import db
from shipments.models import Organisation, Route
from shipments.models.enums import OrganisationKind, Product, Role, RouteKind, StationKind, StationLevel
from shipments.services import access, admin as admin_service, reports
from shipments.services.network import figures as network_figures, routes as network_routes
from shipments.services.network import stations as network_stations
from shipments.web.auth import roles_required
from shipments.web.forms import options
from shipments.web.filters import KIND_LABELS, ROLE_LABELS

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The service's messages, in the page's language.
ADMIN_ERRORS = {
    "name is required": _l("A name is required."),
    "an organisation with this name exists": _l("An organisation with this name exists."),
    "this username is taken": _l("This username is taken."),
    "at least 8 characters": _l("The password needs at least 8 characters."),
    "no such organisation": _l("No such organisation."),
    "administrators belong to the operator organisation": _l("Administrators belong to the operator organisation."),
    "county: only officials can be limited to a county": _l("Only officials can be limited to a county."),
    "centre: a centre's token is a member token of the operator organisation":
        _l("A centre's token is a member token of the operator organisation."),
    "no such user": _l("No such user."),
    "you cannot deactivate yourself": _l("You cannot deactivate yourself."),
    "a program with this name exists": _l("A program with this name exists."),
    "perishable programs need a delivery deadline": _l("Perishable programs need a delivery deadline in hours."),
    "unknown county": _l("Unknown county."),
    "a station with this name exists": _l("A station with this name exists."),
    "county and township stations are co-distribution centres; village ones are not":
        _l("County and township stations are co-distribution centres; village stations are not."),
    "unknown division": _l("Unknown division."),
    "this organisation is deactivated": _l("This organisation is deactivated: activate it first."),
    "you cannot deactivate your own organisation": _l("You cannot deactivate your own organisation."),
    "no such program": _l("No such program."),
}
PRODUCT_LABELS, STATION_LEVEL_LABELS, STATION_KIND_LABELS = labels.PRODUCT, labels.STATION_LEVEL, labels.STATION_KIND


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    kind = SelectField(_l("Kind"), choices=options([(k.value, KIND_LABELS[k.value]) for k in OrganisationKind]))
    county_code = SelectField(_l("County"), validate_choice=False)


def _id_or_none(value):
    return int(value) if str(value or "").isdigit() else None


class UserForm(FlaskForm):
    # No organisation is preselected: picking the first one by default put users in the wrong place.
    organisation_id = SelectField(_l("Organisation"), coerce=_id_or_none,
                                  validators=[InputRequired(_l("Choose the user's organisation."))])
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=60)])
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=60)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), default="member", choices=options(
        [(r.value, ROLE_LABELS[r.value]) for r in (Role.MEMBER, Role.OFFICIAL, Role.ADMIN)]))
    county_code = SelectField(_l("Officials: limited to county"), validate_choice=False, default="")


class PasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[
        DataRequired(), Length(min=8, max=200, message=_l("Between 8 and 200 characters."))])


class ActiveForm(FlaskForm):
    active = HiddenField()


class MemberForm(FlaskForm):
    organisation_id = HiddenField(validators=[DataRequired()])
    action = HiddenField(validators=[DataRequired()])


class UserActiveForm(FlaskForm):
    user_id = HiddenField(validators=[DataRequired()])
    active = HiddenField()


class TokenForm(FlaskForm):
    organisation_id = SelectField(_l("Organisation"), coerce=int)
    role = SelectField(_l("Role"), choices=options([(r.value, ROLE_LABELS[r.value]) for r in Role]))
    name = StringField(_l("Label"), validators=[DataRequired(), Length(max=60)], default="web")
    county_code = SelectField(_l("Officials: limited to county"), validate_choice=False, default="")
    centre_id = SelectField(_l("Sorting equipment of a centre (operator member tokens)"), validate_choice=False,
                            default="")


class RevokeForm(FlaskForm):
    prefix = HiddenField(validators=[DataRequired(), Length(max=12)])


class ProgramForm(FlaskForm):
    name = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=100)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=120)])
    product = SelectField(_l("Product"), choices=options([(p.value, PRODUCT_LABELS[p.value]) for p in Product]))
    county_code = SelectField(_l("County"), validate_choice=False)
    year = IntegerField(_l("Year"), default=lambda: date.today().year, validators=[InputRequired(_l("Enter the year, 2020 to 2100.")),
                                                NumberRange(2020, 2100, _l("The year must be from 2020 to 2100."))])
    target_pieces = IntegerField(_l("Target (pieces)"), validators=[
        InputRequired(_l("Enter the target: a whole number of pieces from 1 to 100,000,000.")),
        NumberRange(1, 100_000_000, _l("The target must be from 1 to 100,000,000 pieces."))])
    season_start_month = IntegerField(_l("Season starts (month)"), default=1, validators=[
        InputRequired(_l("Enter a month from 1 to 12.")), NumberRange(1, 12, _l("A month is from 1 to 12."))])
    season_end_month = IntegerField(_l("Season ends (month)"), default=12, validators=[
        InputRequired(_l("Enter a month from 1 to 12.")), NumberRange(1, 12, _l("A month is from 1 to 12."))])
    perishable = BooleanField(_l("Perishable"))
    deadline_hours = IntegerField(_l("Delivery deadline (hours)"), validators=[
        Optional(), NumberRange(1, 720, _l("The deadline must be from 1 to 720 hours (30 days)."))])



class StationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    level = SelectField(_l("Level"), choices=options([(v.value, STATION_LEVEL_LABELS[v.value]) for v in StationLevel]))
    kind = SelectField(_l("Kind"), choices=options([(v.value, STATION_KIND_LABELS[v.value]) for v in StationKind]))
    division_code = SelectField(_l("Division"), validate_choice=False)


def _organisation_choices():
    return [(o.id, o.name) for o in db.session.scalars(admin_service.list_organisations()) if o.active]


def _division_choices(query):
    zh = str(get_locale()).startswith("zh")
    return [(d.code, d.name if zh else d.name_en) for d in db.session.scalars(query)]


def _failed(form, exc: admin_service.AdminError):
    message = str(ADMIN_ERRORS.get(str(exc), str(exc)))
    field = getattr(form, exc.field, None)
    if field is not None:
        field.errors = [*field.errors, message]
    flash(message, "error")


def _change(form, change, done: str, then: str):
    """Make an admin change: commit, say so and go on (a redirect); or put its error on the form (None)."""
    try:
        change()
    except admin_service.AdminError as exc:
        _failed(form, exc)
        return None
    db.session.commit()
    flash(done, "success")
    return redirect(then, 303)


@bp.get("/")
@roles_required(Role.ADMIN)
def index():
    """The admin overview."""
    return render_template("admin/index.html")


@bp.route("/organisations", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def organisations():
    """List and add organisations."""
    form = OrganisationForm()
    form.county_code.choices = options([("", "—"), *_division_choices(admin_service.list_counties())])
    if form.validate_on_submit():
        try:
            admin_service.create_organisation(db.session, form.name.data, form.kind.data, form.county_code.data)
        except admin_service.AdminError as exc:
            _failed(form, exc)
        else:
            db.session.commit()
            flash(_("Organisation added."), "success")
            return redirect(url_for(".organisations"), 303)
    rows = db.session.scalars(admin_service.list_organisations()).all()
    status = 400 if request.method == "POST" else 200
    county_names = dict(_division_choices(admin_service.list_counties()))
    return render_template("admin/organisations.html", form=form, organisations=rows,
                           county_names=county_names), status


@bp.route("/users", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def users():
    """List and add users; switch them on and off."""
    form = UserForm()
    form.organisation_id.choices = options([("", _("Choose an organisation"))] + _organisation_choices())
    form.county_code.choices = options([("", _("Whole city")), *_division_choices(admin_service.list_counties())])
    if form.validate_on_submit():
        try:
            admin_service.create_user(db.session, form.organisation_id.data, form.username.data,
                                      form.display_name.data or "", form.password.data, form.role.data,
                                      form.county_code.data or None)
        except admin_service.AdminError as exc:
            _failed(form, exc)
        else:
            db.session.commit()
            flash(_("User added."), "success")
            return redirect(url_for(".users"), 303)
    rows = db.session.scalars(admin_service.list_users()).all()
    status = 400 if request.method == "POST" else 200
    return render_template("admin/users.html", form=form, users=rows, active_form=UserActiveForm()), status


@bp.post("/users/active")
@roles_required(Role.ADMIN)
def user_active():
    """Activate or deactivate a user."""
    form = UserActiveForm()
    if form.validate_on_submit() and form.user_id.data.isdigit():
        try:
            admin_service.set_user_active(db.session, int(form.user_id.data), form.active.data == "1",
                                          current_user.id)
        except admin_service.AdminError as exc:
            flash(str(ADMIN_ERRORS.get(str(exc), str(exc))), "error")
        else:
            db.session.commit()
            flash(_("User updated."), "success")
    return redirect(url_for(".users"), 303)


@bp.route("/tokens", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def tokens():
    """List API tokens; create one (shown once) or revoke one."""
    form = TokenForm()
    form.organisation_id.choices = options(_organisation_choices())
    form.county_code.choices = options([("", _("Whole city")), *_division_choices(admin_service.list_counties())])
    centres = db.session.scalars(admin_service.list_centres()).all()
    form.centre_id.choices = options([("", _("No centre")), *((str(c.id), c.name) for c in centres)])
    new_token = None
    if form.validate_on_submit():
        organisation = db.get_or_404(Organisation, form.organisation_id.data)
        centre_id = form.centre_id.data
        if centre_id and not (centre_id.isdigit() and int(centre_id) in {c.id for c in centres}):
            form.centre_id.errors = [*form.centre_id.errors, _("Choose a co-distribution centre from the list.")]
        else:
            try:
                new_token = access.create_token(db.session, organisation, form.role.data, form.name.data.strip(),
                                                form.county_code.data or None, int(centre_id) if centre_id else None)
            except access.AccessError as exc:
                # The service's message names its field ("centre: …", "county: …"; else the role's rule).
                message = str(ADMIN_ERRORS.get(str(exc), exc))
                field = {"centre": form.centre_id, "county": form.county_code}.get(str(exc).split(":")[0], form.role)
                field.errors = [*field.errors, message]
            else:
                db.session.commit()
    rows = db.session.scalars(admin_service.list_tokens()).all()
    status = 400 if request.method == "POST" and new_token is None else 200
    response = render_template("admin/tokens.html", form=form, tokens=rows, new_token=new_token,
                               revoke_form=RevokeForm())
    # The plain token is on this page once: never cache it.
    return response, status, {"Cache-Control": "no-store"}


@bp.post("/tokens/revoke")
@roles_required(Role.ADMIN)
def token_revoke():
    """Revoke a token by its prefix."""
    form = RevokeForm()
    if form.validate_on_submit():
        count = access.revoke_token(db.session, form.prefix.data)
        db.session.commit()
        flash(_("Tokens revoked: %(count)d", count=count), "success")
    return redirect(url_for(".tokens"), 303)


@bp.route("/programs", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def programs():
    """List and add shipping programs."""
    from shipments.services import programs as program_service

    form = ProgramForm()
    form.county_code.choices = options(_division_choices(admin_service.list_counties()))
    if form.validate_on_submit():
        try:
            admin_service.create_program(
                db.session, form.name.data, form.name_en.data or "", form.product.data, form.county_code.data,
                form.year.data, form.target_pieces.data, form.season_start_month.data, form.season_end_month.data,
                form.perishable.data, form.deadline_hours.data)
        except admin_service.AdminError as exc:
            _failed(form, exc)
        else:
            db.session.commit()
            flash(_("Program added."), "success")
            return redirect(url_for(".programs"), 303)
    rows = db.session.scalars(program_service.list_programs()).all()
    status = 400 if request.method == "POST" else 200
    return render_template("admin/programs.html", form=form, programs=rows, product_labels=PRODUCT_LABELS), status


@bp.route("/stations", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def stations():
    """List and add stations (filter by level)."""
    form = StationForm()
    form.division_code.choices = options(_division_choices(admin_service.list_divisions()))
    if form.validate_on_submit():
        try:
            admin_service.create_station(db.session, form.name.data, form.level.data, form.kind.data,
                                         form.division_code.data)
        except admin_service.AdminError as exc:
            _failed(form, exc)
        else:
            db.session.commit()
            flash(_("Station added."), "success")
            return redirect(url_for(".stations", level=form.level.data), 303)
    level = request.args.get("level") if request.args.get("level") in {v.value for v in StationLevel} else None
    county = request.args.get("county") if (request.args.get("county") or "").isdigit() else None
    after = request.args.get("after", type=int)
    rows = db.session.scalars(network_stations.list_stations(
        StationLevel(level) if level else None, county, None, after).limit(STATIONS_PAGE + 1)).all()
    next_after = rows[STATIONS_PAGE - 1].id if len(rows) > STATIONS_PAGE else None
    status = 400 if request.method == "POST" else 200
    return render_template("admin/stations.html", form=form, stations=rows[:STATIONS_PAGE], level=level, county=county,
                           next_after=next_after, census=CensusForm(), census_report=None,
                           level_labels=STATION_LEVEL_LABELS, kind_labels=STATION_KIND_LABELS), status


@bp.route("/organisations/<int(min=1, max=2147483647):organisation_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def organisation(organisation_id):
    """Edit an organisation; switch it on or off."""
    org = db.get_or_404(Organisation, organisation_id)
    form = OrganisationForm(obj=org if request.method == "GET" else None)
    form.county_code.choices = options([("", "—"), *_division_choices(admin_service.list_counties())])
    if request.method == "GET":
        form.kind.data, form.county_code.data = org.kind.value, org.county_code or ""
    if form.validate_on_submit():
        saved = _change(form, lambda: admin_service.update_organisation(
            db.session, org.id, form.name.data, form.kind.data, form.county_code.data),
            _("Organisation saved."), url_for(".organisations"))
        if saved:
            return saved
    status = 400 if request.method == "POST" else 200
    return render_template("admin/organisation.html", form=form, org=org, active_form=ActiveForm()), status


@bp.post("/organisations/<int(min=1, max=2147483647):organisation_id>/active")
@roles_required(Role.ADMIN)
def organisation_active(organisation_id):
    """Switch an organisation off (its users stop, its tokens are revoked) or back on."""
    form = ActiveForm()
    if form.validate_on_submit():
        try:
            stopped = admin_service.set_organisation_active(db.session, organisation_id, form.active.data == "1",
                                                            current_user.id)
        except admin_service.AdminError as exc:
            flash(str(ADMIN_ERRORS.get(str(exc), str(exc))), "error")
        else:
            db.session.commit()
            flash(_("Organisation activated.") if form.active.data == "1" else
                  _("Organisation deactivated; %(count)s users stopped and its API tokens revoked.", count=stopped),
                  "success")
    return redirect(url_for(".organisation", organisation_id=organisation_id), 303)


@bp.route("/users/<int(min=1, max=2147483647):user_id>/password", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_password(user_id):
    """Set a new password for a user who forgot theirs."""
    from shipments.models import User

    user = db.get_or_404(User, user_id)
    form = PasswordForm()
    if form.validate_on_submit():
        saved = _change(form, lambda: admin_service.reset_password(db.session, user.id, form.password.data),
                        _("New password set for %(user)s. Tell them in person or by phone.", user=user.username),
                        url_for(".users"))
        if saved:
            return saved
    status = 400 if request.method == "POST" else 200
    return render_template("admin/password.html", form=form, user=user), status


@bp.route("/programs/<int(min=1, max=2147483647):program_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def program(program_id):
    """Edit a program's names, target, season and deadline; switch it on or off."""
    from shipments.models import Program

    found = db.get_or_404(Program, program_id)
    form = ProgramForm(obj=found if request.method == "GET" else None)
    form.county_code.choices = options(_division_choices(admin_service.list_counties()))
    if request.method == "GET":
        form.product.data, form.county_code.data = found.product.value, found.county_code
    if form.validate_on_submit():
        saved = _change(form, lambda: admin_service.update_program(
            db.session, found.id, form.name.data, form.name_en.data or "", form.target_pieces.data,
            form.season_start_month.data, form.season_end_month.data, form.perishable.data, form.deadline_hours.data),
            _("Program saved."), url_for(".programs"))
        if saved:
            return saved
    status = 400 if request.method == "POST" else 200
    members = sorted(found.organisations, key=lambda o: o.name)
    others = [o for o in db.session.scalars(admin_service.list_organisations())
              if o.active and o not in found.organisations and o.kind.value not in ("authority", "operator")]
    return render_template("admin/program.html", form=form, program=found, active_form=ActiveForm(),
                           member_form=MemberForm(), members=members, others=others,
                           product_labels=PRODUCT_LABELS), status


@bp.post("/programs/<int(min=1, max=2147483647):program_id>/organisations")
@roles_required(Role.ADMIN)
def program_members(program_id):
    """Put an organisation into a program, or take it out (its shipments stay counted)."""
    from shipments.models import Program
    from shipments.services import programs as program_service

    found = db.get_or_404(Program, program_id)
    form = MemberForm()
    if form.validate_on_submit() and form.organisation_id.data.isdigit():
        ids = {o.id for o in found.organisations}
        chosen = int(form.organisation_id.data)
        ids = ids | {chosen} if form.action.data == "add" else ids - {chosen}
        try:
            program_service.set_program_organisations(db.session, found, sorted(ids))
        except program_service.ProgramError:
            flash(_("No such organisation."), "error")
        else:
            db.session.commit()
            flash(_("Organisation added to the program.") if form.action.data == "add" else
                  _("Organisation taken out of the program; its shipments stay counted."), "success")
    return redirect(url_for(".program", program_id=program_id) + "#members", 303)


@bp.post("/programs/<int(min=1, max=2147483647):program_id>/active")
@roles_required(Role.ADMIN)
def program_active(program_id):
    """Switch a program off (no new shipments; its figures stay) or back on."""
    form = ActiveForm()
    if form.validate_on_submit():
        try:
            admin_service.set_program_active(db.session, program_id, form.active.data == "1")
        except admin_service.AdminError as exc:
            flash(str(ADMIN_ERRORS.get(str(exc), str(exc))), "error")
        else:
            db.session.commit()
            flash(_("Program updated."), "success")
    return redirect(url_for(".program", program_id=program_id), 303)


STATIONS_PAGE = 100


class CensusForm(FlaskForm):
    file = FileField(_l("Census CSV (普查数据)"), validators=[FileRequired(), FileAllowed(["csv", "txt"])])


@bp.post("/stations/census")
@roles_required(Role.ADMIN)
def stations_census():
    """Import the network census CSV: rows with problems listed by row and field, the rest saved."""
    census = CensusForm()
    report = None
    if census.validate_on_submit():
        try:
            report = network_stations.import_census(db.session, census.file.data.stream, db.session.commit)
        except network_stations.StationError as exc:
            db.session.rollback()
            census.file.errors = [exc.message]
    rows = db.session.scalars(network_stations.list_stations().limit(STATIONS_PAGE)).all()
    form = StationForm()
    form.division_code.choices = options(_division_choices(admin_service.list_divisions()))
    return render_template("admin/stations.html", form=form, stations=rows, level=None, county=None, next_after=None,
                           census=census, census_report=report, level_labels=STATION_LEVEL_LABELS,
                           kind_labels=STATION_KIND_LABELS), 200 if report else 400


class CentreDayForm(FlaskForm):
    centre_id = SelectField(_l("Centre"), validate_choice=False)
    day = DateField(_l("Day"), validators=[DataRequired()])
    sorted_pieces = IntegerField(_l("Parcels sorted"), validators=[DataRequired(), NumberRange(0, 10_000_000)])


class CentreCsvForm(FlaskForm):
    centre_id = SelectField(_l("Centre"), validate_choice=False)
    file = FileField(_l("CSV: day,parcels"), validators=[FileRequired(), FileAllowed(["csv", "txt"])])


def _centre_choices():
    return [(str(s.id), s.name) for s in db.session.scalars(
        network_stations.list_stations().where(network_stations.Station.kind == StationKind.CO_DISTRIBUTION_CENTRE))]


@bp.route("/centres", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def centres():
    """Record a centre's daily sorted volume by form or CSV; list the centres' recent load."""
    form, upload = CentreDayForm(prefix="one"), CentreCsvForm(prefix="csv")
    form.centre_id.choices = upload.centre_id.choices = _centre_choices()
    problems = []
    if request.method == "POST":
        which = form if "single" in request.form else upload
        centre = None
        if which.validate_on_submit():
            centre = network_figures.find_centre(db.session, int(which.centre_id.data or 0))
            if centre is None:
                which.centre_id.errors = [_("Choose a co-distribution centre.")]
        if centre is not None:
            if which is form:
                days = [(form.day.data, form.sorted_pieces.data)]
            else:
                text = which.file.data.read().decode("utf-8-sig", errors="replace")
                days, problems = network_figures.parse_centre_csv(text)
            try:
                count = network_figures.record_centre_days(db.session, centre, days,
                                                           "form" if which is form else "csv", utcnow())
            except network_figures.FigureError as exc:
                db.session.rollback()
                problems.append({"row": "", "field": exc.field, "message": exc.message})
            else:
                db.session.commit()
                flash(_("%(count)s days recorded.", count=count), "success")
                if not problems:
                    return redirect(url_for(".centres"), 303)
    overview = network_figures.centres_overview(db.session, reports.beijing_today())
    status = 400 if request.method == "POST" else 200
    return render_template("admin/centres.html", form=form, upload=upload, problems=problems,
                           overview=overview), status


class RouteForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    kind = SelectField(_l("Kind"), choices=options([(k.value, labels.ROUTE_KIND[k.value]) for k in RouteKind]))
    county_code = SelectField(_l("County"), validate_choice=False)
    operator = StringField(_l("Operator"), validators=[Optional(), Length(max=80)])
    departures = StringField(_l("Departures (HH:MM, separated by spaces)"), validators=[Length(max=120)])
    stops = TextAreaField(_l("Stops in order: one station a line, optionally with minutes after departure"),
                          validators=[DataRequired(_l("Name at least one stop.")), Length(max=6000)],
                          render_kw={"rows": 8, "placeholder": "平水镇共配中心, 0\n平水镇村级快递服务站01, 15"})
    active = BooleanField(_l("In service"), default=True)


def _route_form(route: Route | None = None) -> RouteForm:
    form = RouteForm(obj=None if route is None else _route_values(route))
    form.county_code.choices = options(_division_choices(admin_service.list_counties()))
    return form


def _route_values(route: Route):
    class Values:
        name, kind, county_code, operator = route.name, route.kind.value, route.county_code, route.operator
        departures, active = route.departures, route.active
        stops = "\n".join(f"{stop.station.name}, {stop.minutes}" for stop in route.stops)
    return Values


def _save_route(form: RouteForm, route: Route | None):
    """Save the form's route (new or changed); None and the error on its field when a rule refuses it."""
    try:
        stops = network_routes.parse_stops(db.session, form.stops.data)
        saved = network_routes.save_route(
            db.session, route, name=form.name.data, kind=form.kind.data, county_code=form.county_code.data,
            departures=(form.departures.data or "").split(), stops=stops, operator=form.operator.data,
            active=form.active.data)
    except network_stations.StationError as exc:
        db.session.rollback()
        target = getattr(form, {"station_ids": "stops"}.get(exc.field, exc.field), None) or form.stops
        target.errors = [*target.errors, exc.message]
        return None
    db.session.commit()
    return saved


@bp.route("/routes", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def routes():
    """List 客货邮 routes and 共富邮路; add one (stops in order, timetable)."""
    form = _route_form()
    if form.validate_on_submit():
        route = _save_route(form, None)
        if route is not None:
            flash(_("Route saved."), "success")
            return redirect(url_for(".route", route_id=route.id), 303)
    rows = db.session.scalars(network_routes.list_routes().limit(200)).all()
    status = 400 if request.method == "POST" else 200
    return render_template("admin/routes.html", form=form, routes=rows, route=None,
                           kind_labels=labels.ROUTE_KIND), status


@bp.route("/routes/<int(min=1, max=2147483647):route_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def route(route_id):
    """Change a route: name, kind, county, operator, timetable and its stops in order."""
    found = db.get_or_404(Route, route_id)
    form = _route_form(found if request.method == "GET" else None)
    if form.validate_on_submit():
        if _save_route(form, found) is not None:
            flash(_("Route saved."), "success")
            return redirect(url_for(".route", route_id=route_id), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/routes.html", form=form, routes=None, route=found,
                           kind_labels=labels.ROUTE_KIND), status
