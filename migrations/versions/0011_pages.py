"""pages: programs.target_scale (demo targets scaled down, said on the dashboard); active organisations, programs

Revision ID: 0011_pages
Revises: 0008_hardening
Create Date: 2026-11-28 22:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_pages'
down_revision = '0008_hardening'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMNs, no batch mode: on SQLite a batch rebuild of programs drops
    # the table, which cascades to program memberships (foreign keys are on).
    op.add_column('programs', sa.Column('target_scale', sa.Integer(), server_default='1', nullable=False))
    op.add_column('programs', sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column('organisations', sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))
    if op.get_bind().dialect.name != 'sqlite':  # SQLite cannot add a CHECK to an existing table
        op.create_check_constraint(op.f('ck_programs_target_scale_positive'), 'programs', 'target_scale >= 1')


def downgrade():
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('ck_programs_target_scale_positive', 'programs', type_='check')
    op.drop_column('organisations', 'active')
    op.drop_column('programs', 'active')
    op.drop_column('programs', 'target_scale')
