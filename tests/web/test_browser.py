"""The pages in a real browser (Debian's Chromium through Playwright), served by a
real server on a database this module prepares and commits. Every request that
is not to the local server is refused, so the pages prove they are self-contained."""
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from flask_migrate import upgrade
from playwright.sync_api import expect

from shipments import create_app
from shipments.extensions import db
from shipments.models import Organisation, Shipment, TrackingEvent
from shipments.models.enums import EventSource, ShipmentStatus
from shipments.services import demo
from tests.live_server import serving
from tests.web.conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)"),
]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
FIRST_LOAD_BUDGET = 200 * 1024
SELLER = "yuexiang-live"  # demo logins (services/demo.py)
COOP = "pearl-coop"


def _seed_seller_session(session) -> None:
    seller = session.query(Organisation).filter_by(name="越乡好物直播间").one()
    now = datetime.now(timezone.utc)
    plan = [(ShipmentStatus.PENDING, {"pickup_overdue_at": now}), (ShipmentStatus.PENDING, {}),
            (ShipmentStatus.IN_TRANSIT, {}), (ShipmentStatus.IN_TRANSIT, {"late_flagged_at": now}),
            (ShipmentStatus.OUT_FOR_DELIVERY, {}), (ShipmentStatus.AVAILABLE_FOR_PICKUP, {}),
            (ShipmentStatus.DELIVERED, {}), (ShipmentStatus.EXCEPTION, {"substatus": "refused"})]
    for i, (status, extra) in enumerate(plan, start=1):
        session.add(Shipment(carrier="sandbox", provider="sandbox", tracking_number=f"SBX77000000{i:02d}",
                             organisation=seller, batch_label="11-20 晚场直播", status=status,
                             order_ref=f"DY2026112000{i:02d}", registered_at=now - timedelta(hours=30 - i), **extra))


def _seed_buyer_parcel(session) -> None:
    coop = session.query(Organisation).filter_by(name="诸暨山下湖珍珠专业合作社").one()
    start = datetime(2026, 11, 20, 1, 0, tzinfo=timezone.utc)
    parcel = Shipment(carrier="sandbox", provider="sandbox", tracking_number="SBX8800000001", organisation=coop,
                      status=ShipmentStatus.OUT_FOR_DELIVERY, registered_at=start, picked_up_at=start,
                      destination_province_code="440000", destination_city="深圳市", phone_last4="1357",
                      order_ref="DY-PRIVATE-1")
    session.add(parcel)
    steps = [(0, ShipmentStatus.IN_TRANSIT, "诸暨市", "【诸暨市】山下湖村级快递服务站已揽收"),
             (6, ShipmentStatus.IN_TRANSIT, "杭州市", "快件已到达【杭州转运中心】"),
             (20, ShipmentStatus.IN_TRANSIT, "深圳市", "快件已到达【深圳转运中心】"),
             (26, ShipmentStatus.OUT_FOR_DELIVERY, "深圳市", "快递员王师傅 13912345678 正在为您派件")]
    for hours, status, where, text in steps:
        session.add(TrackingEvent(shipment=parcel, occurred_at=start + timedelta(hours=hours), status=status,
                                  location=where, description=text, source=EventSource.DEMO, dedupe_key=str(hours)))


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The app on a real socket, on its own committed SQLite database with the demo data."""
    folder = tmp_path_factory.mktemp("browser")
    app = create_app({"TESTING": True, "SECRET_KEY": "browser-test", "SCHEDULER_IN_PROCESS": False,
                      "DATABASE_URL": f"sqlite:///{folder / 'browser.db'}", "UPLOAD_FOLDER": str(folder / "uploads"),
                      "WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        demo.load_demo(db.session)
        _seed_seller_session(db.session)
        _seed_buyer_parcel(db.session)
        db.session.commit()
    with serving(app) as url:
        yield url


class Guard:
    """Aborts every request that is not to the local server, and remembers them."""

    def __init__(self, base_url: str):
        self.host = urlsplit(base_url).netloc
        self.refused: list[str] = []

    def __call__(self, route):
        url = route.request.url
        if urlsplit(url).netloc == self.host:
            route.continue_()
        else:
            self.refused.append(url)
            route.abort()


@pytest.fixture
def open_context(browser, live_server):
    """New browser contexts (desktop or phone) with the off-site guard; checks it at the end."""
    contexts, guards = [], []

    def make(**options):
        context = browser.new_context(base_url=live_server, locale="zh-CN", **options)
        guard = Guard(live_server)
        context.route("**/*", guard)
        contexts.append(context)
        guards.append(guard)
        return context
    yield make
    for context in contexts:
        context.close()
    assert [url for guard in guards for url in guard.refused] == [], "pages asked for off-site resources"


def log_in(page, username):
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", demo.DEMO_PASSWORD)
    page.click("form button[type=submit] >> text=登录")
    page.wait_for_load_state()


def test_buyer_looks_up_a_parcel_on_a_phone(open_context, screenshots):
    page = open_context(**PHONE).new_page()
    page.goto("/track")
    page.fill("input[name=number]", "sbx 8800 0000 01")
    page.click("button[type=submit] >> text=查询")
    page.wait_for_url("**/t/SBX8800000001")
    # Registered with the phone's digits: the timeline needs them (services/public_tracking.py).
    page.fill("input[name=phone_last4]", "1357")
    with page.expect_navigation():
        page.press("input[name=phone_last4]", "Enter")
    status = page.get_by_test_id("status")
    assert status.inner_text() == "派送中"
    events = page.locator("[data-testid=timeline] li")
    assert events.count() == 4
    assert "139******78" in events.first.inner_text()
    body = page.content()
    assert "13912345678" not in body and "DY-PRIVATE-1" not in body and "1357" not in body
    assert page.get_by_test_id("share-link").input_value().endswith("/t/SBX8800000001")
    # The page fits the phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=screenshots / "tracking-phone.png", full_page=True)

    # First load of the shareable link, in a fresh context (empty cache): what goes over the wire.
    fresh = open_context(**PHONE).new_page()
    finished = []
    fresh.on("requestfinished", lambda request: finished.append(request))
    fresh.goto("/t/SBX8800000001", wait_until="networkidle")
    sizes = {request.url: request.sizes() for request in finished}
    transferred = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes.values())
    print(f"tracking page first load in Chromium: {transferred / 1024:.1f} KB in {len(sizes)} requests: "
          + ", ".join(f"{urlsplit(u).path} {s['responseBodySize']}" for u, s in sizes.items()))
    assert any(url.endswith("/t/SBX8800000001") for url in sizes) and any("pico" in url for url in sizes)
    assert 0 < transferred <= FIRST_LOAD_BUDGET


def test_clerk_logs_in_uploads_a_file_with_errors_and_sees_them(open_context, screenshots):
    page = open_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(page, COOP)
    assert page.url.endswith("/portal/")
    page.goto("/portal/upload")
    csv = ("运单号,快递公司,手机尾号,订单号,件数\n"
           "SBX6600000001,,,A-1,1\n"
           "SF1000000000028,,,A-2,1\n"  # SF without the phone's digits: registered, waits for them
           "12AB,,,A-3,1\n"  # not a tracking number
           "SBX6600000002,,,A-4,zero\n"  # pieces is not a number
           "SBX6600000001,,,A-5,1\n")  # same number as row 2
    page.set_input_files("input[name=file]", files=[{"name": "今日发货.csv", "mimeType": "text/csv",
                                                     "buffer": csv.encode("utf-8")}])
    page.click("button[type=submit] >> text=检查文件")
    page.wait_for_url("**/portal/upload/*")
    rows = page.locator("[data-testid=problems] tbody tr")
    assert rows.count() == 3
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(3)] == ["4", "5", "6"]
    assert "运单号" in rows.nth(0).inner_text() and "重复" in rows.nth(2).inner_text()
    assert page.get_by_test_id("error-count").inner_text() == "3"
    assert page.get_by_test_id("needs-phone-count").inner_text() == "1"
    page.screenshot(path=screenshots / "upload-errors.png", full_page=True)
    with page.expect_download() as download:
        page.click("text=下载错误报告（CSV）")
    with open(download.value.path(), encoding="utf-8-sig") as f:
        report = f.read()
    lines = report.splitlines()  # a summary line, the header, one line per problem row
    assert lines[0] == "共读取 5 行，跳过空行 0 行；以下 3 行有问题"
    assert lines[1] == "行号,运单号,快递公司,手机尾号,订单号,件数,列,问题" and len(lines) == 5
    page.click("button >> text=导入 2 票")
    page.wait_for_load_state()
    assert "已导入：新增 2 票。" in page.content()


def test_register_form_suggests_the_carrier_as_the_number_is_typed(open_context):
    page = open_context().new_page()
    log_in(page, COOP)
    page.goto("/portal/register")
    page.locator("input[name=number]").press_sequentially("SF1000000000036", delay=10)
    expect(page.locator("select[name=carrier]")).to_have_value("sf")  # no eval: the CSP forbids it
    assert "手机尾号" in page.locator("#carrier-suggestion").inner_text()


def test_seller_checks_a_livestream_batch(open_context, screenshots):
    page = open_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(page, SELLER)
    page.goto("/seller/")
    # The demo seller has later sessions of its own: pick the one this test prepared from the list.
    page.click("text=11-20 晚场直播")
    batch = page.get_by_test_id("batch").first
    assert "11-20 晚场直播" in batch.locator("h2").inner_text()
    assert "超时未揽收：1" in batch.get_by_test_id("pickup-overdue").inner_text()
    counts = {g: batch.locator(f"td[data-group={g}]").inner_text() for g in
              ("awaiting_pickup", "in_transit", "out_for_delivery", "at_station", "delivered", "exception")}
    assert counts == {"awaiting_pickup": "2", "in_transit": "2", "out_for_delivery": "1", "at_station": "1",
                      "delivered": "1", "exception": "1"}
    first_rows = batch.locator("[data-testid=parcels] tbody tr")
    assert "超时" in first_rows.nth(0).inner_text()  # late first, then overdue, then the exception
    assert "problem" in first_rows.nth(2).get_attribute("class")
    page.screenshot(path=screenshots / "seller-table.png", full_page=True)

    page.click("summary >> text=查询一场直播的包裹")
    page.fill("input[name=label]", "11-21 早场")
    page.fill("textarea[name=numbers]", "SBX5500000001\nSBX5500000002\nSBX5500000003")
    page.click("button[type=submit] >> text=查询")
    page.wait_for_load_state()
    assert "共 3 个单号：新登记 3 个" in page.get_by_test_id("check-summary").inner_text()
    assert page.locator("[data-testid=parcels] tbody tr").count() == 3
    with page.expect_download() as download:
        page.click("text=导出 Excel")
    assert download.value.suggested_filename.endswith(".xlsx")


def test_switch_language_and_back(open_context):
    page = open_context().new_page()
    page.goto("/track")
    assert page.locator("h1").inner_text() == "查快递"
    page.get_by_test_id("lang-en").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Track a parcel"
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_test_id("lang-zh_Hans_CN").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "查快递"
