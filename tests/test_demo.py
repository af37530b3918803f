"""Demo data: the seed's programs, the "7+31+N" network, idempotent loading."""
import re
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select

from shipments.extensions import db
from shipments.models import Organisation, Program, Route, Station, User
from shipments.models.enums import Role, RouteKind, StationLevel
from shipments.services import demo, network
from tests.web.conftest import create_user, login  # noqa: F401 (create_user is a fixture)


def counts(session):
    return {model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Program, Station, Organisation, User)}


def test_demo_load_twice_adds_nothing(db_session, tmp_path):
    demo.load_demo(db_session, instance_path=str(tmp_path))
    first = counts(db_session)
    demo.load_demo(db_session, instance_path=str(tmp_path))
    assert counts(db_session) == first


def test_demo_programs_have_the_seed_targets(db_session):
    demo.load_demo(db_session)
    targets = dict(db_session.execute(select(Program.name, Program.target_pieces)).all())
    assert targets["诸暨珍珠千万件金牌寄递项目"] == 10_000_000
    assert targets["新昌茶叶百万件寄递项目"] == 1_000_000
    assert targets["上虞杨梅十万件寄递项目"] == 100_000
    assert targets["嵊州桃形李十万件寄递项目"] == 100_000
    bayberry = db_session.scalar(select(Program).where(Program.name == "上虞杨梅十万件寄递项目"))
    assert (bayberry.season_start_month, bayberry.season_end_month) == (6, 7)
    assert bayberry.perishable and bayberry.deadline_hours == 48


def test_demo_network_is_seven_plus_thirty_one_plus_villages_and_pingshui_grew(db_session, client, create_user):
    now = datetime(2026, 11, 28, 4, tzinfo=timezone.utc)
    demo.load_demo(db_session, now=now)  # one load for both stories: each costs 10-25 s
    by_level = dict(db_session.execute(select(Station.level, func.count()).group_by(Station.level)).all())
    assert by_level[StationLevel.COUNTY] == 7
    assert by_level[StationLevel.TOWNSHIP] == 31
    assert by_level[StationLevel.VILLAGE] == 1427
    assumed = db_session.scalars(select(Station).where(Station.assumed)).all()
    assert len(assumed) == 1 and assumed[0].level == StationLevel.COUNTY
    village = Station.level == StationLevel.VILLAGE
    townships = db_session.scalar(select(func.count(func.distinct(Station.division_code))).where(village))
    assert townships == 103  # every township has village stations
    cooperating = db_session.scalar(select(func.count()).where(village, Station.post_express.is_(True)))
    assert round(cooperating / 1427 * 100, 2) == 80.31  # the seed: 80.29 %
    routes = dict(db_session.execute(select(Route.kind, func.count()).group_by(Route.kind)).all())
    assert routes == {RouteKind.COMMON_PROSPERITY: 6, RouteKind.PASSENGER_FREIGHT_MAIL: 24}
    fusheng = db_session.scalars(select(Route).where(Route.kind == RouteKind.COMMON_PROSPERITY)).all()
    assert {s.station.division_code for r in fusheng for s in r.stops} == {"330602108"}  # 富盛镇

    # Pingshui's centre: about 700 a day before its new sorting line, about 5,000 after, peak 8,000.
    centre = db_session.scalar(select(Station).where(Station.name == "平水镇共配中心"))
    today = date(2026, 11, 28)
    figures = network.figures.centre_figures(db_session, centre, today - timedelta(days=365), today - timedelta(days=1))
    change = figures.change
    assert change["day"] == today - timedelta(days=network.demo.PINGSHUI_UPGRADE_DAYS_AGO)
    assert 700 <= change["average_before"] < 800 and 5000 <= change["average_after"] < 5600
    assert figures.peak["reported"] == 8000 and figures.peak["day"] > change["day"]
    # On the officials' dashboard.
    login(client, create_user(Role.OFFICIAL))
    page = client.get("/dashboard?as_of=2026-11-28").get_data(as_text=True)
    card = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[page.index('data-testid="network-card"'):]))
    assert "平水镇共配中心" in card and "1,427" in card
    assert f"{change['average_before']:,} → {change['average_after']:,}" in card and "8,000" in card


def test_demo_credentials_are_written_once(db_session, tmp_path):
    demo.load_demo(db_session, instance_path=str(tmp_path))
    text = (tmp_path / "demo_credentials.txt").read_text(encoding="utf-8")
    assert "yx_" in text and demo.DEMO_PASSWORD in text
    assert (tmp_path / "demo_credentials.txt").stat().st_mode & 0o077 == 0
