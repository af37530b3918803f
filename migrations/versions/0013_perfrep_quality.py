"""perfrep quality: the quality month rollup keeps the transit-hour histogram in columns, one row per key

report_quality_months held one row per month × program × carrier × province ×
hour bucket (668k rows at 10M shipments: a year-long quality report read and
sorted them all to find percentiles). It becomes one row per month × program
× carrier × province with a column per bucket (h000 … h336, the same buckets
as report_quality_days.hours), and report_quality_carrier_months holds the
same without the province (the dashboard's quality by program × carrier).
Both are folded from report_quality_deltas like before and filled here from
report_quality_days (`flask report rebuild` recounts everything).

Revision ID: 0013_perfrep_quality
Revises: 0013_perfrep
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_perfrep_quality'
down_revision = '0013_perfrep'
branch_labels = None
depends_on = None

MEASURES = ("shipments", "picked_24h", "no_pickup", "on_time", "late", "unarrived", "exceptions", "returns")
# The transit-hour buckets of migration 0007_scale: 2 h to 96 h, 12 h to 168 h, 24 h to 336 h, then one.
BUCKETS = list(range(0, 96, 2)) + list(range(96, 168, 12)) + list(range(168, 336, 24)) + [336]
HIST = [f"h{b:03d}" for b in BUCKETS]
TABLES = {"report_quality_months": ("month", "program_id", "carrier", "province_code"),
          "report_quality_carrier_months": ("month", "program_id", "carrier")}
KEY_TYPES = {"month": sa.Date(), "program_id": sa.Integer(), "carrier": sa.String(length=16),
             "province_code": sa.String(length=6)}


def _create(name: str, keys: tuple[str, ...]) -> None:
    op.create_table(name,
                    *(sa.Column(k, KEY_TYPES[k], nullable=False) for k in keys),
                    *(sa.Column(m, sa.BigInteger(), nullable=False) for m in MEASURES + tuple(HIST)),
                    sa.PrimaryKeyConstraint(*keys, name=op.f(f'pk_{name}')))
    op.create_index(f'ix_{name}_empty', name, ['shipments'], unique=False,
                    postgresql_where=sa.text('shipments = 0'), sqlite_where=sa.text('shipments = 0'))


def _drop(name: str) -> None:
    op.drop_index(f'ix_{name}_empty', table_name=name, postgresql_where=sa.text('shipments = 0'),
                  sqlite_where=sa.text('shipments = 0'))
    op.drop_table(name)


def upgrade():
    dialect = op.get_bind().dialect.name
    _drop('report_quality_months')
    for name, keys in TABLES.items():
        _create(name, keys)
        op.execute(fill_sql(dialect, name))


def fill_sql(dialect: str, name: str) -> str:
    """The month table's rows from report_quality_days (one row per bucket there)."""
    keys = TABLES[name]
    month = "CAST(date_trunc('month', day) AS date)" if dialect == "postgresql" else "date(day, 'start of month')"
    exprs = (month,) + keys[1:]
    sums = [f"sum({m})" for m in MEASURES] + [f"sum(CASE WHEN hours = {b} THEN shipments ELSE 0 END)"
                                              for b in BUCKETS]
    return (f"INSERT INTO {name} ({', '.join(keys + MEASURES + tuple(HIST))}) "
            f"SELECT {', '.join(exprs)}, {', '.join(sums)} FROM report_quality_days GROUP BY {', '.join(exprs)}")


def downgrade():
    dialect = op.get_bind().dialect.name
    for name in TABLES:
        _drop(name)
    op.create_table('report_quality_months',
                    sa.Column('month', sa.Date(), nullable=False),
                    sa.Column('program_id', sa.Integer(), nullable=False),
                    sa.Column('carrier', sa.String(length=16), nullable=False),
                    sa.Column('province_code', sa.String(length=6), nullable=False),
                    sa.Column('hours', sa.Integer(), nullable=False),
                    *(sa.Column(m, sa.BigInteger(), nullable=False) for m in MEASURES),
                    sa.PrimaryKeyConstraint('month', 'program_id', 'carrier', 'province_code', 'hours',
                                            name=op.f('pk_report_quality_months')))
    op.create_index('ix_report_quality_months_empty', 'report_quality_months', ['shipments'], unique=False,
                    postgresql_where=sa.text('shipments = 0'), sqlite_where=sa.text('shipments = 0'))
    month = "CAST(date_trunc('month', day) AS date)" if dialect == "postgresql" else "date(day, 'start of month')"
    op.execute(f"""
        INSERT INTO report_quality_months (month, program_id, carrier, province_code, hours, {', '.join(MEASURES)})
        SELECT {month}, program_id, carrier, province_code, hours, {', '.join(f'sum({m})' for m in MEASURES)}
        FROM report_quality_days GROUP BY {month}, program_id, carrier, province_code, hours""")
