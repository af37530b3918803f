"""The seed article's network as demo data: 7 + 31 + 1,427 stations over the 103
townships, 30 客货邮 routes (Fusheng's 6 共富邮路 among them), 邮快合作 at about
80 % of village stations, centre capacities and daily volumes (Pingshui: about
700 a day before its new sorting line, about 5,000 after, peak 8,000).

Idempotent and keyed on names; bulk inserts keep `flask demo load` fast.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from shipments.models import CentreCapacity, CentreDay, Division, Organisation, Route, RouteStop, Station, User
from shipments.models.enums import DivisionLevel, OrganisationKind, Role, RouteKind, StationKind, StationLevel
from shipments.models.network import station_attendants

VILLAGE_STATIONS = 1427
POST_EXPRESS_RATE = 0.8029  # 邮快合作覆盖率 80.29 %
ROUTES = 30
FUSHENG = "330602108"  # 越城区富盛镇: 6 共富邮路
PINGSHUI = "330603105"  # 柯桥区平水镇
PINGSHUI_CENTRE = "平水镇共配中心"
# Pingshui: the new sorting line came into use this many days before the demo's today.
PINGSHUI_UPGRADE_DAYS_AGO = 150
PINGSHUI_BEFORE, PINGSHUI_AFTER, PINGSHUI_PEAK = 700, 5000, 8000
PINGSHUI_CAPACITY_BEFORE, PINGSHUI_CAPACITY_AFTER = 1000, 8500
CENTRE_DAYS = 60  # daily volumes of the other centres
BRANDS = ["ems", "chinapost", "zto", "yto", "sto", "yunda", "jtexpress", "sf", "jd"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛"
STATION_ORG = "绍兴市村级快递服务站"
# Demo logins of village station attendants: (login, township code, station number).
ATTENDANT_LOGINS = [("station", PINGSHUI, 1), ("station-fusheng", FUSHENG, 1)]
BEIJING = timezone(timedelta(hours=8))


def village_counts(townships: list[Division]) -> dict[str, int]:
    """Village stations per township: 8 per urban 街道, the rest shared by the towns (镇/乡)."""
    streets = [t for t in townships if t.name.endswith("街道")]
    towns = [t for t in townships if not t.name.endswith("街道")]
    counts = {t.code: 8 for t in streets}
    rest = VILLAGE_STATIONS - 8 * len(streets)
    for i, town in enumerate(sorted(towns, key=lambda t: t.code)):
        counts[town.code] = rest // len(towns) + (1 if i < rest % len(towns) else 0)
    return counts


def village_name(township: Division, n: int) -> str:
    return f"{township.name}村级快递服务站{n:02d}"


def load_network(session: Session, today: date, password_hash: str) -> None:
    """Add the demo network's village stations, details, attendants, routes and centre figures."""
    rng = random.Random(7311427)
    townships = session.scalars(select(Division).where(Division.level == DivisionLevel.TOWNSHIP)
                                .order_by(Division.code)).all()
    existing = {s.name: s for s in session.scalars(select(Station))}
    counts = village_counts(townships)
    new = []
    for township in townships:
        for n in range(1, counts[township.code] + 1):
            name = village_name(township, n)
            if name not in existing:
                station = Station(name=name, level=StationLevel.VILLAGE, kind=StationKind.VILLAGE_STATION,
                                  division_code=township.code)
                new.append(station)
                existing[name] = station
    session.add_all(new)
    villages = sorted((s for s in existing.values() if s.level == StationLevel.VILLAGE),
                      key=lambda s: (s.division_code, s.name))
    cooperating = set(rng.sample(range(len(villages)), round(POST_EXPRESS_RATE * VILLAGE_STATIONS)))
    for i, station in enumerate(villages):
        station.post_express = i in cooperating
        station.brands = sorted(rng.sample(BRANDS, rng.randint(2, 6)) + (["chinapost"] if i in cooperating else []))
        station.brands = sorted(set(station.brands))
        station.attendant_name = station.attendant_name or rng.choice(SURNAMES) + rng.choice("丽芳红英华明军伟强平")
    centres = [s for s in existing.values() if s.kind == StationKind.CO_DISTRIBUTION_CENTRE]
    for centre in centres:
        centre.brands = BRANDS
        if centre.daily_capacity is None:
            centre.daily_capacity = 12000 if centre.level == StationLevel.COUNTY else 3000
    session.flush()
    _attendants(session, existing, townships, password_hash)
    _routes(session, existing, townships, rng)
    _centre_figures(session, centres, today, rng)


def _attendants(session: Session, stations: dict[str, Station], townships, password_hash: str) -> None:
    org = session.scalar(select(Organisation).where(Organisation.name == STATION_ORG))
    if org is None:
        # Runs the stations, ships nothing itself (the demo draws no parcels for it).
        org = Organisation(name=STATION_ORG, kind=OrganisationKind.OPERATOR, county_code="330600")
        session.add(org)
        session.flush()
    by_code = {t.code: t for t in townships}
    for login, code, n in ATTENDANT_LOGINS:
        station = stations[village_name(by_code[code], n)]
        user = session.scalar(select(User).where(User.username == login))
        if user is None:
            user = User(organisation=org, username=login, display_name=f"{station.name} {station.attendant_name}",
                        password_hash=password_hash, role=Role.MEMBER)
            session.add(user)
            session.flush()
            session.execute(station_attendants.insert().values(station_id=station.id, user_id=user.id))


def _routes(session: Session, stations: dict[str, Station], townships, rng: random.Random) -> None:
    if session.scalar(select(Route.id).limit(1)) is not None:
        return
    by_township: dict[str, list[Station]] = {}
    for station in stations.values():
        if station.level == StationLevel.VILLAGE:
            by_township.setdefault(station.division_code, []).append(station)
    centre_of = {s.division_code: s for s in stations.values() if s.level == StationLevel.TOWNSHIP}
    names = {t.code: t for t in townships}
    plan = [(FUSHENG, RouteKind.COMMON_PROSPERITY, f"富盛共富邮路{i}号线") for i in range(1, 7)]
    others = sorted(code for code in centre_of if code != FUSHENG)
    for i in range(ROUTES - len(plan)):
        code = others[i % len(others)]
        plan.append((code, RouteKind.PASSENGER_FREIGHT_MAIL, f"{names[code].name}客货邮融合线路{i // len(others) + 1}号线"))
    for code, kind, name in plan:
        villages = sorted(by_township.get(code, []), key=lambda s: s.name)
        stops = [centre_of[code]] if code in centre_of else []
        stops += rng.sample(villages, min(len(villages), rng.randint(4, 6)))
        route = Route(name=name, kind=kind, county_code=code[:6], departures=rng.choice(
            ["07:00 13:30", "07:30 14:00", "06:50 12:40 16:30", "08:00 15:00"]),
            operator="富盛邮政支局" if kind == RouteKind.COMMON_PROSPERITY else f"{names[code].name}客运站")
        for position, station in enumerate(stops, start=1):
            station.kind = StationKind.PASSENGER_FREIGHT_MAIL if station.level == StationLevel.VILLAGE else station.kind
            route.stops.append(RouteStop(position=position, station_id=station.id, minutes=(position - 1) * 12))
        session.add(route)
    session.flush()


def pingshui_volume(day_offset: int, rng: random.Random) -> int:
    """Pingshui's sorted parcels `day_offset` days before today (0 = yesterday)."""
    if day_offset >= PINGSHUI_UPGRADE_DAYS_AGO:
        return int(PINGSHUI_BEFORE * rng.uniform(0.9, 1.15))
    return int(PINGSHUI_AFTER * rng.uniform(0.92, 1.12))


def _centre_figures(session: Session, centres: list[Station], today: date, rng: random.Random) -> None:
    if session.scalar(select(CentreDay.station_id).limit(1)) is not None:
        return
    rows, capacities = [], []
    for centre in sorted(centres, key=lambda s: s.name):
        if centre.name == PINGSHUI_CENTRE:
            upgrade = today - timedelta(days=PINGSHUI_UPGRADE_DAYS_AGO)
            capacities += [
                CentreCapacity(station_id=centre.id, effective_from=today - timedelta(days=365 * 2),
                               daily_capacity=PINGSHUI_CAPACITY_BEFORE, note="人工分拣"),
                CentreCapacity(station_id=centre.id, effective_from=upgrade,
                               daily_capacity=PINGSHUI_CAPACITY_AFTER, note="分拣设备升级"),
            ]
            centre.daily_capacity = PINGSHUI_CAPACITY_AFTER
            # The busiest day after the upgrade (a festival sale) reaches the article's peak.
            peak = rng.randrange(7, PINGSHUI_UPGRADE_DAYS_AGO - 7)
            for offset in range(1, 366):
                pieces = PINGSHUI_PEAK if offset == peak else pingshui_volume(offset, rng)
                rows.append({"station_id": centre.id, "day": today - timedelta(days=offset), "sorted_pieces": pieces,
                             "source": "demo"})
            continue
        capacities.append(CentreCapacity(station_id=centre.id, effective_from=today - timedelta(days=365 * 2),
                                         daily_capacity=centre.daily_capacity))
        for offset in range(1, CENTRE_DAYS + 1):
            rows.append({"station_id": centre.id, "day": today - timedelta(days=offset),
                         "sorted_pieces": int(centre.daily_capacity * rng.uniform(0.35, 0.8)), "source": "demo"})
    session.add_all(capacities)
    now = datetime.now(timezone.utc)
    session.execute(CentreDay.__table__.insert(), [{**r, "reported_at": now} for r in rows])
