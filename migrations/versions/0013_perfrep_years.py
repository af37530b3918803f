"""perfrep years: the quality histogram per year, for reports with no date filter

report_quality_years: Beijing year × program × carrier × destination province,
the counts and the histogram columns of report_quality_months (migration
0013_perfrep_quality), folded from report_quality_deltas. The quality API's
default answer (every province, all time) summed every month row of every
key (80k rows at 1M shipments, sorted on disk); it reads one row per key and
year here. Filled from report_quality_months.

Revision ID: 0013_perfrep_years
Revises: 0013_perfrep_lists
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_perfrep_years'
down_revision = '0013_perfrep_lists'
branch_labels = None
depends_on = None

MEASURES = ("shipments", "picked_24h", "no_pickup", "on_time", "late", "unarrived", "exceptions", "returns")
BUCKETS = list(range(0, 96, 2)) + list(range(96, 168, 12)) + list(range(168, 336, 24)) + [336]
COLUMNS = MEASURES + tuple(f"h{b:03d}" for b in BUCKETS)


def upgrade():
    op.create_table('report_quality_years',
                    sa.Column('year', sa.Date(), nullable=False),
                    sa.Column('program_id', sa.Integer(), nullable=False),
                    sa.Column('carrier', sa.String(length=16), nullable=False),
                    sa.Column('province_code', sa.String(length=6), nullable=False),
                    *(sa.Column(c, sa.BigInteger(), nullable=False) for c in COLUMNS),
                    sa.PrimaryKeyConstraint('year', 'program_id', 'carrier', 'province_code',
                                            name=op.f('pk_report_quality_years')))
    op.create_index('ix_report_quality_years_empty', 'report_quality_years', ['shipments'], unique=False,
                    postgresql_where=sa.text('shipments = 0'), sqlite_where=sa.text('shipments = 0'))
    year = ("CAST(date_trunc('year', month) AS date)" if op.get_bind().dialect.name == "postgresql"
            else "date(month, 'start of year')")
    op.execute(f"""
        INSERT INTO report_quality_years (year, program_id, carrier, province_code, {', '.join(COLUMNS)})
        SELECT {year}, program_id, carrier, province_code, {', '.join(f'sum({c})' for c in COLUMNS)}
        FROM report_quality_months GROUP BY {year}, program_id, carrier, province_code""")


def downgrade():
    op.drop_index('ix_report_quality_years_empty', table_name='report_quality_years',
                  postgresql_where=sa.text('shipments = 0'), sqlite_where=sa.text('shipments = 0'))
    op.drop_table('report_quality_years')
