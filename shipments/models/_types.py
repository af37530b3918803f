"""Column helpers shared by the models."""
import enum

from sqlalchemy import BigInteger, Enum, Integer

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def enum_column(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A VARCHAR enum with a CHECK constraint on every database."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda members: [m.value for m in members],
    )
