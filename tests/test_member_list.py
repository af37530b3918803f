"""A member's list filtered by status and carrier: newest first by (registered_at, id), only its own
organisation's rows, the filters checked on ix_shipments_org_registered's entries on PostgreSQL."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from shipments.models.enums import Role, ShipmentStatus
from shipments.services import access


def test_filtered_member_list_newest_first_own_rows_only(client, db_session, create_organisation, create_shipment):
    org, other = create_organisation(), create_organisation()
    base = datetime(2026, 11, 1, tzinfo=timezone.utc)
    wanted = []
    for i in range(9):  # pairs registered at the same instant: id breaks the tie
        status = ShipmentStatus.DELIVERED if i % 3 else ShipmentStatus.IN_TRANSIT
        carrier = "sf" if i % 2 else "sandbox"
        shipment = create_shipment(organisation=org, registered_at=base + timedelta(hours=i // 2), status=status,
                                   carrier=carrier, tracking_number=f"SF{i:010d}")
        if status == ShipmentStatus.DELIVERED and carrier == "sf":
            wanted.append(shipment)
    create_shipment(organisation=other, status=ShipmentStatus.DELIVERED, carrier="sf", tracking_number="SF9999999999")
    headers = {"Authorization": f"Bearer {access.create_token(db_session, org, Role.MEMBER)}"}
    seen, cursor = [], None
    while True:
        params = {"status": "delivered", "carrier": "sf", "limit": 1} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/shipments", query_string=params, headers=headers).json
        seen += [item["number"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    expected = sorted(wanted, key=lambda s: (s.registered_at, s.id), reverse=True)
    assert seen == [s.tracking_number for s in expected] and len(seen) == 3


def test_member_list_index_holds_the_filters(app, db_session):
    if app.config["DB_KIND"] != "postgresql":
        pytest.skip("the definition is PostgreSQL's catalogue")
    definition = db_session.execute(text(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_shipments_org_registered'")).scalar()
    assert "(organisation_id, registered_at, id, status, carrier)" in definition
