"""Livestream seller workspace: check many orders at once, grouped by session."""
from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional

from shipments.extensions import db
from shipments.models.enums import Role
from shipments.services import carriers as carrier_service, exports, imports, workspace
from shipments.web import uploads
from shipments.web.auth import roles_required
from shipments.web.forms import options
from shipments.web.portal import XLSX_MIMETYPE, caller, page_lang

bp = Blueprint("seller", __name__, url_prefix="/seller")

GROUP_LABELS = {
    "awaiting_pickup": _l("Awaiting pickup"), "in_transit": _l("In transit"),
    "out_for_delivery": _l("Out for delivery"), "at_station": _l("At a station"),
    "delivered": _l("Delivered"), "exception": _l("Exception"),
}
SESSIONS_SHOWN = 20


class CheckForm(FlaskForm):
    label = StringField(_l("Livestream session"), validators=[Optional(), Length(max=60)])
    numbers = TextAreaField(_l("Tracking numbers (a phone's last 4 digits may follow each number)"),
                            validators=[Optional(), Length(max=60_000)])
    file = FileField(_l("…or an order export (CSV or Excel)"),
                     validators=[Optional(), FileAllowed(["csv", "xlsx", "xls", "txt"])])


def _sessions():
    return db.session.execute(workspace.list_sessions(caller()).limit(SESSIONS_SHOWN)).all()


def _selected(sessions) -> list[str]:
    if "label" in request.args:
        return [request.args["label"][:60]]
    return [sessions[0].label] if sessions else []


def _page(form, report=None, status=200, labels=None, numbers=None):
    sessions = _sessions()
    labels = labels if labels is not None else _selected(sessions)
    batches = workspace.seller_batches(db.session, caller(), labels)
    problems = uploads.problem_rows(uploads.report_meta(report), page_lang()) if report else []
    for problem in problems:  # the pasted number beside its problem
        problem["number"] = numbers[problem["row"] - 1][0] if numbers and problem["row"] <= len(numbers) else ""
    return render_template("seller/workspace.html", form=form, sessions=sessions, batches=batches,
                           groups=workspace.GROUPS, group_labels=GROUP_LABELS, report=report,
                           problems=problems), status


@bp.get("/")
@roles_required(Role.MEMBER, Role.ADMIN)
def workspace_page():
    """The session list and the status table of the chosen session."""
    return _page(CheckForm())


@bp.post("/")
@roles_required(Role.MEMBER, Role.ADMIN)
def check():
    """Register pasted numbers or an order export under a session label, then show the table."""
    form = CheckForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    label = (form.label.data or "").strip() or None
    limit = current_app.config["SELLER_MAX_NUMBERS"]
    who = caller()
    providers = carrier_service.provider_settings(current_app.config)
    numbers = None
    try:
        if form.file.data:
            table = imports.open_table(form.file.data.stream, filename=form.file.data.filename)
            rows = ((n, {**row, "batch_label": row.get("batch_label") or label}) for n, row in table.rows)
            columns = table.columns
        else:
            numbers = workspace.split_numbers(form.numbers.data or "", limit)
            if not numbers:
                form.numbers.errors = [_("Paste at least one tracking number, or choose a file.")]
                return _page(form, status=400)
            rows = ((i, {"number": n, "phone_last4": phone, "batch_label": label})
                    for i, (n, phone) in enumerate(numbers, start=1))
            columns = {"number": _("number")}
        batch = imports.start_batch(db.session, who.organisation_id,
                                    form.file.data.filename if form.file.data else None, user_id=who.user_id)
        report = imports.import_rows(db.session, rows, who.organisation_id, providers=providers,
                                     commit=db.session.commit, any_program=who.role == Role.ADMIN,
                                     columns=columns, batch=batch,
                                     change_source="import" if form.file.data else "paste")
    except ValueError as exc:  # too many numbers, or a file that cannot be read
        message = exc.text(page_lang()) if isinstance(exc, imports.FileRejected) else _(
            "At most %(limit)s numbers at once.", limit=limit)
        (form.file if form.file.data else form.numbers).errors = [message]
        return _page(form, status=400)
    db.session.commit()
    return _page(CheckForm(formdata=None, label=label), report=report, labels=[label or workspace.NO_LABEL],
                 numbers=numbers)


@bp.get("/export.xlsx")
@roles_required(Role.MEMBER, Role.ADMIN)
def export():
    """The chosen session's table as an Excel file."""
    labels = _selected(_sessions())
    batches = workspace.seller_batches(db.session, caller(), labels)
    table = exports.seller_table(batches, {k: str(v) for k, v in GROUP_LABELS.items()}, page_lang())
    body = exports.to_xlsx(table)
    return Response(body, mimetype=XLSX_MIMETYPE, headers={
        "Content-Disposition": "attachment; filename=seller-parcels.xlsx", "Cache-Control": "no-store"})
