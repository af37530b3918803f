"""scale: indexes that serve the queries, first_station_at, report_deltas autovacuum

- ix_shipments_tracking_number: the public lookup knows only the number (no
  index started with it: every buyer's lookup was a full index scan).
  (Reordering the unique key instead would rebuild `shipments` on SQLite.)
- ix_shipments_order_ref: the list's search (number OR order reference) was a
  sequential scan (2.2 s at 10M).
- ix_shipments_registered (registered_at, id): officials' lists and report
  drill-downs page newest first over every organisation.
- Dropped: ix_shipments_status (no query filters on status alone: the
  poller has ix_shipments_due, reports read rollups, lists start from the
  organisation or program) and ix_report_deltas_program_day (the delta
  table is folded every minute; the index only cost every delta insert).
- shipments.first_station_at: first arrival at a station/locker or delivery,
  stored when events are applied (the quality report read it with a
  min(occurred_at) subquery per shipment); filled from the events here.
- ix_shipments_open_clock / ix_shipments_trip (PostgreSQL): late perishables
  read per program through keysets instead of every perishable parcel.
- report_deltas: autovacuum after 1,000 dead or inserted rows whatever the
  table's size, without cost delay, so the fold cannot bloat it.
- Delivery quality from rollups: report_quality_days / _months (program ×
  carrier × destination province × Beijing day / month, counts and a
  transit-hour histogram), kept exact by triggers on shipments appending to
  report_quality_deltas like migration 0004's (the fold in
  services/reports/rollups.py moves them); filled from the shipments here.
- report_program_dims gains the township as a sixth dimension (filled from
  report_days here): program progress by township reads it.
- report_network_days: day × county × township × station × direction,
  folded from the existing report_deltas; filled from report_days here.

Revision ID: 0007_scale
Revises: 0010_network
"""
from alembic import op
import sqlalchemy as sa

import shipments.db


revision = '0007_scale'
down_revision = '0010_network'
branch_labels = None
depends_on = None

DELTA_AUTOVACUUM = ("autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000, "
                    "autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 1000, "
                    "autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 1000, "
                    "autovacuum_vacuum_cost_delay = 0")


def upgrade():
    pg = op.get_bind().dialect.name == "postgresql"
    # No batch mode: on SQLite rebuilding `shipments` would cascade-delete its
    # events and drop its triggers; these operations work in place.
    op.add_column('shipments', sa.Column('first_station_at', shipments.db.UTCDateTime(timezone=True), nullable=True))
    op.create_index('ix_shipments_tracking_number', 'shipments', ['tracking_number'], unique=False)
    op.create_index('ix_shipments_order_ref', 'shipments', ['order_ref'], unique=False)
    op.drop_index('ix_shipments_status', table_name='shipments')
    op.create_index('ix_shipments_registered', 'shipments', ['registered_at', 'id'], unique=False)
    op.drop_index('ix_report_deltas_program_day', table_name='report_deltas')
    if pg:
        op.create_index('ix_shipments_open_clock', 'shipments',
                        ['program_id', sa.text('coalesce(picked_up_at, registered_at)')],
                        postgresql_where=sa.text('delivered_at IS NULL'))
        op.create_index('ix_shipments_trip', 'shipments',
                        ['program_id', sa.text('(delivered_at - coalesce(picked_up_at, registered_at))')],
                        postgresql_where=sa.text('delivered_at IS NOT NULL'))
    op.execute("""
        UPDATE shipments SET first_station_at = (
            SELECT min(e.occurred_at) FROM tracking_events e
            WHERE e.shipment_id = shipments.id AND e.status IN ('available_for_pickup', 'delivered'))
        WHERE EXISTS (SELECT 1 FROM tracking_events e
                      WHERE e.shipment_id = shipments.id AND e.status IN ('available_for_pickup', 'delivered'))""")
    if pg:
        op.execute(f"ALTER TABLE report_deltas SET ({DELTA_AUTOVACUUM})")
    create_rollup_tables()
    fill_rollups(op.get_bind().dialect.name)
    # Township as a sixth dimension of report_program_dims (program progress by township read
    # the full-grain report_days: one scan of the year per program on the dashboard).
    op.execute("""
        INSERT INTO report_program_dims (dimension, program_id, day, county_code, value, shipments, pieces, value_fen)
        SELECT 'township_code', program_id, day, county_code, township_code, sum(shipments), sum(pieces),
               sum(value_fen)
        FROM report_days GROUP BY program_id, day, county_code, township_code""")
    create_quality_triggers(op.get_bind().dialect.name)
    if pg:
        op.execute(f"ALTER TABLE report_quality_deltas SET ({DELTA_AUTOVACUUM})")


def create_rollup_tables():
    op.create_table('report_network_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('county_code', sa.String(length=12), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('shipments', sa.BigInteger(), nullable=False),
    sa.Column('pieces', sa.BigInteger(), nullable=False),
    sa.Column('value_fen', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'county_code', 'township_code', 'station_id', 'direction', name=op.f('pk_report_network_days'))
    )
    with op.batch_alter_table('report_network_days', schema=None) as batch_op:
        batch_op.create_index('ix_report_network_days_empty', ['shipments'], unique=False, postgresql_where=sa.text('shipments = 0'), sqlite_where=sa.text('shipments = 0'))

    op.create_table('report_quality_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('carrier', sa.String(length=16), nullable=False),
    sa.Column('province_code', sa.String(length=6), nullable=False),
    sa.Column('hours', sa.Integer(), nullable=False),
    sa.Column('pickup_day', sa.Date(), nullable=False),
    sa.Column('shipments', sa.BigInteger(), nullable=False),
    sa.Column('picked_24h', sa.BigInteger(), nullable=False),
    sa.Column('no_pickup', sa.BigInteger(), nullable=False),
    sa.Column('on_time', sa.BigInteger(), nullable=False),
    sa.Column('late', sa.BigInteger(), nullable=False),
    sa.Column('unarrived', sa.BigInteger(), nullable=False),
    sa.Column('exceptions', sa.BigInteger(), nullable=False),
    sa.Column('returns', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'program_id', 'carrier', 'province_code', 'hours', 'pickup_day', name=op.f('pk_report_quality_days'))
    )
    with op.batch_alter_table('report_quality_days', schema=None) as batch_op:
        batch_op.create_index('ix_report_quality_days_empty', ['shipments'], unique=False, postgresql_where=sa.text('shipments = 0'), sqlite_where=sa.text('shipments = 0'))
        batch_op.create_index('ix_report_quality_days_pickup_day', ['pickup_day'], unique=False, postgresql_where=sa.text('unarrived <> 0'), sqlite_where=sa.text('unarrived <> 0'))

    op.create_table('report_quality_deltas',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('carrier', sa.String(length=16), nullable=False),
    sa.Column('province_code', sa.String(length=6), nullable=False),
    sa.Column('hours', sa.Integer(), nullable=False),
    sa.Column('pickup_day', sa.Date(), nullable=False),
    sa.Column('shipments', sa.BigInteger(), nullable=False),
    sa.Column('picked_24h', sa.BigInteger(), nullable=False),
    sa.Column('no_pickup', sa.BigInteger(), nullable=False),
    sa.Column('on_time', sa.BigInteger(), nullable=False),
    sa.Column('late', sa.BigInteger(), nullable=False),
    sa.Column('unarrived', sa.BigInteger(), nullable=False),
    sa.Column('exceptions', sa.BigInteger(), nullable=False),
    sa.Column('returns', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_quality_deltas'))
    )
    op.create_table('report_quality_months',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('carrier', sa.String(length=16), nullable=False),
    sa.Column('province_code', sa.String(length=6), nullable=False),
    sa.Column('hours', sa.Integer(), nullable=False),
    sa.Column('shipments', sa.BigInteger(), nullable=False),
    sa.Column('picked_24h', sa.BigInteger(), nullable=False),
    sa.Column('no_pickup', sa.BigInteger(), nullable=False),
    sa.Column('on_time', sa.BigInteger(), nullable=False),
    sa.Column('late', sa.BigInteger(), nullable=False),
    sa.Column('unarrived', sa.BigInteger(), nullable=False),
    sa.Column('exceptions', sa.BigInteger(), nullable=False),
    sa.Column('returns', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('month', 'program_id', 'carrier', 'province_code', 'hours', name=op.f('pk_report_quality_months'))
    )
    with op.batch_alter_table('report_quality_months', schema=None) as batch_op:
        batch_op.create_index('ix_report_quality_months_empty', ['shipments'], unique=False, postgresql_where=sa.text('shipments = 0'), sqlite_where=sa.text('shipments = 0'))


def downgrade():
    pg = op.get_bind().dialect.name == "postgresql"
    drop_quality_triggers(op.get_bind().dialect.name)
    op.execute("DELETE FROM report_program_dims WHERE dimension = 'township_code'")
    with op.batch_alter_table('report_quality_months', schema=None) as batch_op:
        batch_op.drop_index('ix_report_quality_months_empty', postgresql_where=sa.text('shipments = 0'), sqlite_where=sa.text('shipments = 0'))

    op.drop_table('report_quality_months')
    op.drop_table('report_quality_deltas')
    with op.batch_alter_table('report_quality_days', schema=None) as batch_op:
        batch_op.drop_index('ix_report_quality_days_pickup_day', postgresql_where=sa.text('unarrived <> 0'), sqlite_where=sa.text('unarrived <> 0'))
        batch_op.drop_index('ix_report_quality_days_empty', postgresql_where=sa.text('shipments = 0'), sqlite_where=sa.text('shipments = 0'))

    op.drop_table('report_quality_days')
    with op.batch_alter_table('report_network_days', schema=None) as batch_op:
        batch_op.drop_index('ix_report_network_days_empty', postgresql_where=sa.text('shipments = 0'), sqlite_where=sa.text('shipments = 0'))

    op.drop_table('report_network_days')
    if pg:
        op.execute("ALTER TABLE report_deltas RESET (" + ", ".join(
            part.split(" = ")[0] for part in DELTA_AUTOVACUUM.split(", ")) + ")")
    op.create_index('ix_report_deltas_program_day', 'report_deltas', ['program_id', 'day'], unique=False)
    if pg:
        op.drop_index('ix_shipments_trip', table_name='shipments')
        op.drop_index('ix_shipments_open_clock', table_name='shipments')
    op.drop_index('ix_shipments_registered', table_name='shipments')
    op.create_index('ix_shipments_status', 'shipments', ['status'], unique=False)
    op.drop_index('ix_shipments_tracking_number', table_name='shipments')
    op.drop_index('ix_shipments_order_ref', table_name='shipments')
    op.drop_column('shipments', 'first_station_at')


# --- Quality triggers ----------------------------------------------------------
# The single definition of a shipment's quality key (services/reports/quality.py
# recounts from raw rows with the same rules). Beijing is UTC+8 all year.

QUALITY_COLUMNS = ("registered_at", "program_id", "carrier", "destination_province_code", "picked_up_at",
                   "first_station_at", "delivered_at", "status")
QUALITY_DELTA_COLUMNS = ("day, program_id, carrier, province_code, hours, pickup_day, shipments, picked_24h, "
                         "no_pickup, on_time, late, unarrived, exceptions, returns")


def _bucket(h: str, dialect: str) -> str:
    floor = (lambda x: f"floor({x})") if dialect == "postgresql" else (lambda x: f"CAST({x} AS INTEGER)")
    return (f"CASE WHEN {h} < 0 THEN 0 WHEN {h} < 96 THEN {floor(f'{h} / 2')} * 2 "
            f"WHEN {h} < 168 THEN 96 + {floor(f'({h} - 96) / 12')} * 12 "
            f"WHEN {h} < 336 THEN 168 + {floor(f'({h} - 168) / 24')} * 24 ELSE 336 END")


def quality_key_select(dialect: str, sign: str) -> str:
    """SELECT list of the quality key and measures of a row source `r`."""
    if dialect == "postgresql":
        day = "(r.registered_at AT TIME ZONE 'Asia/Shanghai')::date"
        arrival = "LEAST(r.first_station_at, r.delivered_at)"
        in_time = (f"{arrival} < (((r.picked_up_at AT TIME ZONE 'Asia/Shanghai')::date + 2)::timestamp "
                   "AT TIME ZONE 'Asia/Shanghai')")
        transit = "(extract(epoch FROM r.delivered_at - r.picked_up_at) / 3600.0)"
        within_24h = "extract(epoch FROM r.picked_up_at - r.registered_at) / 3600.0 <= 24"
        pickup_day = "(r.picked_up_at AT TIME ZONE 'Asia/Shanghai')::date"
        none_day = "DATE '2000-01-01'"
        hours = f"CAST({_bucket(transit, dialect)} AS integer)"
    else:
        day = "date(r.registered_at, '+8 hours')"
        arrival = ("(CASE WHEN r.first_station_at IS NULL THEN r.delivered_at WHEN r.delivered_at IS NULL "
                   "THEN r.first_station_at WHEN julianday(r.first_station_at) < julianday(r.delivered_at) "
                   "THEN r.first_station_at ELSE r.delivered_at END)")
        in_time = (f"julianday({arrival}) < julianday(date(r.picked_up_at, '+8 hours', '+2 days')) - 8 / 24.0")
        transit = "((julianday(r.delivered_at) - julianday(r.picked_up_at)) * 24.0)"
        within_24h = "(julianday(r.picked_up_at) - julianday(r.registered_at)) * 24.0 <= 24"
        pickup_day = "date(r.picked_up_at, '+8 hours')"
        none_day = "'2000-01-01'"
        hours = _bucket(transit, dialect)
    picked = "r.picked_up_at IS NOT NULL"

    def count_if(cond: str) -> str:
        return f"{sign}sum(CASE WHEN {cond} THEN 1 ELSE 0 END)"

    return ", ".join([
        day, "COALESCE(r.program_id, 0)", "r.carrier", "COALESCE(r.destination_province_code, '')",
        f"CASE WHEN {picked} AND r.delivered_at IS NOT NULL THEN {hours} ELSE -1 END",
        f"CASE WHEN {picked} AND {arrival} IS NULL THEN {pickup_day} ELSE {none_day} END",
        f"{sign}count(*)",
        count_if(f"{picked} AND {within_24h}"),
        count_if("r.picked_up_at IS NULL"),
        count_if(f"{picked} AND {arrival} IS NOT NULL AND {in_time}"),
        count_if(f"{picked} AND {arrival} IS NOT NULL AND NOT ({in_time})"),
        count_if(f"{picked} AND {arrival} IS NULL"),
        count_if("r.status = 'exception'"),
        count_if("r.status IN ('returning', 'returned')"),
    ])


COUNTED = "r.status <> 'cancelled'"  # as migration 0006_trust: cancelled registrations count nowhere


def _quality_insert(dialect: str, source: str, sign: str) -> str:
    return (f"INSERT INTO report_quality_deltas ({QUALITY_DELTA_COLUMNS}) "
            f"SELECT {quality_key_select(dialect, sign)} FROM {source} WHERE {COUNTED} GROUP BY 1, 2, 3, 4, 5, 6")


def _quality_row(alias: str) -> str:
    return "(SELECT " + ", ".join(f"{alias}.{c} AS {c}" for c in QUALITY_COLUMNS) + ") r"


def _quality_changed(dialect: str) -> str:
    op_ = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    return " OR ".join(f"OLD.{c} {op_} NEW.{c}" for c in QUALITY_COLUMNS)


def create_quality_triggers(dialect: str) -> None:
    columns = ", ".join(QUALITY_COLUMNS)
    if dialect == "postgresql":
        op.execute(f"""
            CREATE FUNCTION report_quality_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN {_quality_insert(dialect, "new_rows r", "")}; RETURN NULL; END $$""")
        op.execute(f"""
            CREATE FUNCTION report_quality_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN {_quality_insert(dialect, "old_rows r", "-")}; RETURN NULL; END $$""")
        op.execute(f"""
            CREATE FUNCTION report_quality_updated() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              {_quality_insert(dialect, _quality_row("OLD"), "-")};
              {_quality_insert(dialect, _quality_row("NEW"), "")};
              RETURN NULL;
            END $$""")
        op.execute("""CREATE TRIGGER report_quality_insert AFTER INSERT ON shipments
                      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
                      EXECUTE FUNCTION report_quality_inserted()""")
        op.execute("""CREATE TRIGGER report_quality_delete AFTER DELETE ON shipments
                      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
                      EXECUTE FUNCTION report_quality_deleted()""")
        op.execute(f"""CREATE TRIGGER report_quality_update AFTER UPDATE OF {columns} ON shipments
                       FOR EACH ROW WHEN ({_quality_changed(dialect)})
                       EXECUTE FUNCTION report_quality_updated()""")
    else:
        op.execute(f"""CREATE TRIGGER report_quality_insert AFTER INSERT ON shipments FOR EACH ROW
                       BEGIN {_quality_insert(dialect, _quality_row("NEW"), "")}; END""")
        op.execute(f"""CREATE TRIGGER report_quality_delete AFTER DELETE ON shipments FOR EACH ROW
                       BEGIN {_quality_insert(dialect, _quality_row("OLD"), "-")}; END""")
        op.execute(f"""CREATE TRIGGER report_quality_update AFTER UPDATE OF {columns} ON shipments
                       FOR EACH ROW WHEN {_quality_changed(dialect)}
                       BEGIN {_quality_insert(dialect, _quality_row("OLD"), "-")};
                             {_quality_insert(dialect, _quality_row("NEW"), "")}; END""")


def drop_quality_triggers(dialect: str) -> None:
    for name in ("report_quality_insert", "report_quality_delete", "report_quality_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON shipments" if dialect == "postgresql" else ""))
    if dialect == "postgresql":
        for name in ("report_quality_inserted", "report_quality_deleted", "report_quality_updated"):
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")


def fill_rollups(dialect: str) -> None:
    """Count what is already there: quality from the shipments, network from the volume rollup and its deltas."""
    op.execute(f"INSERT INTO report_quality_days ({QUALITY_DELTA_COLUMNS}) "
               f"SELECT {quality_key_select(dialect, '')} FROM shipments r WHERE {COUNTED} GROUP BY 1, 2, 3, 4, 5, 6")
    month = "CAST(date_trunc('month', day) AS date)" if dialect == "postgresql" else "date(day, 'start of month')"
    measures = "shipments, picked_24h, no_pickup, on_time, late, unarrived, exceptions, returns"
    op.execute(f"INSERT INTO report_quality_months (month, program_id, carrier, province_code, hours, {measures}) "
               f"SELECT {month}, program_id, carrier, province_code, hours, "
               + ", ".join(f"sum({m})" for m in measures.split(", "))
               + " FROM report_quality_days GROUP BY 1, 2, 3, 4, 5")
    op.execute("INSERT INTO report_network_days (day, county_code, township_code, station_id, direction, "
               "shipments, pieces, value_fen) "
               "SELECT day, county_code, township_code, station_id, direction, sum(shipments), sum(pieces), "
               "sum(value_fen) FROM (SELECT day, county_code, township_code, station_id, direction, shipments, "
               "pieces, value_fen FROM report_days UNION ALL SELECT day, county_code, township_code, station_id, "
               "direction, shipments, pieces, value_fen FROM report_deltas) u "
               "GROUP BY 1, 2, 3, 4, 5 HAVING sum(shipments) <> 0")
