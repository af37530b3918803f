"""The officials' county map click-through in Debian's Chromium: a county on the dashboard's map opens the
network view for that county, a township there lists its stations (desktop and phone)."""

import pytest
from flask_migrate import upgrade
from playwright.sync_api import expect
from werkzeug.security import generate_password_hash

from shipments import create_app
from shipments.extensions import db
from shipments.models import Organisation, Station, User
from shipments.models.enums import OrganisationKind, Role, StationKind, StationLevel
from shipments.services import reference
from tests.live_server import serving, wait_for_dashboard
from tests.web.conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)"),
]

PASSWORD = "official-pass"
VIEWPORTS = {"desktop": {"viewport": {"width": 1366, "height": 900}},
             "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}}
KEQIAO_CENTRE = [120.495085, 30.081929]  # the geojson's centre of 柯桥区


@pytest.fixture(scope="module")
def official_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("network")
    app = create_app({"TESTING": True, "SECRET_KEY": "network-test", "SCHEDULER_IN_PROCESS": False,
                      "DATABASE_URL": f"sqlite:///{folder / 'network.db'}", "WTF_CSRF_ENABLED": True,
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        reference.load_divisions(db.session)
        reference.load_provinces(db.session)
        org = Organisation(name="绍兴市邮政管理局", kind=OrganisationKind.AUTHORITY)
        db.session.add_all([
            org, User(organisation=org, username="official", display_name="官员", role=Role.OFFICIAL,
                      password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")),
            Station(name="平水镇王化村快递服务站", level=StationLevel.VILLAGE, kind=StationKind.VILLAGE_STATION,
                    division_code="330603105", attendant_name="王丽")])
        db.session.commit()
    with serving(app) as url:
        yield url


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_county_on_the_map_opens_its_network_view_then_a_township_its_stations(browser, official_server,
                                                                                  screenshots, viewport):
    context = browser.new_context(base_url=official_server, locale="zh-CN", **VIEWPORTS[viewport])
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/login")
    page.fill("input[name=username]", "official")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    page.goto("/dashboard")
    wait_for_dashboard(page)
    box = page.locator("#county-map")
    box.scroll_into_view_if_needed()
    x, y = page.evaluate(
        "c => echarts.getInstanceByDom(document.getElementById('county-map')).convertToPixel({seriesIndex: 0}, c)",
        KEQIAO_CENTRE)
    bounds = box.bounding_box()
    page.screenshot(path=str(screenshots / f"network-map-{viewport}.png"), full_page=False)
    with page.expect_navigation():
        page.mouse.click(bounds["x"] + x, bounds["y"] + y)
    assert "/dashboard/network/" in page.url and "county=330603" in page.url, page.url
    areas = page.get_by_test_id("areas")
    expect(areas).to_contain_text("平水镇")
    page.screenshot(path=str(screenshots / f"network-county-{viewport}.png"), full_page=True)
    with page.expect_navigation():
        areas.get_by_role("link", name="平水镇").click()
    assert "township=330603105" in page.url, page.url
    expect(page.get_by_test_id("stations")).to_contain_text("平水镇王化村快递服务站")
    page.screenshot(path=str(screenshots / f"network-township-{viewport}.png"), full_page=True)
    assert errors == []
    context.close()
