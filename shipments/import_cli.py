"""`flask import FILE --org NAME [--program ID]`: the bulk-import service from the shell."""
import os

import click
from flask import current_app

from shipments.extensions import db
from shipments.models.enums import OrganisationKind
from shipments.services import access, imports
from shipments.services.carriers import provider_settings


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--org", "org_name", required=True, help="Organisation name, exactly as stored.")
@click.option("--program", "program_id", type=click.IntRange(1, 2147483647), help="Program for rows without one.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Report language.")
def import_command(path, org_name, program_id, lang):
    """Register the shipments of a CSV or XLSX file for an organisation."""
    try:
        org = access.find_organisation(db.session, org_name)
    except access.AccessError as exc:
        raise click.ClickException(str(exc)) from exc
    with open(path, "rb") as handle:
        try:
            table = imports.open_table(handle)
            batch = imports.start_batch(db.session, org.id, os.path.basename(path))
            with click.progressbar(length=table.estimated_rows, label="导入中 importing", show_pos=True) as bar:
                report = imports.import_rows(
                    db.session, table.rows, org.id, providers=provider_settings(current_app.config),
                    commit=db.session.commit, any_program=org.kind == OrganisationKind.OPERATOR,
                    program_id=program_id, columns=table.columns, blank=lambda: table.blank, progress=bar.update,
                    batch=batch)
        except imports.FileRejected as exc:
            db.session.rollback()
            raise click.ClickException(exc.text(lang)) from exc
    result = report.as_dict(lang)
    for name in ("rows", "created", "duplicate_in_file", "already_registered", "registered_by_other_org", "invalid",
                 "blank"):
        click.echo(f"{name}: {result[name]}")
    for problem in result["problems"]:
        click.echo(f"  row {problem['row']} {problem['column'] or problem['field']}: {problem['message']}", err=True)
    if result["problems_truncated"]:
        click.echo(f"  … (first {imports.MAX_LISTED_PROBLEMS} problems shown)", err=True)
