"""Demo data for the Shaoxing programs (idempotent: keyed on natural names)."""
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from integrations.models import TrackRequest
from integrations.registry import get_provider
from integrations.sandbox import destination_of, make_number
from shipments.db import utcnow
from shipments.models import ApiToken, Division, Organisation, Program, Shipment, Station, TrackingEvent, User
from shipments.models.enums import (
    Channel, Direction, DivisionLevel, EventSource, OrganisationKind, Product, Role, ShipmentStatus, StationKind,
    StationLevel, StopReason,
)
from shipments.services import access, reference, tracking
from shipments.services.network import demo as network_demo
from shipments.services.schedule import PollPolicy

DEMO_PASSWORD = "demo1234"
DEMO_YEAR = 2026

# The seed article's programs; targets of the unnamed Keqiao programs are estimates.
PROGRAMS = [
    ("诸暨珍珠千万件金牌寄递项目", "Zhuji pearls 10M-piece program", Product.PEARL, "330681", 10_000_000, 1, 12, None),
    ("新昌茶叶百万件寄递项目", "Xinchang tea 1M-piece program", Product.TEA, "330624", 1_000_000, 3, 5, None),
    ("上虞杨梅十万件寄递项目", "Shangyu bayberry 100k-piece program", Product.BAYBERRY, "330604", 100_000, 6, 7, 48),
    ("嵊州桃形李十万件寄递项目", "Shengzhou peach-shaped plum 100k-piece program", Product.PEACH_PLUM, "330683",
     100_000, 7, 8, 72),
    ("柯桥平水日铸茶寄递项目", "Keqiao Pingshui Rizhu tea program", Product.TEA, "330603", 50_000, 3, 5, None),
    ("柯桥王坛青梅寄递项目", "Keqiao Wangtan green plum program", Product.GREEN_PLUM, "330603", 30_000, 5, 6, 72),
    ("柯桥稽东香榧寄递项目", "Keqiao Jidong Torreya program", Product.TORREYA, "330603", 50_000, 9, 12, None),
]

# (name, kind, county, programs joined by index into PROGRAMS, login)
ORGANISATIONS = [
    ("诸暨山下湖珍珠专业合作社", OrganisationKind.COOPERATIVE, "330681", [0], "pearl-coop"),
    ("诸暨华东珠宝直播电商有限公司", OrganisationKind.SELLER, "330681", [0], "pearl-live"),
    ("新昌大佛龙井茶叶专业合作社", OrganisationKind.COOPERATIVE, "330624", [1], "tea-coop"),
    ("新昌回山茶农家庭农场", OrganisationKind.FARM, "330624", [1], "tea-farm"),
    ("上虞二都杨梅专业合作社", OrganisationKind.COOPERATIVE, "330604", [2], "bayberry-coop"),
    ("上虞驿亭杨梅家庭农场", OrganisationKind.FARM, "330604", [2], "bayberry-farm"),
    ("嵊州金庭桃形李专业合作社", OrganisationKind.COOPERATIVE, "330683", [3], "plum-coop"),
    ("柯桥平水日铸茶业有限公司", OrganisationKind.ENTERPRISE, "330603", [4], "pingshui-tea"),
    ("柯桥王坛青梅专业合作社", OrganisationKind.COOPERATIVE, "330603", [5], "wangtan-plum"),
    ("柯桥稽东香榧专业合作社", OrganisationKind.COOPERATIVE, "330603", [6], "jidong-torreya"),
    ("越城富盛共富电商服务中心", OrganisationKind.ENTERPRISE, "330602", [], "fusheng-ec"),
    ("越乡好物直播间", OrganisationKind.SELLER, "330602", [0, 1, 6], "yuexiang-live"),
]
AUTHORITY = ("绍兴市邮政管理局", OrganisationKind.AUTHORITY, "330600", "official")
OPERATOR = ("越乡寄递运营中心", OrganisationKind.OPERATOR, "330600", "admin")

# Townships with a co-distribution centre: the article's named towns first.
NAMED_TOWNSHIPS = [
    "330603105", "330603107", "330603109", "330602108", "330681108", "330681109", "330681110",
    "330604109", "330683108", "330683106", "330624104", "330624109", "330624110",
]
TOWNSHIP_CENTRES = 31

DEMO_SHIPMENTS = 3600
RECENT_DAYS = 42
# A few thousand demo parcels against targets of millions would leave every program near 0 %: the demo
# stores each target divided by this (Program.target_scale) and the dashboard says so. Counts are never faked.
DEMO_TARGET_SCALE = 1000
# (program index, share of demo shipments, typical weight kg, typical declared value yuan, share of multi-piece
# waybills). Shares are set so that, at 1:1000, some programs run ahead of pace and some behind.
PROGRAM_MIX = [(0, 0.69, "0.3", 680, 0.40), (1, 0.21, "0.6", 260, 0.15), (2, 0.025, "3.0", 158, 0.15),
               (3, 0.02, "3.0", 128, 0.15), (4, 0.005, "0.6", 220, 0.15), (5, 0.005, "5.0", 98, 0.15),
               (6, 0.008, "0.6", 188, 0.15), (None, 0.035, "1.0", 60, 0.15)]
# Parcels older than this never end stuck in an exception (a real one would have been returned long since).
STUCK_DAYS = 7
CHANNELS = [(Channel.DOUYIN, 38), (Channel.KUAISHOU, 14), (Channel.TAOBAO, 18), (Channel.PINDUODUO, 12),
            (Channel.WECHAT, 10), (Channel.OFFLINE, 5), (Channel.OTHER, 3)]
INBOUND_SHARE = 0.12  # goods flowing into villages (进村)
# Last year's same-period parcels (real rows, delivered): this year's volume is last year's × (1 + growth).
# The seed: Keqiao's tea, green plum and Torreya volumes up over 30 %; the others grew less.
GROWTH = {4: Decimal("0.38"), 5: Decimal("0.36"), 6: Decimal("0.42"), None: Decimal("0.10")}
DEFAULT_GROWTH = Decimal("0.15")
LAST_YEAR_FIRST = 5_000_000  # sandbox numbers of last year's rows start here (this year's: 1 to DEMO_SHIPMENTS)
BEIJING = timezone(timedelta(hours=8))


def load_demo(session: Session, instance_path: str | None = None, now: datetime | None = None) -> dict[str, int]:
    """Load reference and demo data; return row counts per kind."""
    reference.load_divisions(session)
    reference.load_provinces(session)
    _load_stations(session)
    programs = _load_programs(session)
    password_hash = _load_organisations(session, programs)
    network_demo.load_network(session, (now or utcnow()).astimezone(BEIJING).date(), password_hash)
    session.flush()
    _load_shipments(session, programs, now or utcnow())
    _load_last_year(session, programs, now or utcnow())
    token = _ensure_demo_token(session)
    if token and instance_path:
        _save_demo_credentials(Path(instance_path), token)
    counts = {}
    for model in (Division, Station, Program, Organisation, User, ApiToken, Shipment, TrackingEvent):
        counts[model.__tablename__] = session.scalar(select(func.count()).select_from(model))
    return counts


def has_data(session: Session) -> bool:
    """Tell whether any program exists (the demo or real data was loaded)."""
    return session.scalar(select(func.count()).select_from(Program)) > 0


def _get_or_add(session: Session, model, key: dict, **values):
    row = session.scalar(select(model).filter_by(**key))
    if row is None:
        row = model(**key, **values)
        session.add(row)
    return row


def _load_stations(session: Session) -> None:
    counties = session.scalars(
        select(Division).where(Division.level == DivisionLevel.COUNTY).order_by(Division.code)
    ).all()
    for county in counties:
        centre = _get_or_add(session, Station, {"name": f"{county.name}县级快递物流共配中心"},
                             level=StationLevel.COUNTY, kind=StationKind.CO_DISTRIBUTION_CENTRE,
                             division_code=county.code)
        # The name the carriers' scans use (the sandbox's "柯桥分拨中心"): their scans match this centre.
        centre.aliases = centre.aliases or [f"{county.name[:-1]}分拨中心"]
    # The article counts 7 county-level centres for 6 county units: which
    # unit runs two is not stated, so the seventh is marked as an assumption.
    _get_or_add(session, Station, {"name": "绍兴滨海新区县级快递物流共配中心"},
                level=StationLevel.COUNTY, kind=StationKind.CO_DISTRIBUTION_CENTRE, division_code="330602",
                assumed=True, note="文章称7个县级共配中心而绍兴仅6个县级单位，此站为推测")

    townships = session.scalars(
        select(Division).where(Division.level == DivisionLevel.TOWNSHIP).order_by(Division.code)
    ).all()
    by_code = {t.code: t for t in townships}
    chosen = [by_code[c] for c in NAMED_TOWNSHIPS]
    # Then towns (镇/乡, not urban 街道), spread over the counties.
    others = [t for t in townships if t.code not in NAMED_TOWNSHIPS and not t.name.endswith("街道")]
    others.sort(key=lambda t: (int(t.code[-3:]), t.code))
    chosen += others[: TOWNSHIP_CENTRES - len(chosen)]
    for township in chosen:
        _get_or_add(session, Station, {"name": f"{township.name}共配中心"},
                    level=StationLevel.TOWNSHIP, kind=StationKind.CO_DISTRIBUTION_CENTRE,
                    division_code=township.code)
    # Village stations, routes and centre figures: services/network/demo.py.
    session.flush()


def _load_programs(session: Session) -> list[Program]:
    programs = []
    for name, name_en, product, county, target, start, end, deadline in PROGRAMS:
        programs.append(_get_or_add(
            session, Program, {"name": name}, name_en=name_en, product=product, county_code=county,
            year=DEMO_YEAR, target_pieces=target // DEMO_TARGET_SCALE, target_scale=DEMO_TARGET_SCALE,
            season_start_month=start, season_end_month=end,
            perishable=deadline is not None, deadline_hours=deadline,
        ))
    session.flush()
    return programs


def _load_organisations(session: Session, programs: list[Program]) -> str:
    password_hash = None
    for name, kind, county, program_indexes, login in ORGANISATIONS:
        org = _get_or_add(session, Organisation, {"name": name}, kind=kind, county_code=county)
        for index in program_indexes:
            if org not in programs[index].organisations:
                programs[index].organisations.append(org)
        password_hash = password_hash or generate_password_hash(DEMO_PASSWORD)
        _get_or_add(session, User, {"username": login}, organisation=org, display_name=name,
                    password_hash=password_hash, role=Role.MEMBER)
    for (name, kind, county, login), role in ((AUTHORITY, Role.OFFICIAL), (OPERATOR, Role.ADMIN)):
        org = _get_or_add(session, Organisation, {"name": name}, kind=kind, county_code=county)
        password_hash = password_hash or generate_password_hash(DEMO_PASSWORD)
        _get_or_add(session, User, {"username": login}, organisation=org, display_name=name,
                    password_hash=password_hash, role=role)
    return password_hash


def _ensure_demo_token(session: Session) -> str | None:
    """Create the first cooperative's demo token once; return it when new."""
    org = session.scalar(select(Organisation).where(Organisation.name == ORGANISATIONS[0][0]))
    if session.scalar(select(ApiToken).where(ApiToken.organisation_id == org.id, ApiToken.name == "demo")):
        return None
    return access.create_token(session, org, Role.MEMBER, "demo")


def _save_demo_credentials(instance: Path, token: str) -> None:
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "demo_credentials.txt"
    path.write_text(
        f"演示登录 demo login: {ORGANISATIONS[0][4]} / {DEMO_PASSWORD}"
        f"  (官员 official: official / {DEMO_PASSWORD}; 管理员 admin: admin / {DEMO_PASSWORD})\n"
        f"API token ({ORGANISATIONS[0][0]}): {token}\n",
        encoding="utf-8",
    )
    path.chmod(0o600)


def _load_shipments(session: Session, programs: list[Program], now: datetime) -> None:
    """Register sandbox parcels over recent weeks (and in-season for fruit) and
    bring each up to date through the sandbox carrier, as the poller would."""
    numbers = [make_number(i) for i in range(1, DEMO_SHIPMENTS + 1)]
    existing = set(session.scalars(select(Shipment.tracking_number).where(
        Shipment.carrier == "sandbox", Shipment.tracking_number.in_(numbers))))
    if len(existing) == len(numbers):
        return
    orgs = session.scalars(select(Organisation).where(Organisation.kind.not_in(
        [OrganisationKind.AUTHORITY, OrganisationKind.OPERATOR])).order_by(Organisation.id)).all()
    stations = session.scalars(select(Station).order_by(Station.id)).all()
    villages_by_county = {}
    townships_by_county = {}
    for station in stations:
        county = station.division_code[:6]
        if station.level == StationLevel.VILLAGE:
            villages_by_county.setdefault(county, []).append(station)
        elif station.level == StationLevel.TOWNSHIP:
            townships_by_county.setdefault(county, []).append(station)
    provider = get_provider("sandbox", clock=lambda: now)
    settled = get_provider("sandbox", clock=lambda: now, exception_share=0)
    rng = random.Random(20260615)
    new = []
    for number in numbers:
        # Draw every decision for every number so the data do not depend on what exists.
        draw = _draw_shipment(rng, number, programs, orgs, villages_by_county, townships_by_county, now)
        if number in existing:
            continue
        shipment = Shipment(carrier="sandbox", tracking_number=number, provider="sandbox", **draw)
        session.add(shipment)
        new.append(shipment)
    session.flush()
    old = now - timedelta(days=STUCK_DAYS)
    for chosen, batch in ((settled, [s for s in new if s.registered_at < old]),
                          (provider, [s for s in new if s.registered_at >= old])):
        outcomes = chosen.track([TrackRequest("sandbox", s.tracking_number, s.phone_last4, s.registered_at)
                                 for s in batch])
        # One flush for the lot at the end, not one per parcel (each outcome's queries would autoflush
        # the previous parcel's changes): nothing applied here reads another parcel's pending state.
        with session.no_autoflush:
            tracking.apply_track_outcomes(session, zip(batch, outcomes), source=EventSource.DEMO, now=now,
                                          policy=PollPolicy())
    session.flush()


def _year_before(moment: datetime) -> datetime:
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - 1, day=28)


def _load_last_year(session: Session, programs: list[Program], now: datetime) -> None:
    """Last year's parcels: for each program, this year's demo parcels thinned to 1 / (1 + growth), each
    registered the same day a year earlier and delivered in two days, with its pickup and delivery scans.

    Real rows through the same rollup triggers as any registration (no counts are faked), so the network
    view, the assessment and the program table show year-over-year growth. Core inserts, no carrier
    round trip: the rows are history, finished long ago.
    """
    first = make_number(LAST_YEAR_FIRST)
    if session.scalar(select(Shipment.id).where(Shipment.carrier == "sandbox", Shipment.tracking_number == first)):
        return
    copied = ("program_id", "organisation_id", "channel", "direction", "origin_division_code", "origin_station_id",
              "destination_station_id", "destination_province_code", "destination_city", "pieces", "weight_kg",
              "declared_value", "batch_label", "phone_last4", "source")
    table = Shipment.__table__
    this_year = session.execute(
        select(*(table.c[name] for name in (*copied, "tracking_number", "registered_at", "order_ref")))
        .where(table.c.carrier == "sandbox", table.c.tracking_number.between(make_number(1), make_number(DEMO_SHIPMENTS)))
        .order_by(table.c.tracking_number)).mappings().all()
    index_of = {program.id: i for i, program in enumerate(programs)}
    by_program: dict[int | None, list] = {}
    for row in this_year:
        by_program.setdefault(row["program_id"], []).append(row)
    chosen = []
    for program_id, rows in sorted(by_program.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        growth = GROWTH.get(index_of.get(program_id), DEFAULT_GROWTH) if program_id else GROWTH[None]
        # Pieces, as the reports count them: at most this year's / (1 + growth), so growth is at least that.
        budget = int(sum(r["pieces"] for r in rows) / (1 + growth))
        # Spread over the season: every other parcel first, then the rest, until the pieces are reached.
        for row in rows[::2] + rows[1::2]:
            if row["pieces"] <= budget:
                chosen.append(row)
                budget -= row["pieces"]
    shipments, events = [], []
    for n, row in enumerate(chosen):
        number = make_number(LAST_YEAR_FIRST + n)
        registered = _year_before(row["registered_at"])
        picked, delivered = registered + timedelta(hours=3), registered + timedelta(hours=45)
        shipment = {key: row[key] for key in copied}
        shipment.update(
            carrier="sandbox", tracking_number=number, provider="sandbox", order_ref=f"LY{row['order_ref'] or n}"[:64],
            registered_at=registered, picked_up_at=picked,
            first_station_at=delivered, delivered_at=delivered, last_event_at=delivered,
            status=ShipmentStatus.DELIVERED, stop_reason=StopReason.DELIVERED, at_station=False, poll_failures=0,
            subscription_state="none", created_at=registered, updated_at=delivered)
        shipments.append(shipment)
    session.execute(Shipment.__table__.insert(), shipments)
    ids = dict(session.execute(select(Shipment.tracking_number, Shipment.id).where(
        Shipment.carrier == "sandbox", Shipment.tracking_number.in_([s["tracking_number"] for s in shipments]))).all())
    for shipment, row in zip(shipments, chosen):
        # Delivered where it was sent: the city the sandbox gives the parcel's original number.
        city, _ = destination_of(row["tracking_number"])
        for at, status, text, where in (
                (shipment["picked_up_at"], ShipmentStatus.IN_TRANSIT, "【绍兴市】快件已揽收", "绍兴市"),
                (shipment["delivered_at"], ShipmentStatus.DELIVERED, "快件已签收，签收人：本人", city)):
            events.append({"shipment_id": ids[shipment["tracking_number"]], "occurred_at": at, "status": status,
                           "location": where, "description": text, "source": EventSource.DEMO,
                           "dedupe_key": tracking.dedupe_key(at, text), "created_at": at})
    session.execute(TrackingEvent.__table__.insert(), events)


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs)
    return rng.choices(values, weights=weights)[0]


def _draw_shipment(rng, number, programs, orgs, villages_by_county, townships_by_county, now) -> dict:
    index, _, weight, value, multi = _weighted(rng, [(row, row[1]) for row in PROGRAM_MIX])
    program = programs[index] if index is not None else None
    if program is not None and program.organisations:
        org = rng.choice(program.organisations)
    else:
        org = rng.choice(orgs)
    county = program.county_code if program else (org.county_code or "330602")
    registered_at = _registration_time(rng, program, now)
    # The sandbox carrier decides where a parcel is delivered: the destination follows it. Goods flowing
    # into the villages are the ones the carrier delivers in Zhejiang.
    city, province = destination_of(number)
    inbound = rng.random() < INBOUND_SHARE / 0.2 and province == "330000"
    origin = rng.choice(villages_by_county.get(county) or townships_by_county[county])
    destination_station = rng.choice(villages_by_county[county]) if inbound else None
    pieces = rng.randint(2, 8) if rng.random() < multi else 1
    return {
        "program": program, "organisation": org, "registered_at": registered_at,
        "channel": _weighted(rng, CHANNELS),
        "direction": Direction.INBOUND if inbound else Direction.OUTBOUND,
        "origin_division_code": origin.division_code, "origin_station": None if inbound else origin,
        "destination_station": destination_station,
        # An inbound parcel goes to a village station of the county (its city is not the carrier's last hub).
        "destination_province_code": province, "destination_city": None if inbound else city,
        "pieces": pieces,
        "weight_kg": (Decimal(weight) * pieces * Decimal(rng.uniform(0.8, 1.3))).quantize(Decimal("0.001")),
        "declared_value": (Decimal(value) * pieces * Decimal(rng.uniform(0.6, 1.6))).quantize(Decimal("0.01")),
        "order_ref": f"DY{rng.randrange(10 ** 15, 10 ** 16)}",
        "phone_last4": f"{rng.randrange(10000):04d}",
        "batch_label": f"直播场次 {registered_at.astimezone(BEIJING):%m-%d}" if org.kind == OrganisationKind.SELLER else None,
        "next_poll_at": registered_at,
    }



def _registration_time(rng, program: Program | None, now: datetime) -> datetime:
    """Inside the program's season up to now (its last season when out of season), else recent weeks."""
    if program is not None and _in_season(program, now.astimezone(BEIJING).month):
        local = now.astimezone(BEIJING)
        year = local.year - (program.season_start_month > local.month)  # a season wrapping the new year
        start = datetime(year, program.season_start_month, 1, tzinfo=BEIJING)
        span = (now - start).total_seconds()
    elif program is not None:
        start = datetime(now.year, program.season_start_month, 1, tzinfo=BEIJING)
        end_month = program.season_end_month % 12 + 1
        end = datetime(now.year + (end_month == 1), end_month, 1, tzinfo=BEIJING)
        if end > now:
            start, end = start.replace(year=now.year - 1), end.replace(year=end.year - 1)
        span = (end - start).total_seconds()
    else:
        start, span = now - timedelta(days=RECENT_DAYS), RECENT_DAYS * 86400
    # Parcels are handed over during the working day, Beijing time.
    moment = (start + timedelta(seconds=rng.uniform(0, span))).astimezone(BEIJING)
    stamped = moment.replace(hour=rng.randint(8, 19), minute=rng.randint(0, 59), second=0, microsecond=0)
    return min(stamped, now - timedelta(minutes=5)).astimezone(timezone.utc)


def _in_season(program: Program, month: int) -> bool:
    start, end = program.season_start_month, program.season_end_month
    return start <= month <= end if start <= end else month >= start or month <= end
