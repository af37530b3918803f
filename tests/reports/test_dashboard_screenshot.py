"""A screenshot of the dashboard with demo data, in Chinese, in headless Debian Chromium.

The app runs on a real server in a thread (werkzeug make_server) over its own
SQLite file, because the browser's requests need committed data. Every
request not to 127.0.0.1 is aborted: the page must work offline.
"""
import random
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from shipments import create_app
from shipments.db import utcnow
from shipments.extensions import db
from shipments.models import Organisation, Program, Shipment, Station
from shipments.models.enums import ShipmentStatus, StationLevel
from shipments.services import demo, reports
from tests.live_server import serving, wait_for_dashboard

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
BJ = reports.BEIJING
AS_OF = datetime(2026, 7, 20).date()

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")]


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {"executable_path": str(CHROMIUM), "headless": True, "args": [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]}


def add_demo_shipments(session, count: int = 1500) -> None:
    """Demo shipments for the demo programs, each in its season up to AS_OF (direct inserts, not the ORM)."""
    rng = random.Random(7)
    programs = session.scalars(select(Program).order_by(Program.id)).all()
    stations = session.scalars(select(Station).where(Station.level == StationLevel.VILLAGE)).all()
    orgs = {p.id: [o.id for o in p.organisations] for p in programs}
    fallback_org = session.scalar(select(Organisation.id))
    provinces = ["310000", "320000", "330000", "110000", "440000", "510000"]
    weights = {p.id: max(1, p.target_pieces // 50_000) for p in programs}
    total_weight = sum(weights.values())
    # Pieces per parcel sized so each program lands between 40 % and 120 % of its prorated target.
    pace = {}
    for p in programs:
        start, end = reports.season_window(p)
        elapsed = min(max((AS_OF - start).days + 1, 0), (end - start).days + 1)
        prorated = reports.prorate(p.target_pieces, elapsed, (end - start).days + 1)
        expected = max(1, count * weights[p.id] // total_weight)
        pace[p.id] = max(1, round(prorated * rng.uniform(0.4, 1.2) / expected))
    rows = []
    for i in range(count):
        program = rng.choices(programs, weights=[weights[p.id] for p in programs])[0]
        start, end = reports.season_window(program)
        end = min(end, AS_OF)
        if end < start:
            continue
        day = start + timedelta(days=rng.randrange((end - start).days + 1))
        registered = datetime(day.year, day.month, day.day, rng.randrange(7, 22), rng.randrange(60), tzinfo=BJ)
        station = rng.choice([s for s in stations if s.division_code.startswith(program.county_code)] or stations)
        picked = registered + timedelta(hours=rng.choice([2, 5, 20, 30])) if rng.random() < 0.93 else None
        delivered = picked + timedelta(hours=rng.choice([20, 30, 40, 52, 70])) if picked and rng.random() < 0.8 else None
        if delivered and delivered.astimezone(BJ).date() > AS_OF:
            delivered = None
        status = (ShipmentStatus.DELIVERED if delivered else ShipmentStatus.PENDING if not picked else
                  rng.choice([ShipmentStatus.IN_TRANSIT, ShipmentStatus.EXCEPTION, ShipmentStatus.RETURNING]))
        rows.append({
            "carrier": rng.choice(["ems", "sf", "zto", "yto", "sto", "yunda", "jtexpress", "jd"]), "provider": "sandbox",
            "tracking_number": f"DEMO{i:08d}", "program_id": program.id,
            "organisation_id": rng.choice(orgs[program.id] or [fallback_org]),
            "channel": rng.choice(["douyin", "taobao", "pinduoduo", "wechat", "offline"]), "direction": "outbound",
            "origin_division_code": station.division_code, "origin_station_id": station.id,
            "destination_province_code": rng.choice(provinces), "pieces": max(1, round(pace[program.id] * rng.uniform(0.5, 1.5))),
            "declared_value": Decimal(rng.randint(3000, 60000)) / 100, "registered_at": registered,
            "picked_up_at": picked, "delivered_at": delivered, "status": status,
            "poll_failures": 0, "at_station": False, "subscription_state": "none",
            "created_at": utcnow(), "updated_at": utcnow(),
        })
    session.execute(insert(Shipment), rows)
    session.flush()


@pytest.fixture
def live_server(tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
                      "SECRET_KEY": "screenshot", "SCHEDULER_IN_PROCESS": False})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        demo.load_demo(db.session)
        add_demo_shipments(db.session)
        reports.refresh_rollups(db.session)
        db.session.commit()
    with serving(app) as url:
        yield url


def test_dashboard_screenshot_in_chinese(live_server, page):
    outside = []

    def guard(route):
        if route.request.url.startswith("http://127.0.0.1"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server}/login?next=/dashboard?as_of={AS_OF.isoformat()}")
    page.fill("input[name=username]", "official")
    page.fill("input[name=password]", demo.DEMO_PASSWORD)
    page.click("main button[type=submit]")  # the header holds the language and logout buttons
    page.wait_for_url("**/dashboard**")
    wait_for_dashboard(page, 15)
    assert page.locator("#program-cards .card").count() == 7
    assert "上虞杨梅十万件寄递项目" in page.content()
    assert page.locator("#county-map svg").count() >= 1  # SVG: no inline styles under the CSP
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / "dashboard-zh.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 50_000
    assert outside == []
    print(f"screenshot: {path}")
