"""`flask report …`: volumes in the terminal, reconcile, refresh and rebuild the rollups."""
import time
import unicodedata

import click
from flask.cli import AppGroup

from shipments.extensions import db
from shipments.services import reports

report_cli = AppGroup("report", help="Program volume reports and their rollups.")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


def format_table(headers: list[str], rows: list[list[str]], numeric_from: int) -> str:
    """Align a table for the terminal (CJK characters count two columns)."""
    widths = [max(_width(str(c)) for c in column) for column in zip(headers, *rows)]
    lines = []
    for i, row in enumerate([headers] + rows):
        lines.append("  ".join(_pad(str(c), widths[j], right=j >= numeric_from) for j, c in enumerate(row)))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


@report_cli.command("volumes")
@click.option("--period", type=click.Choice(reports.PERIODS), default="month", show_default=True)
@click.option("--group-by", "group_by", multiple=True, type=click.Choice(list(reports.GROUPINGS)),
              help="Up to two groupings, e.g. --group-by program --group-by county.")
@click.option("--program", "program_id", type=int)
@click.option("--county")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="First Beijing day, YYYY-MM-DD.")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="Last Beijing day, YYYY-MM-DD.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def volumes(period, group_by, program_id, county, date_from, date_to, lang):
    """Print shipments, pieces and declared value per period and grouping."""
    filters = reports.ReportFilters(date_from=date_from.date() if date_from else None,
                                    date_to=date_to.date() if date_to else None,
                                    program_id=program_id, county=county)
    try:
        report = reports.label_report(db.session, reports.volume_report(db.session, period, group_by, filters), lang)
    except reports.ReportError as exc:
        raise click.BadParameter(exc.message, param_hint=f"--{exc.field.replace('_', '-')}") from exc
    from shipments.services.exports import volume_headers, word

    headers = volume_headers(report, lang)
    rows = [[row.period.isoformat(), *row.labels, f"{row.shipments:,}", f"{row.pieces:,}", f"{row.value:,.2f}"]
            for row in report.rows]
    totals = report.totals
    rows.append([word("total", lang), *[""] * len(report.group_by), f"{totals['shipments']:,}",
                 f"{totals['pieces']:,}", f"{totals['value']:,.2f}"])
    click.echo(format_table(headers, rows, numeric_from=1 + len(report.group_by)))


@report_cli.command("reconcile")
def reconcile():
    """Recount every rollup bucket from the shipments rows; exit 1 on any difference."""
    differences = reports.reconcile(db.session)
    db.session.rollback()
    if not differences:
        click.echo("无差异 no differences: rollups equal a recount of the shipments rows")
        return
    for d in differences[:200]:
        click.echo(f"{d.table} {d.key}: rollup (shipments, pieces, fen)={d.rollup} raw={d.raw}")
    click.echo(f"{len(differences)} bucket(s) differ; `flask report rebuild` recounts them from raw rows", err=True)
    raise SystemExit(1)


@report_cli.command("refresh")
def refresh():
    """Fold the pending rollup deltas now (the worker does this every minute)."""
    folded = reports.refresh_rollups(db.session)
    db.session.commit()
    click.echo(f"folded {folded} delta row(s)")


@report_cli.command("rebuild")
def rebuild():
    """Recount both rollups from the shipments rows (after a bulk load with triggers off)."""
    rows = reports.rebuild_rollups(db.session)
    db.session.commit()
    click.echo(f"rebuilt: {rows} bucket(s)")


@report_cli.command("rebuild-progress")
def rebuild_progress():
    """Recount the program-progress rollups from report_days (backfill; the other rollups are left alone)."""
    started = time.perf_counter()
    rows = reports.rebuild_progress(db.session)
    db.session.commit()
    click.echo(f"rebuilt report_progress_days/_months: {rows} day bucket(s) in {time.perf_counter() - started:.1f} s")


__all__ = ["report_cli"]
