"""net: events matched to stations (inbound lists, centre scans), station aliases, centre-scoped tokens,
shipment edit history

Revision ID: 0012_net
Revises: 0011_pages
Create Date: 2026-11-29 01:15:00

"""
from alembic import op
import sqlalchemy as sa

import shipments.db


# revision identifiers, used by Alembic.
revision = '0012_net'
down_revision = '0011_pages'
branch_labels = None
depends_on = None


def _add_station_fk(table: str, sqlite: bool) -> None:
    name = f"fk_{table}_station_id_stations"
    if sqlite:
        # Alembic would ask for a batch copy to add the constraint (and a copy of
        # tracking_events is out of the question); SQLite's ADD COLUMN takes REFERENCES.
        op.execute(f"ALTER TABLE {table} ADD COLUMN station_id INTEGER CONSTRAINT {name} REFERENCES stations (id)")
    else:
        # A nullable column without default is a catalogue change; the constraint is added
        # NOT VALID and validated afterwards, without blocking writers on a large table.
        op.add_column(table, sa.Column('station_id', sa.Integer(), nullable=True))
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (station_id) REFERENCES stations (id) "
                   "NOT VALID")
        op.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    _add_station_fk('tracking_events', sqlite)
    # Partial: only events naming one of our stations are indexed (NULL for events already there;
    # `flask network match-events` fills them in). On a large live table, build it CONCURRENTLY by hand first.
    op.create_index('ix_tracking_events_station_occurred', 'tracking_events',
                    ['station_id', 'occurred_at', 'shipment_id'], unique=False,
                    postgresql_where=sa.text('station_id IS NOT NULL'),
                    sqlite_where=sa.text('station_id IS NOT NULL'))
    _add_station_fk('api_tokens', sqlite)
    op.add_column('stations', sa.Column('aliases', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))

    op.create_table('shipment_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shipment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('changed_at', shipments.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('old_value', sa.String(length=200), nullable=True),
    sa.Column('new_value', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_shipment_changes_shipment_id_shipments'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_shipment_changes_token_id_api_tokens')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_shipment_changes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_changes'))
    )
    op.create_index('ix_shipment_changes_shipment_changed', 'shipment_changes', ['shipment_id', 'changed_at'],
                    unique=False)


def downgrade():
    op.drop_index('ix_shipment_changes_shipment_changed', table_name='shipment_changes')
    op.drop_table('shipment_changes')
    op.drop_column('stations', 'aliases')
    op.drop_index('ix_tracking_events_station_occurred', table_name='tracking_events')
    for table in ('api_tokens', 'tracking_events'):
        if op.get_bind().dialect.name != "sqlite":
            op.drop_constraint(f"fk_{table}_station_id_stations", table, type_='foreignkey')
        op.drop_column(table, 'station_id')
