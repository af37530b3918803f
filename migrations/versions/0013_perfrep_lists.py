"""perfrep lists: officials' filtered lists that stay flat from 100k to 10M shipments

- ix_shipments_registered becomes (registered_at, id, status, carrier): the
  officials' list walks it newest first and a status or carrier filter is
  checked on the index entry, not the table row. "delivered, sf" skipped the
  ~7,000 newest parcels (not delivered yet) by reading their rows at 1M,
  ~70,000 at 10M; now it reads index entries only.
- The list flags (EXPLAIN on 10M in BENCHMARKS.md), newest first by keyset:
  ix_shipments_needs_phone, ix_shipments_expired, ix_shipments_pickup_overdue:
  partial (registered_at, id) over the few flagged rows;
  ix_shipments_stalled (PostgreSQL): live parcels with no stop reason,
  (registered_at, id, organisation_id, coalesce(last_event_at, registered_at)),
  so "no news for 48 h" and a member's organisation are checked in the index.

Revision ID: 0013_perfrep_lists
Revises: 0013_perfrep_quality
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_perfrep_lists'
down_revision = '0013_perfrep_quality'
branch_labels = None
depends_on = None

TERMINAL = "'cancelled', 'delivered', 'expired', 'returned'"
PARTIAL = {
    "ix_shipments_needs_phone": "stop_reason = 'needs_phone'",
    "ix_shipments_expired": "status = 'expired'",
    "ix_shipments_pickup_overdue": "pickup_overdue_at IS NOT NULL AND picked_up_at IS NULL",
}


def upgrade():
    op.drop_index('ix_shipments_registered', table_name='shipments')
    op.create_index('ix_shipments_registered', 'shipments', ['registered_at', 'id', 'status', 'carrier'], unique=False)
    for name, where in PARTIAL.items():
        op.create_index(name, 'shipments', ['registered_at', 'id'], unique=False,
                        postgresql_where=sa.text(where), sqlite_where=sa.text(where))
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index('ix_shipments_stalled', 'shipments',
                        ['registered_at', 'id', 'organisation_id', sa.text('coalesce(last_event_at, registered_at)')],
                        postgresql_where=sa.text(f"stop_reason IS NULL AND status NOT IN ({TERMINAL})"))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_shipments_stalled', table_name='shipments')
    for name, where in PARTIAL.items():
        op.drop_index(name, table_name='shipments', postgresql_where=sa.text(where), sqlite_where=sa.text(where))
    op.drop_index('ix_shipments_registered', table_name='shipments')
    op.create_index('ix_shipments_registered', 'shipments', ['registered_at', 'id'], unique=False)
