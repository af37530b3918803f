"""Issue 15: Redis unreachable must not stop lookups, pages or polling; /healthz says what is down.
Also pushes of odd shapes and formula-like text in exports."""
import io
import json
import logging
import uuid
from datetime import timedelta

import pytest
from limits.storage import storage_from_string
from openpyxl import load_workbook
from sqlalchemy import func, select

from shipments.db import utcnow
from shipments.extensions import limiter
from shipments.models import TrackingEvent
from shipments.models.enums import ShipmentStatus
from shipments.services import exports, health, polling
from tests.fakes import kuaidi100 as k100
from tests.test_polling import k100_fake  # noqa: F401  (the fake Kuaidi100 on a real socket)
from tests.web.conftest import csrf_token, login

UNREACHABLE = "redis://127.0.0.1:18699/6"  # in this helper's port range; nothing listens there


@pytest.fixture
def redis_down(app, monkeypatch):
    """The running app's limiter and config pointed at a Redis that does not answer."""
    storage = storage_from_string(UNREACHABLE, socket_connect_timeout=0.5, socket_timeout=0.5)
    monkeypatch.setattr(limiter, "_storage", storage)
    monkeypatch.setattr(limiter, "_limiter", type(limiter._limiter)(storage))
    monkeypatch.setattr(limiter, "_storage_dead", False)
    monkeypatch.setitem(app.config, "REDIS_URL", UNREACHABLE)
    yield


def test_public_lookup_and_portal_work_with_redis_down(app, client, db_session, create_shipment, member,
                                                       redis_down, caplog):
    shipment = create_shipment(phone_last4="4321")
    with caplog.at_level(logging.WARNING):
        api = client.get(f"/api/v1/track/{shipment.tracking_number}", query_string={"phone_last4": "4321"})
        wrong = client.get(f"/api/v1/track/{shipment.tracking_number}", query_string={"phone_last4": "0000"})
        page = client.post(f"/t/{shipment.tracking_number}",
                           data={"phone_last4": "4321", "csrf_token": csrf_token(client, "/track")})
    assert api.status_code == 200 and api.json["number"] == shipment.tracking_number
    assert wrong.status_code == 404
    assert page.status_code == 200 and shipment.tracking_number in page.get_data(as_text=True)
    login(client, member)
    assert client.get("/portal/").status_code == 200
    status = client.get("/healthz")
    assert status.status_code == 200
    assert status.json["status"] == "degraded" and status.json["redis"] == "unreachable"
    assert status.json["database"] == "ok"


def test_one_poll_cycle_works_with_redis_down(app, db_session, create_shipment, k100_fake, caplog):
    config = dict(app.config)
    config.update(KUAIDI100_URL=k100_fake.url, KUAIDI100_KEY=k100.KEY, KUAIDI100_CUSTOMER=k100.CUSTOMER,
                  KUAIDI100_SALT=k100.SALT, REDIS_URL=UNREACHABLE, PUBLIC_BASE_URL=None,
                  QUOTA_NAMESPACE=f"test-{uuid.uuid4().hex[:8]}", POLL_RATE={"kuaidi100": 20},
                  POLL_HTTP_TIMEOUT=0.5, POLL_CYCLE_SECONDS=20, POLL_JITTER=0.0)
    shipments = [create_shipment(carrier="yto", provider="kuaidi100", tracking_number=f"YT30000000000{i:02d}",
                                 registered_at=utcnow() - timedelta(hours=2),
                                 next_poll_at=utcnow() - timedelta(seconds=1)) for i in range(3)]
    k100_fake.scenarios = {shipments[0].tracking_number: "delivered"}
    with caplog.at_level(logging.WARNING):
        summary = polling.poll_once(db_session, config)
    assert (summary.claimed, summary.polled, summary.failed) == (3, 3, 0)
    db_session.expire_all()
    assert shipments[0].status == ShipmentStatus.DELIVERED
    assert db_session.scalar(select(func.count()).select_from(TrackingEvent)
                             .where(TrackingEvent.shipment_id == shipments[0].id)) == 7
    assert any("Redis unreachable" in r.getMessage() for r in caplog.records)


def test_healthz_reports_each_dependency(app, client, db_session):
    health.record_heartbeat(db_session)
    db_session.flush()
    body = client.get("/healthz").json
    assert body["status"] == "ok" and body["scheduler"]["status"] == "ok" and body["redis"] == "not configured"
    health.record_heartbeat(db_session, now=utcnow() - timedelta(hours=1))
    body = client.get("/healthz").json
    assert body["status"] == "degraded" and body["scheduler"]["status"] == "stale"


# ------------------------------------------------------------------ pushes of odd shapes
@pytest.fixture
def push_config(app, monkeypatch):
    for key, value in {"KUAIDI100_KEY": k100.KEY, "KUAIDI100_CUSTOMER": k100.CUSTOMER,
                       "KUAIDI100_SALT": k100.SALT}.items():
        monkeypatch.setitem(app.config, key, value)


def signed_k100(param) -> bytes:
    from urllib.parse import urlencode
    text = json.dumps(param, ensure_ascii=False)
    return urlencode({"param": text, "sign": k100._md5u(text + k100.SALT)}).encode()


@pytest.mark.parametrize("param", [
    [],  # a JSON list
    {"status": "polling", "lastResult": {"nu": "YT3100000000001", "com": "yuantong", "state": "0", "status": "200",
                                         "data": [{"time": "yesterday", "ftime": "yesterday", "context": "x"}]}},
    {"status": "polling", "lastResult": "nothing"},
    {"status": "polling", "lastResult": {"nu": ["YT3100000000001"], "data": {"a": 1}}},
])
def test_signed_pushes_of_odd_shapes_are_400_and_change_nothing(client, db_session, push_config, create_shipment,
                                                                param):
    shipment = create_shipment(carrier="yto", provider="kuaidi100", tracking_number="YT3100000000001")
    before = shipment.status
    response = client.post("/api/v1/integrations/kuaidi100/push", data=signed_k100(param),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and "格式" in response.json["message"], response.get_data(as_text=True)
    db_session.expire_all()
    assert shipment.status == before and shipment.last_event_at is None


# ------------------------------------------------------------------ formula injection
FORMULAS = ['=HYPERLINK("http://evil.example","点我")', "+1+2", "-3+4", "@SUM(A1)", "\tx", "\rx"]


def test_seller_export_writes_formulas_as_text(client, db_session, create_shipment, member):
    for i, text in enumerate(FORMULAS):
        create_shipment(organisation=member.organisation, order_ref=text, batch_label="=1+2",
                        tracking_number=f"SBX00000007{i:02d}")
    login(client, member)
    response = client.get("/seller/export.xlsx", query_string={"label": "=1+2"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    # (XLSX keeps no bare CR: "\rx" comes back as "\nx", still text)
    assert {c.value for c in cells} >= (set(FORMULAS) - {"\rx"}) | {"=1+2"}
    assert all(c.data_type == "s" for c in cells)


def test_report_exports_make_formulas_inert():
    table = exports.Table(title="=1+2", note="@x", headers=["项目"], rows=[[text] for text in FORMULAS],
                          totals=None, filename="t")
    body = exports.to_csv(table).decode("utf-8-sig")
    assert "\n'=1+2" in "\n" + body and "'=HYPERLINK" in body and "'+1+2" in body and "'@SUM" in body
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(table))).active
    values = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type == "s" for c in values)
    assert {c.value for c in values} >= set(FORMULAS) - {"\rx"}
