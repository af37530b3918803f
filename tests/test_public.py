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
