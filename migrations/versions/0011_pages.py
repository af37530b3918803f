"""pages: programs.target_scale (demo targets scaled down, said on the dashboard); active organisations, programs

Revision ID: 0011_pages
Revises: 0010_network
Create Date: 2026-11-28 22:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_pages'
down_revision = '0010_network'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_scale', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_check_constraint('target_scale_positive', 'target_scale >= 1')
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('active')
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_constraint('ck_programs_target_scale_positive', type_='check')
        batch_op.drop_column('active')
        batch_op.drop_column('target_scale')
