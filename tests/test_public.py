"""Health and home page."""
from sqlalchemy import delete

from shipments import create_app
from shipments.models import Heartbeat
from shipments.services import demo


def test_healthz_ok(client, db_session):
    db_session.execute(delete(Heartbeat))  # a worker run by another test may have left one (rolled back after)
    response = client.get("/healthz")
    assert response.status_code == 200
    # No worker has run in the tests: the service works but is degraded (nothing polls).
    assert response.json == {"status": "degraded", "database": "ok", "redis": "not configured",
                             "scheduler": {"status": "never seen", "last_beat": None}}


def test_healthz_503_when_database_unreachable(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


def test_home_lists_programs_in_chinese(client, db_session):
    demo.load_demo(db_session)
    page = client.get("/").get_data(as_text=True)
    assert "诸暨珍珠千万件金牌寄递项目" in page
    assert "千万件" in page


def test_public_answer_from_rows_equals_the_schema_dump(db_session, create_shipment):
    """The API and page build the public answer from rows; PublicShipmentSchema stays its contract."""
    from datetime import datetime, timezone

    from shipments.models import TrackingEvent
    from shipments.models.enums import EventSource, ShipmentStatus
    from shipments.schemas.shipments import PublicShipmentSchema, dump_public_parcel
    from shipments.services.public_tracking import find_public_parcel

    digits = create_shipment(tracking_number="SBX6610000001", phone_last4="2468", destination_city="广州市",
                             destination_province_code="440000", status=ShipmentStatus.DELIVERED,
                             picked_up_at=datetime(2026, 6, 1, 1, tzinfo=timezone.utc),
                             delivered_at=datetime(2026, 6, 3, 9, tzinfo=timezone.utc))
    plain = create_shipment(tracking_number="SBX6610000002")
    for shipment in (digits, plain):
        for hour, text, place in ((1, "快件已揽收，快递员 13912345678", "绍兴市"), (9, "到达", None)):
            db_session.add(TrackingEvent(shipment=shipment, occurred_at=datetime(2026, 6, 1, hour, tzinfo=timezone.utc),
                                         status=ShipmentStatus.IN_TRANSIT, description=text, location=place,
                                         source=EventSource.POLL, dedupe_key=f"k{hour}"))
    db_session.flush()
    answers = [find_public_parcel(db_session, "SBX6610000001", "2468"),
               find_public_parcel(db_session, "sbx 6610000002", None)]
    assert [a.timeline for a in answers] == [True, False]
    assert answers[0].last_city == answers[1].last_city == "绍兴市"
    for parcel in answers:
        assert dump_public_parcel(parcel) == PublicShipmentSchema().dump(parcel)
    assert "139******78" in dump_public_parcel(answers[0])["events"][0]["description"]
    assert find_public_parcel(db_session, "SBX6610000001", "2469") is None
