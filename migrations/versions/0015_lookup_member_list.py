"""lookup member list: a member's filtered list checks status and carrier on the index entry

ix_shipments_org_registered becomes (organisation_id, registered_at, id,
status, carrier), as 0013_perfrep_lists did for the officials' list: a
member's list walks it newest first and a status or carrier filter is checked
on the index entry, not the table row. "delivered, sf" read 4,790 table pages
(497 ms cold) at 10M to find 51 rows; the keyset order (registered_at, id)
needs no sort. Every query the old key served, its prefix still serves.

Revision ID: 0015_lookup_member_list
Revises: 0014_lookup_timeline
"""
from alembic import op


revision = '0015_lookup_member_list'
down_revision = '0014_lookup_timeline'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_shipments_org_registered', table_name='shipments', if_exists=True)
    op.create_index('ix_shipments_org_registered', 'shipments',
                    ['organisation_id', 'registered_at', 'id', 'status', 'carrier'], unique=False)


def downgrade():
    op.drop_index('ix_shipments_org_registered', table_name='shipments', if_exists=True)
    op.create_index('ix_shipments_org_registered', 'shipments', ['organisation_id', 'registered_at'], unique=False)
