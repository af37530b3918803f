"""Organisation portal: register, upload, list, search and read shipments."""
import time as pytime
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import DateField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from shipments.extensions import db
from shipments.models import ImportJob
from shipments.models.enums import Channel, Direction, Role, ShipmentStatus
from shipments.services import access, carriers as carrier_service, programs as program_service
from shipments.services import history, import_jobs, imports, poll_log, shipments as shipment_service
from shipments.web import paging, uploads
from shipments.web.auth import roles_required
from shipments.web.forms import DateWithin, OneOfOptions, options
from shipments.web.filters import CHANNEL_LABELS, DIRECTION_LABELS, STATUS_LABELS

bp = Blueprint("portal", __name__, url_prefix="/portal")

PORTAL_ROLES = (Role.MEMBER, Role.ADMIN)
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def page_lang() -> str:
    """The services' message language for this page: zh or en."""
    return "zh" if str(get_locale()).startswith("zh") else "en"


def caller():
    return access.caller_for_user(current_user)


# Programs offered are those the organisation joined (all for admins): nothing else is accepted.
JOINED_PROGRAM = _l("Choose one of your organisation's programs.")


class ShipmentFieldsForm(FlaskForm):
    """The fields a registration's owner may give at first and correct later."""

    phone_last4 = StringField(_l("Recipient phone, last 4 digits"), validators=[Optional(), Length(max=24)])
    program_id = SelectField(_l("Program"), validate_choice=False, validators=[OneOfOptions(JOINED_PROGRAM)])
    channel = SelectField(_l("Sales channel"), choices=options([(c.value, CHANNEL_LABELS[c.value]) for c in Channel]))
    direction = SelectField(_l("Direction"), choices=options([(d.value, DIRECTION_LABELS[d.value]) for d in Direction]))
    destination_province = StringField(_l("Destination province"), validators=[Optional(), Length(max=20)])
    destination_city = StringField(_l("Destination city"), validators=[Optional(), Length(max=40)])
    pieces = StringField(_l("Pieces"), validators=[Optional(), Length(max=12)], default="1")
    order_ref = StringField(_l("Order number"), validators=[Optional(), Length(max=64)])


class RegisterForm(ShipmentFieldsForm):
    number = StringField(_l("Tracking number"), validators=[DataRequired(), Length(max=40)])
    carrier = SelectField(_l("Carrier"), validate_choice=False)
    weight_kg = StringField(_l("Weight (kg)"), validators=[Optional(), Length(max=20)])
    declared_value = StringField(_l("Declared value (yuan)"), validators=[Optional(), Length(max=20)])
    batch_label = StringField(_l("Batch or livestream session"), validators=[Optional(), Length(max=60)])


class ListFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    q = StringField(_l("Tracking or order number"), validators=[Optional(), Length(max=64)])
    status = SelectField(_l("Status"), default="", choices=options(
        [("", _l("Any status"))] + [(s.value, STATUS_LABELS[s.value]) for s in ShipmentStatus]))
    carrier = SelectField(_l("Carrier"), validate_choice=False, default="")
    program = SelectField(_l("Program"), validate_choice=False, default="",
                          validators=[OneOfOptions(_l("Unknown program."))])
    direction = SelectField(_l("Direction"), default="", choices=options(
        [("", _l("Any direction"))] + [(d.value, DIRECTION_LABELS[d.value]) for d in Direction]))
    flag = SelectField(_l("Needs attention"), default="", choices=options([
        ("", _l("Any")), ("needs_phone", _l("Waiting for phone digits")), ("expired", _l("Expired")),
        ("pickup_overdue", _l("Pickup overdue")), ("stalled", _l("Stalled (no news for 48 hours)")),
        ("alert", _l("Carrier alert"))]))
    registered_from = DateField(_l("Registered from"), validators=[Optional(), DateWithin()])
    registered_to = DateField(_l("Registered until"), validators=[Optional(), DateWithin()])

    def validate_registered_to(self, field):
        if field.data and self.registered_from.data and self.registered_from.data > field.data:
            raise ValidationError(_l("The start date is after the end date: swap them and try again."))


class EditForm(ShipmentFieldsForm):
    """Add the phone digits later, or correct what was registered."""


class CancelForm(FlaskForm):
    reason = StringField(_l("Why cancel this registration?"), validators=[DataRequired(), Length(max=200)])


def program_choices(blank) -> list[tuple[str, str]]:
    zh = page_lang() == "zh"
    programs = db.session.scalars(program_service.list_programs()).all()
    if current_user.role != Role.ADMIN:
        programs = [p for p in programs if current_user.organisation in p.organisations]
    programs = [p for p in programs if p.active]  # a deactivated program takes no new shipments
    return [("", blank)] + [(str(p.id), p.name if zh else p.name_en) for p in programs]


def carrier_select(blank) -> list[tuple[str, str]]:
    from shipments.web.filters import carrier_choices
    return [("", blank)] + carrier_choices()


@bp.get("/")
@roles_required(*PORTAL_ROLES)
def shipments():
    """List the organisation's shipments with filters, newest first, a page at a time."""
    form = ListFilterForm(request.args)
    form.carrier.choices = options(carrier_select(_("Any carrier")))
    form.program.choices = options(program_choices(_("Any program")))
    filters = {}
    status = 200
    if not form.validate():
        status = 400  # the form shows which filter is wrong
    else:
        tz = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
        filters = {
            "search": form.q.data or None, "status": form.status.data or None,
            "carrier": form.carrier.data or None, "direction": form.direction.data or None,
            "flag": form.flag.data or None,
            "program": int(form.program.data) if (form.program.data or "").isdigit() else None,
            "registered_from": (datetime.combine(form.registered_from.data, time(), tz)
                                if form.registered_from.data else None),
            "registered_to": (datetime.combine(form.registered_to.data + timedelta(days=1), time(), tz)
                              if form.registered_to.data else None),
        }
    size = current_app.config["WEB_PAGE_SIZE"]
    query = shipment_service.list_shipments(caller(), filters)
    total = shipment_service.count(db.session, query) if not form.errors else 0
    # The carrier-side alerts (no record yet, tracking aborted): a count that links to their list.
    alerts = shipment_service.count(db.session, shipment_service.list_shipments(caller(), {"flag": "alert"}))
    page = paging.Page(request.args.get("page", 1, type=int), size, total)
    rows = db.session.scalars(query.offset(page.offset).limit(size)).all() if not form.errors else []
    args = {k: v for k, v in request.args.items() if k not in ("page", "after") and v}
    status = 400 if form.errors else 200
    return render_template("portal/shipments.html", form=form, shipments=rows, total=total, page=page,
                           args=args, alerts=alerts), status


@bp.route("/register", methods=["GET", "POST"])
@roles_required(*PORTAL_ROLES)
def register():
    """Register one shipment; the carrier is suggested from the number as it is typed."""
    form = RegisterForm()
    form.carrier.choices = options(carrier_select(_("Detect from the number")))
    form.program_id.choices = options(program_choices(_("No program")))
    candidates = []
    if form.validate_on_submit():
        raw = {key: (getattr(form, key).data or "") for key in (
            "number", "carrier", "phone_last4", "program_id", "channel", "direction", "destination_province",
            "destination_city", "pieces", "weight_kg", "declared_value", "order_ref", "batch_label")}
        providers = carrier_service.provider_settings(current_app.config)
        try:
            shipment, created = shipment_service.register_shipment(db.session, caller(), raw, providers)
        except shipment_service.CarrierUndecided as exc:
            form.carrier.errors = [exc.problem.text(page_lang())]
            candidates = exc.candidates
        except shipment_service.RowInvalid as exc:
            for problem in exc.problems:
                field = getattr(form, problem.field, None) or form.number
                field.errors = [*field.errors, problem.text(page_lang())]
        except shipment_service.NumberTaken:
            form.number.errors = [_("This number is registered by another organisation.")]
        else:
            db.session.commit()
            flash(_("Shipment registered.") if created else _("This shipment was already registered."), "success")
            return redirect(url_for(".detail", carrier=shipment.carrier, number=shipment.tracking_number), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("portal/register.html", form=form, candidates=candidates), status


@bp.get("/carrier-suggest")
@roles_required(*PORTAL_ROLES)
def carrier_suggest():
    """Tiny JSON answer for the register form: carriers that fit the number, best first."""
    from shipments.web.filters import carrier_name
    from integrations.carriers import CARRIERS

    number = (request.args.get("number") or "")[:40]
    candidates = shipment_service.detection_candidates(number) if number else []
    return jsonify([{"carrier": c["carrier"], "name": carrier_name(c["carrier"]),
                     "confidence": round(c["confidence"], 2), "needs_phone": CARRIERS[c["carrier"]].needs_phone}
                    for c in candidates[:5]])


def _edit_form(shipment, formdata=None) -> EditForm:
    form = EditForm(formdata=formdata, data={
        "program_id": str(shipment.program_id or ""), "channel": shipment.channel.value,
        "direction": shipment.direction.value,
        # The name, not the stored code: the field takes either, and a person reads the name.
        "destination_province": shipment.destination_province.name if shipment.destination_province else "",
        "destination_city": shipment.destination_city or "", "pieces": str(shipment.pieces),
        "order_ref": shipment.order_ref or ""})
    form.program_id.choices = options(program_choices(_("No program")))
    return form


def _detail_page(shipment, edit_form=None, cancel_form=None, status=200):
    events = db.session.scalars(shipment_service.shipment_events(shipment.id)).all()
    polls = db.session.scalars(poll_log.shipment_polls(shipment.id).limit(50)).all()
    masked = not caller().sees_personal_data
    changes = history.history_rows(db.session, shipment.id, masked=masked)
    return render_template("portal/detail.html", shipment=shipment, events=list(reversed(events)), polls=polls,
                           history=changes, masked=masked,
                           batch=shipment.import_batch, edit_form=edit_form or _edit_form(shipment),
                           cancel_form=cancel_form or CancelForm()), status


@bp.get("/shipments/<carrier>/<number>")
@roles_required(*PORTAL_ROLES)
def detail(carrier, number):
    """One shipment with its events, poll history and provenance, and the forms to edit or cancel it."""
    return _detail_page(db.first_or_404(shipment_service.find_shipment(caller(), carrier, number)))


@bp.post("/shipments/<carrier>/<number>")
@roles_required(*PORTAL_ROLES)
def edit(carrier, number):
    """Save the edit form: added phone digits send the shipment to the next poll."""
    shipment = db.first_or_404(shipment_service.find_shipment(caller(), carrier, number).with_for_update())
    form = _edit_form(shipment, request.form)
    if not form.validate_on_submit():
        return _detail_page(shipment, edit_form=form, status=400)
    raw = {key: getattr(form, key).data for key in shipment_service.EDITABLE
           if key != "phone_last4" and getattr(form, key).data not in (None, "")}
    if form.phone_last4.data:
        raw["phone_last4"] = form.phone_last4.data
    if not form.program_id.data and shipment.program_id is not None:
        raw["program_id"] = None
    try:
        resumed = shipment_service.update_shipment(db.session, caller(), shipment, raw)
    except shipment_service.RowInvalid as exc:
        db.session.rollback()
        shipment = db.first_or_404(shipment_service.find_shipment(caller(), carrier, number))
        form = _edit_form(shipment, request.form)
        form.validate()
        for problem in exc.problems:
            field = getattr(form, problem.field, None) or form.phone_last4
            field.errors = [*field.errors, problem.text(page_lang())]
        return _detail_page(shipment, edit_form=form, status=400)
    db.session.commit()
    flash(_("Saved. The carrier will be asked at the next check.") if resumed else _("Saved."), "success")
    return redirect(url_for(".detail", carrier=shipment.carrier, number=shipment.tracking_number), 303)


@bp.post("/shipments/<carrier>/<number>/cancel")
@roles_required(*PORTAL_ROLES)
def cancel(carrier, number):
    """Cancel a registration (wrong parcel, order refunded): it stays listed as cancelled, out of the volumes."""
    shipment = db.first_or_404(shipment_service.find_shipment(caller(), carrier, number).with_for_update())
    form = CancelForm()
    if not form.validate_on_submit():
        return _detail_page(shipment, cancel_form=form, status=400)
    shipment_service.cancel_shipment(shipment, form.reason.data.strip(), caller=caller())
    db.session.commit()
    flash(_("Registration cancelled."), "success")
    return redirect(url_for(".detail", carrier=shipment.carrier, number=shipment.tracking_number), 303)


@bp.get("/imports")
@roles_required(*PORTAL_ROLES)
def import_batches():
    """Your organisation's uploads with their row reports, newest first."""
    after = request.args.get("after", type=int)
    rows = db.session.scalars(imports.list_batches(caller(), after).limit(51)).all()
    return render_template("network/imports.html", batches=rows[:50], next_after=rows[49].id if len(rows) > 50 else None,
                           chosen=request.args.get("batch", type=int))


class UploadForm(FlaskForm):
    file = FileField(_l("CSV or Excel file"), validators=[FileRequired(), FileAllowed(["csv", "xlsx", "xls", "txt"])])
    program_id = SelectField(_l("Program (when the file has no program column)"), validate_choice=False,
                             validators=[OneOfOptions(JOINED_PROGRAM)])
    batch_label = StringField(_l("Batch or livestream session"), validators=[Optional(), Length(max=60)])


class ConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])


def preview_import(path, meta: dict):
    """What importing a kept upload would do for the current user: the real import, thrown away."""
    who = caller()
    providers = carrier_service.provider_settings(current_app.config)
    label = meta.get("batch_label") or None
    with open(path, "rb") as stream:
        table = imports.open_table(stream, filename=meta.get("filename"))
        rows = table.rows
        if label:
            rows = ((n, {**row, "batch_label": row.get("batch_label") or label}) for n, row in rows)
        savepoint = db.session.begin_nested()
        try:
            return imports.import_rows(
                db.session, rows, who.organisation_id, providers=providers, commit=lambda: None,
                any_program=who.role == Role.ADMIN, program_id=meta.get("program_id"), columns=table.columns,
                blank=lambda: table.blank)
        finally:
            savepoint.rollback()


@bp.route("/upload", methods=["GET", "POST"])
@roles_required(*PORTAL_ROLES)
def upload():
    """Upload a spreadsheet: see what it would do, row by row, before importing."""
    form = UploadForm()
    form.program_id.choices = options(program_choices(_("No program")))
    if form.validate_on_submit():
        meta = {"organisation_id": current_user.organisation_id, "user_id": current_user.id,
                "filename": form.file.data.filename[:120],
                "program_id": int(form.program_id.data) if (form.program_id.data or "").isdigit() else None,
                "batch_label": (form.batch_label.data or "").strip()[:60], "imported": False}
        token = uploads.save(form.file.data.stream, meta)
        path, meta = uploads.load(token, current_user.organisation_id)
        try:
            report = preview_import(path, meta)
        except imports.FileRejected as exc:
            uploads.discard(token)
            form.file.errors = [exc.text(page_lang())]
            status = exc.status
        except BaseException:
            uploads.discard(token)
            raise
        else:
            meta["preview"] = uploads.report_meta(report)
            uploads.update(token, meta)
            return redirect(url_for(".upload_result", token=token), 303)
    else:
        status = 400 if request.method == "POST" else 200
    return render_template("portal/upload.html", form=form), status


@bp.get("/upload/<token>")
@roles_required(*PORTAL_ROLES)
def upload_result(token):
    """The preview (or, once imported, the result) of an upload, with its row errors."""
    kept = uploads.load(token, current_user.organisation_id)
    if kept is None:
        abort(404)
    meta = kept[1]
    progress = None
    if meta.get("job_id") and not meta["imported"]:
        job = db.session.get(ImportJob, meta["job_id"])
        report = imports.ImportReport.from_state(job.report if job else {})
        if job is None or job.status != "running":
            meta.update(imported=True, result=uploads.report_meta(report))
            uploads.update(token, meta)
        else:
            progress = import_jobs.job_state(job, page_lang())["progress"]
            meta = {**meta, "result": uploads.report_meta(report)}
    stored = meta.get("result") or meta["preview"]
    return render_template("portal/upload_result.html", meta=meta, token=token, report=stored,
                           problems=uploads.problem_rows(stored, page_lang()),
                           imported=meta["imported"] or progress is not None, progress=progress,
                           confirm_form=ConfirmForm(token=token))


@bp.post("/upload/confirm")
@roles_required(*PORTAL_ROLES)
def upload_confirm():
    """Import a previewed upload for real (the valid rows; problem rows are skipped)."""
    form = ConfirmForm()
    kept = uploads.load(form.token.data, current_user.organisation_id) if form.validate_on_submit() else None
    if kept is None:
        abort(404)
    path, meta = kept
    if not meta["imported"] and not meta.get("job_id"):
        report, job = import_kept_upload(path, meta)
        if report.finished:
            meta.update(imported=True, result=uploads.report_meta(report))
            flash(_("Imported: %(created)s new shipments.", created=report.created), "success")
        else:  # carries on in the background; the result page shows its progress
            meta["job_id"] = job.id
        uploads.update(form.token.data, meta)
    return redirect(url_for(".upload_result", token=form.token.data), 303)


def import_kept_upload(path, meta: dict):
    """Import a previewed upload as a job: up to IMPORT_SYNC_SECONDS here, the rest in the background."""
    from shipments.api.shipments import background_thread_enabled, continue_in_background

    config = current_app.config
    who = caller()
    where = import_jobs.folder(config, current_app.instance_path)
    with open(path, "rb") as stream:
        key = import_jobs.keep_file(stream, where)
    job = import_jobs.start_job(db.session, who.organisation_id, key, {
        "any_program": who.role == Role.ADMIN, "program_id": meta.get("program_id"),
        "batch_label": meta.get("batch_label") or None, "file_name": meta.get("filename"),
        "user_id": who.user_id}, rows_total=0)
    db.session.commit()
    report = import_jobs.run_job(db.session, job, where, providers=carrier_service.provider_settings(config),
                                 commit=db.session.commit,
                                 deadline=pytime.monotonic() + float(config["IMPORT_SYNC_SECONDS"]),
                                 chunk_rows=int(config["IMPORT_CHUNK_ROWS"]))
    if not report.finished and background_thread_enabled(config):
        continue_in_background(current_app._get_current_object())
    return report, job


@bp.get("/upload/<token>/errors.csv")
@roles_required(*PORTAL_ROLES)
def upload_errors(token):
    """Download the per-row error report of an upload as CSV."""
    kept = uploads.load(token, current_user.organisation_id)
    if kept is None:
        abort(404)
    path, meta = kept
    stored = meta.get("result") or meta["preview"]
    body = uploads.errors_csv(stored, page_lang(), [_("Row"), _("Column"), _("Problem")], path)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=upload-errors.csv", "Cache-Control": "no-store"})


@bp.get("/upload/template.<fmt>")
@roles_required(*PORTAL_ROLES)
def upload_template(fmt):
    """The upload template (CSV or XLSX) with the column headers in the page's language."""
    if fmt == "csv":
        return Response(imports.template_csv(page_lang()), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=shipments-template.csv"})
    if fmt == "xlsx":
        return Response(imports.template_xlsx(page_lang()), mimetype=XLSX_MIMETYPE,
                        headers={"Content-Disposition": "attachment; filename=shipments-template.xlsx"})
    abort(404)
