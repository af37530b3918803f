"""perfrep: program progress from a rollup with the township and whether the carrier has taken the parcel

- report_progress_days / report_progress_months: program × Beijing day (month)
  × county × township × taken, folded from report_deltas (no new trigger: the
  deltas already carry status and township). The dashboard read every
  program's season twice (by county, by township) from the day-grain
  rollups, 2 statements per program; it now reads whole months here plus
  the days at the edges, for every program in one statement.
- "taken" = status not in (pending, info_received, cancelled, returning,
  returned): 完成 on the dashboard counts those pieces only (issue 12).
- ix_shipments_ended_trip (PostgreSQL): late perishables that ended undelivered
  (returned, expired) per program, longest trip first; the keyset read every
  undelivered parcel of the program (9k heap pages per program at 1M).
- Filled from report_days here (`flask report rebuild-progress` does the same
  on a live database).

Revision ID: 0013_perfrep
Revises: 0012_net
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_perfrep'
down_revision = '0012_net'
branch_labels = None
depends_on = None

NOT_TAKEN = "('pending', 'info_received', 'cancelled', 'returning', 'returned')"


def _table(name: str, period: str) -> None:
    op.create_table(name,
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column(period, sa.Date(), nullable=False),
    sa.Column('county_code', sa.String(length=12), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('taken', sa.Boolean(), nullable=False),
    sa.Column('shipments', sa.BigInteger(), nullable=False),
    sa.Column('pieces', sa.BigInteger(), nullable=False),
    sa.Column('value_fen', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('program_id', period, 'county_code', 'township_code', 'taken', name=op.f(f'pk_{name}'))
    )
    op.create_index(f'ix_{name}_empty', name, ['shipments'], unique=False,
                    postgresql_where=sa.text('shipments = 0'), sqlite_where=sa.text('shipments = 0'))


def upgrade():
    _table('report_progress_days', 'day')
    _table('report_progress_months', 'month')
    fill(op.get_bind().dialect.name, op.execute)
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index('ix_shipments_ended_trip', 'shipments',
                        ['program_id', sa.text('(last_event_at - coalesce(picked_up_at, registered_at))')],
                        postgresql_where=sa.text("delivered_at IS NULL AND status IN ('returned', 'expired')"))


def fill(dialect: str, execute) -> None:
    """Recount both progress tables from report_days (also `flask report rebuild-progress`)."""
    month = "CAST(date_trunc('month', day) AS date)" if dialect == "postgresql" else "date(day, 'start of month')"
    execute("DELETE FROM report_progress_days")
    execute("DELETE FROM report_progress_months")
    execute(f"""
        INSERT INTO report_progress_days (program_id, day, county_code, township_code, taken, shipments, pieces,
                                          value_fen)
        SELECT program_id, day, county_code, township_code, status NOT IN {NOT_TAKEN}, sum(shipments), sum(pieces),
               sum(value_fen)
        FROM report_days GROUP BY program_id, day, county_code, township_code, status NOT IN {NOT_TAKEN}""")
    execute(f"""
        INSERT INTO report_progress_months (program_id, month, county_code, township_code, taken, shipments, pieces,
                                            value_fen)
        SELECT program_id, {month}, county_code, township_code, taken, sum(shipments), sum(pieces), sum(value_fen)
        FROM report_progress_days GROUP BY program_id, {month}, county_code, township_code, taken""")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_shipments_ended_trip', table_name='shipments')
    for name in ('report_progress_months', 'report_progress_days'):
        op.drop_index(f'ix_{name}_empty', table_name=name, postgresql_where=sa.text('shipments = 0'),
                      sqlite_where=sa.text('shipments = 0'))
        op.drop_table(name)
