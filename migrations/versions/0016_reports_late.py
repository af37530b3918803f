"""reports late: the dashboard's late perishables and quality card flat at 10M

- ix_shipments_early_pickup (PostgreSQL): undelivered parcels picked up before
  they were registered, per program. With a first registration day (the
  dashboard's year) the open clocks are read from that day on, plus these few;
  the keyset otherwise walked every older undelivered parcel of the program
  (6,638 rows, 6,600 pages per program at 10M) to skip them.
- ix_report_quality_days_pickup_day INCLUDEs what the quality report sums from
  the last pickup days (day, program, carrier, province, unarrived): read from
  the index alone (~18k rows at 10M were ~16k table pages).

IF [NOT] EXISTS: the shared bench databases may have them already.

Revision ID: 0016_reports_late
Revises: 0015_lookup_member_list
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_reports_late'
down_revision = '0015_lookup_member_list'
branch_labels = None
depends_on = None

PENDING = ['day', 'program_id', 'carrier', 'province_code', 'unarrived']


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.create_index('ix_shipments_early_pickup', 'shipments', ['program_id', 'picked_up_at'],
                    postgresql_where=sa.text('delivered_at IS NULL AND picked_up_at < registered_at'),
                    if_not_exists=True)
    op.drop_index('ix_report_quality_days_pickup_day', table_name='report_quality_days', if_exists=True)
    op.create_index('ix_report_quality_days_pickup_day', 'report_quality_days', ['pickup_day'],
                    postgresql_where=sa.text('unarrived <> 0'), postgresql_include=PENDING, if_not_exists=True)


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_report_quality_days_pickup_day', table_name='report_quality_days', if_exists=True)
    op.create_index('ix_report_quality_days_pickup_day', 'report_quality_days', ['pickup_day'],
                    postgresql_where=sa.text('unarrived <> 0'), if_not_exists=True)
    op.drop_index('ix_shipments_early_pickup', table_name='shipments', if_exists=True)
