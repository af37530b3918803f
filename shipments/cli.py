"""`flask …` commands: demo data, tokens and network upkeep here; import, report, poll and worker in their modules."""
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from shipments import worker_cli
from shipments.db import utcnow
from shipments.extensions import db
from shipments.import_cli import import_command
from shipments.report_cli import report_cli
from shipments.services import access, demo
from shipments.services.network import matching

demo_cli = AppGroup("demo", help="Demo data for the Shaoxing programs.")
tokens_cli = AppGroup("tokens", help="API tokens.")
network_cli = AppGroup("network", help="The delivery network (stations, centres, routes).")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when programs already exist (first start only).")
def demo_load(if_empty):
    """Load the demo data (idempotent: a second run adds nothing)."""
    if if_empty and demo.has_data(db.session):
        click.echo("demo data already present")
        return
    summary = demo.load_demo(db.session, instance_path=current_app.instance_path)
    db.session.commit()
    for name, count in summary.items():
        click.echo(f"{name}: {count}")


@tokens_cli.command("create")
@click.option("--org", "org_name", required=True, help="Organisation name, exactly as stored.")
@click.option("--role", type=click.Choice(["admin", "official", "member"]), default="member", show_default=True)
@click.option("--name", default="cli", show_default=True, help="A label to recognise the token by.")
@click.option("--county", "county_code", default=None,
              help="Officials only: limit the token to one county (e.g. 330681 诸暨市); default the whole city.")
@click.option("--centre", "centre_id", type=int, default=None,
              help="Operator member tokens only: the co-distribution centre (station id) whose sorting equipment "
                   "reports its daily volumes with this token.")
def tokens_create(org_name, role, name, county_code, centre_id):
    """Create an API token and print it (it is shown only once)."""
    try:
        org = access.find_organisation(db.session, org_name)
        plain = access.create_token(db.session, org, role, name, county_code, centre_id)
    except access.AccessError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(plain)


@tokens_cli.command("revoke")
@click.argument("prefix")
def tokens_revoke(prefix):
    """Revoke the token(s) whose first 10 characters are PREFIX."""
    count = access.revoke_token(db.session, prefix)
    db.session.commit()
    click.echo(f"revoked: {count}")


@network_cli.command("match-events")
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True,
              help="Match events that happened in the last DAYS days.")
def network_match_events(days):
    """Match past carrier events to the stations they name (events applied before matching existed)."""
    since = utcnow() - timedelta(days=days)
    count = matching.match_past_events(db.session, since, db.session.commit)
    db.session.commit()
    click.echo(f"matched: {count}")


def register(app):
    """Attach the command groups to the app."""
    app.cli.add_command(demo_cli)
    app.cli.add_command(network_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(import_command)
    app.cli.add_command(report_cli)
    worker_cli.register(app)
