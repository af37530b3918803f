"""trust: cancelled registrations, tracking alerts, county-limited officials

Statuses gain `cancelled` (and stop reasons `cancelled`): the enum CHECKs are
widened, the poller's partial index leaves cancelled rows out, and the
rollup triggers stop counting cancelled shipments (a cancel moves the row
out of every volume through the usual signed deltas).

Revision ID: 0006_trust
Revises: 0005_rollup_dims
Create Date: 2026-11-28 21:59:06.866013

"""
import importlib.util
import pathlib

from alembic import op
import sqlalchemy as sa

import shipments.db


# revision identifiers, used by Alembic.
revision = '0006_trust'
down_revision = '0005_rollup_dims'
branch_labels = None
depends_on = None


STATUSES = ('pending', 'info_received', 'in_transit', 'out_for_delivery', 'available_for_pickup', 'attempt_fail',
            'delivered', 'exception', 'returning', 'returned', 'expired')
STOP_REASONS = ('delivered', 'returned', 'expired_no_news', 'invalid_number', 'needs_phone')
# (table, constraint, column, values before, values after)
CHECKS = (
    ("shipments", "ck_shipments_shipment_status", "status", STATUSES, STATUSES + ("cancelled",)),
    ("tracking_events", "ck_tracking_events_event_status", "status", STATUSES, STATUSES + ("cancelled",)),
    ("shipments", "ck_shipments_stop_reason", "stop_reason", STOP_REASONS, STOP_REASONS + ("cancelled",)),
)
DUE_BEFORE = "status NOT IN ('delivered', 'expired', 'returned')"
DUE_AFTER = "status NOT IN ('cancelled', 'delivered', 'expired', 'returned')"
COUNTED = "r.status <> 'cancelled'"


def _reports_migration():
    """0004_reports, whose trigger builder takes the rows-to-count condition."""
    path = pathlib.Path(__file__).with_name("0004_reports.py")
    spec = importlib.util.spec_from_file_location("migration_0004_reports", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _in_list(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _set_checks(forward: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table, name, column, before, after in CHECKS:
            op.drop_constraint(op.f(name), table, type_="check")
            op.create_check_constraint(op.f(name), table, _in_list(column, after if forward else before))
        return
    # SQLite cannot alter a CHECK; rebuilding `shipments` would cascade-delete
    # its events (foreign keys are on) and drop its triggers. A CHECK does not
    # touch the stored rows, so edit the schema text as sqlite.org/lang_altertable
    # ("other kinds of table schema changes") describes, in this transaction.
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    for table, name, column, before, after in CHECKS:
        old, new = (before, after) if forward else (after, before)
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = ?",
            (f"CONSTRAINT {name} CHECK ({_in_list(column, old)})",
             f"CONSTRAINT {name} CHECK ({_in_list(column, new)})", table))
    bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")


def _due_index(where: str) -> None:
    op.drop_index("ix_shipments_due", table_name="shipments")
    op.create_index("ix_shipments_due", "shipments", ["next_poll_at"],
                    postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def upgrade():
    _add_columns()
    _set_checks(forward=True)
    _due_index(DUE_AFTER)
    reports = _reports_migration()
    dialect = op.get_bind().dialect.name
    reports.drop_triggers(dialect)
    reports.create_triggers(dialect, where=COUNTED)
    # Only now can a row be cancelled: no existing delta needs correcting.


def _add_columns() -> None:
    """Add the new columns in place (on SQLite a batch rebuild of `shipments` would
    cascade-delete its events and drop its triggers)."""
    alert_check = "tracking_alert IN ('no_record_yet', 'tracking_aborted')"
    if op.get_bind().dialect.name == "sqlite":
        for table in ("api_tokens", "users"):
            op.execute(f"ALTER TABLE {table} ADD COLUMN county_code VARCHAR(12) "
                       f"CONSTRAINT fk_{table}_county_code_divisions REFERENCES divisions (code)")
        op.execute("ALTER TABLE shipments ADD COLUMN tracking_alert VARCHAR(16) "
                   f"CONSTRAINT ck_shipments_tracking_alert CHECK ({alert_check})")
    else:
        for table in ("api_tokens", "users"):
            op.add_column(table, sa.Column('county_code', sa.String(length=12), nullable=True))
            op.create_foreign_key(op.f(f'fk_{table}_county_code_divisions'), table, 'divisions',
                                  ['county_code'], ['code'])
        op.add_column('shipments', sa.Column('tracking_alert', sa.String(length=16), nullable=True))
        op.create_check_constraint(op.f('ck_shipments_tracking_alert'), 'shipments', alert_check)
    op.add_column('shipments', sa.Column('tracking_alert_at', shipments.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('shipments', sa.Column('cancelled_at', shipments.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('shipments', sa.Column('cancel_reason', sa.String(length=200), nullable=True))
    op.create_index('ix_shipments_org_alert', 'shipments', ['organisation_id', 'tracking_alert_at'], unique=False,
                    postgresql_where=sa.text('tracking_alert IS NOT NULL'),
                    sqlite_where=sa.text('tracking_alert IS NOT NULL'))


def downgrade():
    reports = _reports_migration()
    dialect = op.get_bind().dialect.name
    op.execute("UPDATE shipments SET status = 'expired' WHERE status = 'cancelled'")
    op.execute("UPDATE shipments SET stop_reason = 'expired_no_news' WHERE stop_reason = 'cancelled'")
    op.execute("UPDATE tracking_events SET status = 'expired' WHERE status = 'cancelled'")
    reports.drop_triggers(dialect)
    reports.create_triggers(dialect)
    _due_index(DUE_BEFORE)
    _set_checks(forward=False)
    op.drop_index('ix_shipments_org_alert', table_name='shipments')
    for column in ('cancel_reason', 'cancelled_at', 'tracking_alert_at', 'tracking_alert'):
        if dialect == "postgresql" or column != 'tracking_alert':
            op.drop_column('shipments', column)
    if dialect == "postgresql":
        for table in ("users", "api_tokens"):
            op.drop_column(table, 'county_code')
    # SQLite (3.35+) cannot drop a column that carries a CHECK or REFERENCES:
    # those stay behind, unused, on a downgraded development database.
