"""The database itself refuses bad data, on SQLite and PostgreSQL alike."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from shipments.models import Program, Shipment, TrackingEvent
from shipments.models.enums import EventSource, ShipmentStatus


def test_duplicate_carrier_and_number_is_refused(db_session, create_shipment):
    create_shipment(carrier="zto", tracking_number="78000000000001")
    with pytest.raises(IntegrityError, match="(?i)unique"):
        create_shipment(carrier="zto", tracking_number="78000000000001")


def test_same_number_with_another_carrier_is_allowed(db_session, create_shipment):
    create_shipment(carrier="ems", tracking_number="1100012345678")
    other = create_shipment(carrier="chinapost", tracking_number="1100012345678")
    assert other.id is not None


def test_negative_target_is_refused(db_session, create_program):
    with pytest.raises(IntegrityError, match="target_non_negative"):
        create_program(target_pieces=-1)


def test_perishable_program_needs_a_deadline(db_session, create_program):
    with pytest.raises(IntegrityError, match="perishable_deadline"):
        create_program(perishable=True, deadline_hours=None)


@pytest.mark.parametrize("column, value, constraint", [
    ("pieces", 0, "pieces_positive"),
    ("weight_kg", Decimal("-0.1"), "weight_non_negative"),
    ("declared_value", Decimal("-1.00"), "value_non_negative"),
    ("phone_last4", "123", "phone_last4_length"),
])
def test_shipment_checks(db_session, create_shipment, column, value, constraint):
    with pytest.raises(IntegrityError, match=constraint):
        create_shipment(**{column: value})


def test_unknown_status_is_refused_by_the_model(db_session, create_shipment):
    with pytest.raises(StatementError, match="not among the defined enum values"):
        create_shipment(status="lost_in_space")


def test_unknown_status_is_refused_by_the_database(db_session, create_shipment):
    shipment = create_shipment()
    with pytest.raises(IntegrityError, match="(?i)shipment_status|check"):
        db_session.execute(
            text("UPDATE shipments SET status = 'lost_in_space' WHERE id = :id"), {"id": shipment.id}
        )


def test_naive_datetime_is_refused(db_session, create_shipment):
    with pytest.raises(StatementError, match="naive datetime"):
        create_shipment(registered_at=datetime(2026, 11, 20, 10, 0))


def test_datetimes_come_back_aware_utc(db_session, create_shipment):
    beijing = timezone(timedelta(hours=8))
    shipment = create_shipment(registered_at=datetime(2026, 6, 15, 9, 30, tzinfo=beijing))
    db_session.expire_all()
    loaded = db_session.get(Shipment, shipment.id)
    assert loaded.registered_at == datetime(2026, 6, 15, 1, 30, tzinfo=timezone.utc)
    assert loaded.registered_at.utcoffset() == timedelta(0)


def test_money_is_exact_decimal(db_session, create_shipment):
    shipment = create_shipment(declared_value=Decimal("1999.99"), weight_kg=Decimal("0.305"))
    db_session.expire_all()
    loaded = db_session.get(Shipment, shipment.id)
    assert loaded.declared_value == Decimal("1999.99")
    assert loaded.weight_kg == Decimal("0.305")


def test_event_is_unique_per_shipment_and_key(db_session, create_shipment):
    shipment = create_shipment()
    at = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)
    for _ in range(2):
        db_session.add(TrackingEvent(shipment=shipment, occurred_at=at, status=ShipmentStatus.IN_TRANSIT,
                                     description="已揽收", source=EventSource.POLL, dedupe_key="k1"))
    with pytest.raises(IntegrityError, match="(?i)unique"):
        db_session.flush()


def test_program_tier_follows_target(db_session, create_program):
    assert create_program(target_pieces=10_000_000).tier == "千万件"
    assert create_program(target_pieces=1_000_000).tier == "百万件"
    assert create_program(target_pieces=100_000).tier == "十万件"
    assert create_program(target_pieces=99_999).tier is None
    assert db_session.scalar(select(Program).where(Program.target_pieces == 99_999)) is not None
