"""Demo data: the seed's programs, the "7+31+N" network, idempotent loading."""
import re
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import event, func, select

from shipments.extensions import db
from integrations.sandbox import CITY_PROVINCES
from shipments.models import Organisation, Program, Route, Shipment, Station, TrackingEvent, User
from shipments.models.enums import Role, RouteKind, StationLevel
from shipments.services import demo, network, reports
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
    # Stored at 1:1000 (the demo's few thousand parcels against real targets), said on the dashboard.
    targets = {name: target * scale for name, target, scale in db_session.execute(
        select(Program.name, Program.target_pieces, Program.target_scale)).all()}
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
    statements = []
    listen = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        page = client.get("/dashboard?as_of=2026-11-28").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    # The card shows what the centre reported: a year of scans at it (0.5 s at 10M shipments) is not read.
    assert statements and not [s for s in statements if "tracking_events" in s]
    card = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[page.index('data-testid="network-card"'):]))
    assert "平水镇共配中心" in card and "1,427" in card
    assert f"{change['average_before']:,} → {change['average_after']:,}" in card and "8,000" in card

    # Last year's same-period parcels are real rows: Keqiao's tea, green plum and Torreya grew over 30 %
    # (the seed), and growth shows on the network view and its assessment.
    view = network.officials.network_view(db_session, date(2026, 1, 1), today)
    growth = {p["name"]: p["growth"] for p in view.programs}
    for name in ("柯桥平水日铸茶寄递项目", "柯桥王坛青梅寄递项目", "柯桥稽东香榧寄递项目"):
        assert growth[name] is not None and growth[name] > 30, (name, growth)
    assert all(g is not None and 0 < g < 100 for g in growth.values()), growth
    last_year = select(func.count()).select_from(Shipment).where(Shipment.registered_at < datetime(
        2026, 1, 1, tzinfo=timezone.utc), Shipment.status == "delivered", Shipment.delivered_at.isnot(None))
    assert db_session.scalar(last_year) > 2000
    recent = network.officials.network_view(db_session, today - timedelta(days=29), today)
    keqiao = next(a for a in recent.areas if a.code == "330603")
    assert keqiao.pieces_last_year > 0 and keqiao.growth is not None
    page = client.get("/dashboard/network/?date_from=2026-01-01&date_to=2026-11-28").get_data(as_text=True)
    programs = page[page.index("柯桥稽东香榧寄递项目"):]
    assert f"{growth['柯桥稽东香榧寄递项目']}%" in programs[:400]


def test_demo_credentials_are_written_once(db_session, tmp_path):
    demo.load_demo(db_session, instance_path=str(tmp_path))
    text = (tmp_path / "demo_credentials.txt").read_text(encoding="utf-8")
    assert "yx_" in text and demo.DEMO_PASSWORD in text
    assert (tmp_path / "demo_credentials.txt").stat().st_mode & 0o077 == 0


def test_demo_looks_like_a_mid_season_day(db_session):
    """Some programs ahead of pace and some behind; every delivered parcel is delivered where it was sent."""
    demo.load_demo(db_session)
    as_of = reports.beijing_today()
    pace = {p.name: reports.program_progress(db_session, p, as_of).percent_of_prorated
            for p in db_session.scalars(select(Program))}
    assert any(v is not None and v > 100 for v in pace.values()), pace
    assert any(v is not None and v < 100 for v in pace.values()), pace
    assert all(p.target_scale == demo.DEMO_TARGET_SCALE for p in db_session.scalars(select(Program)))
    last = (select(TrackingEvent.location).where(TrackingEvent.shipment_id == Shipment.id)
            .order_by(TrackingEvent.occurred_at.desc(), TrackingEvent.id.desc()).limit(1).scalar_subquery())
    delivered = db_session.execute(select(Shipment.destination_province_code, Shipment.destination_city, last)
                                   .where(Shipment.status == "delivered")).all()
    assert len(delivered) > 1000
    wrong = [row for row in delivered if CITY_PROVINCES.get(row[2]) != row[0] or row[1] not in (None, row[2])]
    assert wrong == []
    # Durations: nothing picked up months ago is still on its way.
    hours = [h for _, h in db_session.execute(reports.late_perishables(db_session, None)).all()]
    assert hours and max(hours) < 24 * 30, max(hours)
