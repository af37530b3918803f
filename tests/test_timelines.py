"""One parcel's events come in its shipment's row (services/timelines.py): one statement per read,
the same answer as the ORM and schemas give, in the events' order, on both databases."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, text

from shipments.models import Shipment, TrackingEvent
from shipments.models.enums import EventSource, OrganisationKind, Role, ShipmentStatus
from shipments.schemas.shipments import (
    OfficialShipmentDetailSchema, PublicShipmentSchema, ShipmentDetailSchema, dump_public_parcel,
)
from shipments.services import access, timelines
from shipments.services.public_tracking import find_public_parcel

AT = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def auth(db_session, create_organisation):
    """auth(role, org) -> headers with a fresh bearer token (as tests/test_api_shipments.py)."""
    def make(role=Role.MEMBER, org=None):
        org = org or create_organisation(**({"kind": OrganisationKind.OPERATOR} if role == Role.ADMIN else {}))
        return {"Authorization": f"Bearer {access.create_token(db_session, org, role)}"}
    return make


@pytest.fixture
def statements(db_session):
    """The SQL statements sent while the test runs (the session's connection is the app's in tests)."""
    seen = []
    engine = db_session.get_bind().engine

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _awkward_events(db_session, shipment):
    """Events inserted out of order, two at the same instant (id decides), whole and fractional
    seconds, empty optional columns, a phone number to mask."""
    rows = [
        (AT + timedelta(hours=2), ShipmentStatus.DELIVERED, "已签收，收件人王小明 13912345678", "诸暨市", "签收"),
        (AT, ShipmentStatus.INFO_RECEIVED, "已揽收", None, None),
        (AT + timedelta(hours=1, microseconds=120000), ShipmentStatus.IN_TRANSIT, "到达杭州中转", "杭州市", None),
        (AT + timedelta(hours=1, microseconds=120000), ShipmentStatus.IN_TRANSIT, "离开杭州中转", "杭州市", None),
        (AT + timedelta(seconds=1, microseconds=1), ShipmentStatus.IN_TRANSIT, "发往杭州", "", None),
    ]
    for i, (at, status, description, location, substatus) in enumerate(rows):
        db_session.add(TrackingEvent(shipment=shipment, occurred_at=at, status=status, description=description,
                                     location=location, substatus=substatus, source=EventSource.POLL,
                                     raw_code=str(i) if i % 2 else None, dedupe_key=f"t{i}"))
    db_session.flush()
    db_session.expire_all()  # what the database holds, as the one-statement reads see it


def test_detail_is_one_statement_and_what_the_schemas_dump(client, db_session, auth, create_organisation,
                                                           create_shipment, statements):
    org = create_organisation()
    shipment = create_shipment(organisation=org, phone_last4="5678", status=ShipmentStatus.DELIVERED)
    _awkward_events(db_session, shipment)
    url = f"/api/v1/shipments/sandbox/{shipment.tracking_number}"
    for headers, schema in ((auth(org=org), ShipmentDetailSchema()),
                            (auth(Role.OFFICIAL), OfficialShipmentDetailSchema())):
        statements.clear()
        response = client.get(url, headers=headers)
        assert response.status_code == 200
        # The token's look-up (tests remember no token) and the detail: nothing per event.
        assert len(statements) == 2 and "tracking_events" in statements[1]
        expected = json.loads(json.dumps(schema.dump(db_session.get(Shipment, shipment.id))))
        assert response.json == expected
    events = response.json["events"]
    assert [e["description"] for e in events] == ["已揽收", "发往杭州", "到达杭州中转", "离开杭州中转",
                                                  "已签收，收件人王** 139******78"]
    assert events[0]["occurred_at"] == "2026-11-20T03:00:00+00:00"
    assert events[1]["occurred_at"] == "2026-11-20T03:00:01.000001+00:00"
    assert events[2]["occurred_at"] == "2026-11-20T04:00:00.120000+00:00"


def test_public_lookup_is_one_statement_with_or_without_the_timeline(db_session, create_shipment, statements):
    shipment = create_shipment(tracking_number="SBX6620000001", phone_last4="2468")
    _awkward_events(db_session, shipment)
    statements.clear()
    parcel = find_public_parcel(db_session, "SBX6620000001", "2468")
    assert len(statements) == 1
    assert dump_public_parcel(parcel) == PublicShipmentSchema().dump(parcel)
    assert [e["description"] for e in parcel.events][:2] == ["已揽收", "发往杭州"]
    assert parcel.last_city == "诸暨市" and parcel.events[0]["status"] is ShipmentStatus.INFO_RECEIVED
    for digits in ("2469", None, "24x8"):
        statements.clear()
        assert find_public_parcel(db_session, "SBX6620000001", digits) is None
        assert len(statements) == 1


def test_a_parcel_without_events(db_session, create_shipment):
    create_shipment(tracking_number="SBX6620000002", phone_last4="1357")
    parcel = find_public_parcel(db_session, "SBX6620000002", "1357")
    assert parcel.timeline and parcel.events == () and parcel.last_city is None


def test_the_timeline_index_covers_every_timeline_column(app, db_session):
    """On PostgreSQL a timeline is read from ix_tracking_events_timeline alone: it must include every
    column services/timelines.py may show (add a column there, add it to the index too)."""
    if app.config["DB_KIND"] != "postgresql":
        pytest.skip("SQLite indexes include no columns")
    definition = db_session.execute(text(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_tracking_events_timeline'")).scalar()
    assert "(shipment_id, occurred_at, id)" in definition
    included = definition.split("INCLUDE (")[1].rstrip(")").split(", ")
    assert set(timelines.TIMELINE_COLUMNS) - {"occurred_at"} <= set(included)
    old = db_session.execute(text(
        "SELECT 1 FROM pg_indexes WHERE indexname = 'ix_tracking_events_shipment_occurred'")).scalar()
    assert old is None  # replaced: its key is the new index's prefix


def test_only_timeline_columns_go_into_the_sql():
    with pytest.raises(ValueError):
        timelines.events_column(("status", "dedupe_key; DROP TABLE shipments"), "postgresql")
