"""Demo data for the Shaoxing programs (idempotent: keyed on natural names)."""
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from shipments.models import ApiToken, Division, Organisation, Program, Station, User
from shipments.models.enums import DivisionLevel, OrganisationKind, Product, Role, StationKind, StationLevel
from shipments.services import access, reference

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
VILLAGE_STATIONS_PER_TOWNSHIP = 5


def load_demo(session: Session, instance_path: str | None = None) -> dict[str, int]:
    """Load reference and demo data; return row counts per kind."""
    reference.load_divisions(session)
    reference.load_provinces(session)
    _load_stations(session)
    programs = _load_programs(session)
    _load_organisations(session, programs)
    session.flush()
    token = _ensure_demo_token(session)
    if token and instance_path:
        _save_demo_credentials(Path(instance_path), token)
    counts = {}
    for model in (Division, Station, Program, Organisation, User, ApiToken):
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
        _get_or_add(session, Station, {"name": f"{county.name}县级快递物流共配中心"},
                    level=StationLevel.COUNTY, kind=StationKind.CO_DISTRIBUTION_CENTRE, division_code=county.code)
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
        for n in range(1, VILLAGE_STATIONS_PER_TOWNSHIP + 1):
            # Every fifth stop sits on one of the 30 passenger-freight-mail lines.
            kind = StationKind.PASSENGER_FREIGHT_MAIL if n == VILLAGE_STATIONS_PER_TOWNSHIP else StationKind.VILLAGE_STATION
            _get_or_add(session, Station, {"name": f"{township.name}村级快递服务站{n:02d}"},
                        level=StationLevel.VILLAGE, kind=kind, division_code=township.code)
    session.flush()


def _load_programs(session: Session) -> list[Program]:
    programs = []
    for name, name_en, product, county, target, start, end, deadline in PROGRAMS:
        programs.append(_get_or_add(
            session, Program, {"name": name}, name_en=name_en, product=product, county_code=county,
            year=DEMO_YEAR, target_pieces=target, season_start_month=start, season_end_month=end,
            perishable=deadline is not None, deadline_hours=deadline,
        ))
    session.flush()
    return programs


def _load_organisations(session: Session, programs: list[Program]) -> None:
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
