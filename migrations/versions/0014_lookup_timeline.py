"""lookup timeline: one parcel's events read from one index, not ~10 table pages

The shipment detail and the public track API read a parcel's events oldest
first. Carriers report a parcel's scans over days, between everyone else's, so
its ~10 events sit on ~10 different table pages: EXPLAIN on the 1M bench
database read 13 pages, 3.5 ms cold, per parcel. ix_tracking_events_timeline
is (shipment_id, occurred_at, id) and, on PostgreSQL, INCLUDEs every column a
timeline shows: the timeline becomes an index-only scan of one or two leaf
pages, already in the answer's order (id breaks ties, so no sort either).

It replaces ix_tracking_events_shipment_occurred, whose key is its prefix (so
every query that used it can use this one): one index to maintain per insert,
not two, though a wider one. SQLite has no INCLUDE: there the key alone.

IF [NOT] EXISTS: the shared bench databases may have it already.

Revision ID: 0014_lookup_timeline
Revises: 0013_perfrep_network
"""
from alembic import op


revision = '0014_lookup_timeline'
down_revision = '0013_perfrep_network'
branch_labels = None
depends_on = None

SHOWN = ['status', 'substatus', 'location', 'description', 'raw_code', 'source']


def upgrade():
    op.create_index('ix_tracking_events_timeline', 'tracking_events', ['shipment_id', 'occurred_at', 'id'],
                    unique=False, postgresql_include=SHOWN, if_not_exists=True)
    op.drop_index('ix_tracking_events_shipment_occurred', table_name='tracking_events', if_exists=True)


def downgrade():
    op.create_index('ix_tracking_events_shipment_occurred', 'tracking_events', ['shipment_id', 'occurred_at'],
                    unique=False, if_not_exists=True)
    op.drop_index('ix_tracking_events_timeline', table_name='tracking_events', if_exists=True)
