"""The station page on a throttled phone (CDP network emulation: 400 kbit/s, 400 ms RTT) in Debian's
Chromium: what goes over the wire on the first and a repeat load, and a hand-over made offline that is
recorded once when the phone is back online."""
import threading
from datetime import datetime, timedelta, timezone

import pytest
from flask_migrate import upgrade
from playwright.sync_api import expect
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from shipments import create_app
from shipments.extensions import db
from shipments.models import Organisation, Shipment, Station, StationAction, TrackingEvent, User
from shipments.models.enums import (
    Direction, EventSource, OrganisationKind, Role, ShipmentStatus, StationKind, StationLevel,
)
from shipments.models.network import station_attendants
from shipments.services import reference
from tests.live_server import serving
from tests.web.conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)"),
]

PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
THROTTLE = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}
FIRST_LOAD_BUDGET = 200 * 1024
REPEAT_BUDGET = 20 * 1024
PASSWORD = "station-pass"


class ByteCounter:
    """WSGI middleware: the bytes this server sends (status line, headers and body) per path."""

    def __init__(self, app):
        self.app = app
        self.sent: list[tuple[str, int]] = []
        self.lock = threading.Lock()

    def reset(self) -> None:
        with self.lock:
            self.sent.clear()

    def total(self) -> int:
        with self.lock:
            return sum(n for _, n in self.sent)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        head = []

        def counting_start(status, headers, exc_info=None):
            head.append(len(f"HTTP/1.1 {status}\r\n") + sum(len(f"{k}: {v}\r\n") for k, v in headers) + 2)
            return start_response(status, headers, exc_info)

        body = 0
        result = self.app(environ, counting_start)
        try:
            for chunk in result:
                body += len(chunk)
                yield chunk
        finally:
            if hasattr(result, "close"):
                result.close()  # WSGI: the server closes what the app returned (files!)
        with self.lock:
            self.sent.append((path, (head[0] if head else 0) + body))


@pytest.fixture(scope="module")
def station_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("station")
    app = create_app({"TESTING": True, "SECRET_KEY": "station-test", "SCHEDULER_IN_PROCESS": False,
                      "DATABASE_URL": f"sqlite:///{folder / 'station.db'}", "WTF_CSRF_ENABLED": True,
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        reference.load_divisions(db.session)
        station = Station(name="平水镇村级快递服务站01", level=StationLevel.VILLAGE, kind=StationKind.VILLAGE_STATION,
                          division_code="330603105", brands=["ems", "zto"], post_express=True, attendant_name="王丽")
        org = Organisation(name="绍兴市村级快递服务站", kind=OrganisationKind.OPERATOR)
        user = User(organisation=org, username="station", display_name="王丽", role=Role.MEMBER,
                    password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"))
        db.session.add_all([station, org, user])
        db.session.flush()
        db.session.execute(station_attendants.insert().values(station_id=station.id, user_id=user.id))
        now = datetime.now(timezone.utc)
        for i in range(1, 13):
            db.session.add(Shipment(carrier="sandbox", provider="sandbox", tracking_number=f"SBX90000000{i:02d}",
                                    organisation=org, direction=Direction.INBOUND, destination_station_id=station.id,
                                    phone_last4="2468", status=ShipmentStatus.OUT_FOR_DELIVERY,
                                    registered_at=now - timedelta(hours=20), last_event_at=now - timedelta(hours=2)))
        db.session.commit()
    counter = ByteCounter(app.wsgi_app)
    app.wsgi_app = counter
    with serving(app) as url:
        yield app, counter, url


def recorded(app, number):
    with app.app_context():
        shipment = db.session.scalar(select(Shipment).where(Shipment.tracking_number == number))
        actions = db.session.scalar(select(func.count()).select_from(StationAction)
                                    .where(StationAction.shipment_id == shipment.id))
        events = db.session.scalars(select(TrackingEvent.source).where(TrackingEvent.shipment_id == shipment.id)).all()
        status = shipment.status
        db.session.remove()
        return status, actions, events


def test_station_page_on_a_throttled_phone_and_an_offline_hand_over(browser, station_server, screenshots):
    app, counter, base = station_server
    context = browser.new_context(base_url=base, locale="zh-CN", **PHONE)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=username]", "station")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit] >> text=登录")
    page.wait_for_load_state()

    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", THROTTLE)
    wire = {}
    cdp.on("Network.loadingFinished", lambda e: wire.__setitem__(e["requestId"], e["encodedDataLength"]))

    # First load: the page, its stylesheet and script, and the service worker caching them.
    counter.reset()
    page.goto("/station/", wait_until="networkidle")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_timeout(500)
    first = counter.total()
    first_paths = sorted({p for p, _ in counter.sent})
    print(f"station page first load: {first / 1024:.1f} KB from the server ({first_paths}); "
          f"page target saw {sum(wire.values()) / 1024:.1f} KB")
    assert page.get_by_test_id("inbound").locator("li").count() == 12
    assert "/station/" in first_paths and "/static/station/station.js" in first_paths
    assert 0 < first <= FIRST_LOAD_BUDGET
    page.screenshot(path=screenshots / "station-phone.png", full_page=True)

    # Repeat load: the page from the network, script and stylesheet from the service worker's cache.
    page.reload(wait_until="networkidle")
    counter.reset()
    page.reload(wait_until="networkidle")
    repeat = counter.total()
    print(f"station page repeat load: {repeat / 1024:.1f} KB ({[p for p, _ in counter.sent]})")
    assert [p for p, _ in counter.sent] == ["/station/"]
    assert 0 < repeat <= REPEAT_BUDGET

    # Offline: the hand-over is queued on the phone; nothing reaches the server.
    context.set_offline(True)
    page.get_by_test_id("handover-form").locator("input[name=number]").fill("SBX9000000001")
    page.get_by_test_id("handover-form").locator("input[name=phone_last4]").fill("2468")
    page.get_by_test_id("handover-form").locator("button").click()
    page.get_by_test_id("queue").wait_for(state="visible")
    assert page.locator("#queued").inner_text() == "1"
    assert "联网后" in page.get_by_test_id("message").inner_text()
    assert recorded(app, "SBX9000000001")[:2] == (ShipmentStatus.OUT_FOR_DELIVERY, 0)
    # The page itself still opens offline (from the service worker's cache).
    page.reload()
    assert page.locator("#queued").inner_text() == "1"
    page.screenshot(path=screenshots / "station-phone-offline.png", full_page=True)

    # Back online: the queue is sent and recorded once, as a station event that delivers the parcel.
    context.set_offline(False)
    page.get_by_test_id("queue").wait_for(state="hidden", timeout=15_000)
    assert "SBX9000000001" in page.get_by_test_id("message").inner_text()
    assert recorded(app, "SBX9000000001") == (ShipmentStatus.DELIVERED, 1, [EventSource.STATION])

    # The same queued action sent again (a second tab, a retry): answered as already recorded.
    sent = page.evaluate("""() => {
        const body = {key: 'replay-test-0001', kind: 'arrival', number: 'SBX9000000002',
                      occurred_at: new Date().toISOString()};
        const post = () => fetch(document.body.dataset.actions, {method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json', 'X-Station-Request': '1'}, body: JSON.stringify(body)})
            .then(r => r.json());
        return post().then(a => post().then(b => [a.replayed, b.replayed]));
    }""")
    assert sent == [False, True]
    assert recorded(app, "SBX9000000002") == (ShipmentStatus.AVAILABLE_FOR_PICKUP, 1, [EventSource.STATION])

    # Wrong digits: refused, and the page says so.
    page.get_by_test_id("handover-form").locator("input[name=number]").fill("SBX9000000003")
    page.get_by_test_id("handover-form").locator("input[name=phone_last4]").fill("1111")
    page.get_by_test_id("handover-form").locator("button").click()
    expect(page.get_by_test_id("message")).to_have_class("bad")  # no wait_for_function: the CSP forbids eval
    assert "尾号" in page.get_by_test_id("message").inner_text()
    assert recorded(app, "SBX9000000003")[:2] == (ShipmentStatus.OUT_FOR_DELIVERY, 0)
    context.close()
