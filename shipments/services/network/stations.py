"""Stations of the 7+31+N network: listing, the census import, attendants."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from integrations.carriers import CARRIERS
from shipments.models import Division, Station
from shipments.models.enums import DivisionLevel, StationKind, StationLevel
from shipments.models.network import station_attendants
from shipments.services.shipments import CARRIER_WORDS, has_control_chars

MAX_CENSUS_ROWS = 20_000

LEVEL_WORDS = {"县级": StationLevel.COUNTY, "县": StationLevel.COUNTY, "乡镇": StationLevel.TOWNSHIP,
               "镇级": StationLevel.TOWNSHIP, "村级": StationLevel.VILLAGE, "村": StationLevel.VILLAGE}
KIND_WORDS = {"共配中心": StationKind.CO_DISTRIBUTION_CENTRE, "村级快递服务站": StationKind.VILLAGE_STATION,
              "服务站": StationKind.VILLAGE_STATION, "客货邮站点": StationKind.PASSENGER_FREIGHT_MAIL,
              "客货邮": StationKind.PASSENGER_FREIGHT_MAIL}
YES = {"是", "有", "y", "yes", "true", "1"}
NO = {"否", "无", "n", "no", "false", "0", ""}
# Census column -> accepted headers (compared lower-case).
CENSUS_HEADERS = {
    "census_code": ("census_code", "站点编码", "普查编码", "编码"),
    "name": ("name", "站点名称", "名称"),
    "level": ("level", "层级", "级别"),
    "kind": ("kind", "类型", "站点类型"),
    "division": ("division", "township", "乡镇", "所属乡镇", "乡镇街道", "区县"),
    "latitude": ("latitude", "纬度", "lat"),
    "longitude": ("longitude", "经度", "lng", "lon"),
    "brands": ("brands", "服务品牌", "品牌", "快递品牌"),
    "post_express": ("post_express", "邮快合作"),
    "attendant_name": ("attendant_name", "负责人", "站长", "联系人"),
    "daily_capacity": ("daily_capacity", "日处理能力", "日分拣能力"),
    "aliases": ("aliases", "别名", "别称", "其他名称"),
}
_HEADER_KEY = {h.lower(): key for key, headers in CENSUS_HEADERS.items() for h in headers}


class StationError(ValueError):
    """A station value that breaks a rule (field, message)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


def list_stations(level: StationLevel | None = None, county: str | None = None, township: str | None = None,
                  after_id: int | None = None) -> Select:
    """Select stations by id (keyset), filtered by level, county or township."""
    query = select(Station)
    if level is not None:
        query = query.where(Station.level == level)
    if township:
        query = query.where(Station.division_code == township)
    elif county:
        query = query.where(func.substr(Station.division_code, 1, 6) == county)
    if after_id is not None:
        query = query.where(Station.id > after_id)
    return query.order_by(Station.id)


def stations_of_user(user_id: int) -> Select:
    """Select the stations a user attends."""
    return (select(Station).join(station_attendants, station_attendants.c.station_id == Station.id)
            .where(station_attendants.c.user_id == user_id).order_by(Station.id))


def parse_brands(text: str) -> list[str]:
    """Carrier codes from a list such as 'EMS、中通 圆通' (unknown words raise StationError)."""
    codes = []
    for word in text.replace("、", " ").replace(",", " ").replace("，", " ").replace("/", " ").split():
        code = CARRIER_WORDS.get(word.lower())
        if code is None or code not in CARRIERS:
            raise StationError("brands", f"未知的快递品牌：{word[:20]} (unknown carrier)")
        codes.append(code)
    return sorted(set(codes))


def _coordinate(text: str, field_name: str, low: int, high: int) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise StationError(field_name, "应为数字 (must be a number)") from None
    if not value.is_finite() or not low <= value <= high:
        raise StationError(field_name, f"应在 {low}–{high} 之间 (out of range)")
    return value.quantize(Decimal("0.000001"))


def clean_station(raw: dict, divisions: dict[str, str]) -> dict:
    """Check one station's values (from the API or a census row); return model columns."""
    values = {}
    for key in ("census_code", "name", "attendant_name"):
        text = str(raw.get(key) or "").strip()
        limit = {"census_code": 30, "name": 80, "attendant_name": 40}[key]
        if len(text) > limit:
            raise StationError(key, f"过长（最多 {limit} 个字符） (too long)")
        if has_control_chars(text):
            raise StationError(key, "含有控制字符 (control characters)")
        values[key] = text or None
    if not values["name"]:
        raise StationError("name", "必填 (required)")
    level_text = str(raw.get("level") or "").strip()
    level = LEVEL_WORDS.get(level_text) or next((lv for lv in StationLevel if lv.value == level_text.lower()), None)
    if level is None:
        raise StationError("level", "层级应为 县级/乡镇/村级 (county, township or village)")
    kind_text = str(raw.get("kind") or "").strip()
    if kind_text:
        kind = KIND_WORDS.get(kind_text) or next((k for k in StationKind if k.value == kind_text.lower()), None)
        if kind is None:
            raise StationError("kind", "类型应为 共配中心/村级快递服务站/客货邮站点")
    else:
        kind = StationKind.VILLAGE_STATION if level == StationLevel.VILLAGE else StationKind.CO_DISTRIBUTION_CENTRE
    if (level == StationLevel.VILLAGE) == (kind == StationKind.CO_DISTRIBUTION_CENTRE):
        raise StationError("kind", "县级、乡镇站点是共配中心，村级站点不是 (centres are county or township level)")
    division = divisions.get(str(raw.get("division") or raw.get("division_code") or "").strip())
    if division is None:
        raise StationError("division", "未知的区县或乡镇 (unknown county or township)")
    brands = raw.get("brands") or ""
    values["brands"] = parse_brands(" ".join(brands) if isinstance(brands, list) else str(brands))
    flag = raw.get("post_express")
    flag_text = str(flag).strip().lower() if flag is not None else ""
    if isinstance(flag, bool):
        values["post_express"] = flag
    elif flag_text in YES or flag_text in NO:
        values["post_express"] = flag_text in YES
    else:
        raise StationError("post_express", "应为 是 或 否 (yes or no)")
    values["latitude"] = _coordinate(str(raw.get("latitude") or "").strip(), "latitude", -90, 90)
    values["longitude"] = _coordinate(str(raw.get("longitude") or "").strip(), "longitude", -180, 180)
    capacity = str(raw.get("daily_capacity") or "").strip()
    if capacity:
        if not capacity.isdigit() or not 0 < int(capacity) <= 10_000_000:
            raise StationError("daily_capacity", "应为正整数 (a positive whole number)")
        values["daily_capacity"] = int(capacity)
    if "aliases" in raw:  # only when given: a census without the column keeps the names carriers use
        values["aliases"] = parse_aliases(raw["aliases"])
    values.update(level=level, kind=kind, division_code=division)
    return values


MAX_ALIASES = 10


def parse_aliases(given) -> list[str]:
    """Other names carriers' scans use for a station ('王化村、王化'): at most 10 of 2-40 characters."""
    words = given if isinstance(given, list) else re.split(r"[、,，/;；\s]+", str(given or ""))
    aliases = []
    for word in words:
        word = str(word).strip()
        if not word:
            continue
        if not 2 <= len(word) <= 40 or has_control_chars(word):
            raise StationError("aliases", f"别名应为 2–40 个字：{word[:20]} (an alias has 2-40 characters)")
        if word not in aliases:
            aliases.append(word)
    if len(aliases) > MAX_ALIASES:
        raise StationError("aliases", f"最多 {MAX_ALIASES} 个别名 (at most {MAX_ALIASES} aliases)")
    return aliases


def division_lookup(session: Session) -> dict[str, str]:
    """County and township codes and names -> code."""
    lookup = {}
    for code, name, level in session.execute(select(Division.code, Division.name, Division.level)):
        if level != DivisionLevel.CITY:
            lookup[code] = code
            lookup.setdefault(name, code)
    return lookup


def save_station(session: Session, values: dict) -> tuple[Station, bool]:
    """Insert or update a station keyed on its census code, else its name; return (station, created)."""
    station = None
    if values.get("census_code"):
        station = session.scalar(select(Station).where(Station.census_code == values["census_code"]))
    if station is None:
        station = session.scalar(select(Station).where(Station.name == values["name"]))
    created = station is None
    if created:
        station = Station()
        session.add(station)
    for key, value in values.items():
        setattr(station, key, value)
    session.flush()
    return station, created


@dataclass
class CensusReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    problems: list[dict] = field(default_factory=list)


def import_census(session: Session, stream, commit) -> CensusReport:
    """Import a census CSV (UTF-8 or GBK): rows with problems are reported by row and field, the rest saved.

    Each valid row is saved in its own savepoint; `commit` is called at the end.
    """
    data = stream.read()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise StationError("file", "无法读取文件：请上传 UTF-8 或 GBK 编码的 CSV (unreadable CSV)")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise StationError("file", "文件为空 (empty file)")
    keys = [_HEADER_KEY.get(h.strip().lower()) for h in header]
    if "name" not in keys or "level" not in keys or "division" not in keys:
        raise StationError("file", "需要表头：站点名称、层级、所属乡镇 (name, level and division columns are needed)")
    divisions = division_lookup(session)
    report = CensusReport()
    for row_no, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        report.rows += 1
        if report.rows > MAX_CENSUS_ROWS:
            raise StationError("file", f"超过 {MAX_CENSUS_ROWS} 行 (too many rows)")
        raw = {key: cell for key, cell in zip(keys, cells) if key}
        try:
            values = clean_station(raw, divisions)
            with session.begin_nested():
                _, created = save_station(session, values)
        except StationError as exc:
            report.problems.append({"row": row_no, "field": exc.field, "message": exc.message})
            continue
        if created:
            report.created += 1
        else:
            report.updated += 1
    commit()
    return report
