"""Program progress: pieces to date against the season-prorated target, shortfalls, the county map."""
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shipments.models import Division, Program, Station
from shipments.models.enums import DivisionLevel, StationLevel
from shipments.services.reports.common import ReportFilters, _percent, beijing_today
from shipments.services.reports.labels import _division_names
from shipments.services.reports.volumes import VolumeRow, volume_report

SHORTFALL_RATIO = Decimal("0.6")


@dataclass
class Shortfall:
    code: str
    name: str
    pieces: int
    prorated_target: int | None
    percent: Decimal | None
    flagged: bool


@dataclass
class Progress:
    program: Program
    as_of: date
    season_start: date
    season_end: date
    elapsed_days: int
    season_days: int
    target: int
    prorated_target: int
    pieces: int
    shipments: int
    percent_of_prorated: Decimal | None
    projected_pieces: int | None
    projected_percent: Decimal | None
    tier: str | None
    counties: list[Shortfall] = field(default_factory=list)
    townships: list[Shortfall] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return self.percent_of_prorated is not None and self.percent_of_prorated < SHORTFALL_RATIO * 100


def season_window(program: Program) -> tuple[date, date]:
    """First and last Beijing day of a program's season in its year (start > end wraps into the next year)."""
    start = date(program.year, program.season_start_month, 1)
    end_year = program.year + (1 if program.season_end_month < program.season_start_month else 0)
    end_month_first = date(end_year, program.season_end_month, 1)
    end = (end_month_first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return start, end


def prorate(target: int, elapsed_days: int, season_days: int) -> int:
    """The target prorated over the elapsed days of the season, in whole pieces (half up)."""
    return int((Decimal(target) * elapsed_days / season_days).quantize(Decimal(1), ROUND_HALF_UP))


def program_progress(session: Session, program: Program, as_of: date | None = None) -> Progress:
    """Pieces to date against the season-prorated target, the projected pace, and shortfalls."""
    as_of = as_of or beijing_today()
    start, end = season_window(program)
    season_days = (end - start).days + 1
    elapsed = min(max((as_of - start).days + 1, 0), season_days)
    prorated = prorate(program.target_pieces, elapsed, season_days)
    window = ReportFilters(date_from=start, date_to=min(as_of, end), program_id=program.id)
    if elapsed == 0:
        by_county, by_township = [], []
    else:
        by_county = volume_report(session, "season", ("county",), window).rows
        by_township = volume_report(session, "season", ("township",), window).rows
    pieces = sum(r.pieces for r in by_county)
    shipments = sum(r.shipments for r in by_county)
    projected = round(pieces * season_days / elapsed) if elapsed else None
    county_pieces = _sum_by_key(by_county)
    township_pieces = _sum_by_key(by_township)
    names = _division_names(session)
    # The program's target belongs to its home county; other counties that
    # ship under it are listed without a target share.
    county_codes = sorted(set(county_pieces) | {program.county_code})
    counties = [_shortfall(code, names.get(code, code or "未知"), county_pieces.get(code, 0),
                           prorated if code == program.county_code else None) for code in county_codes]
    shares = township_shares(session, program.county_code)
    township_codes = sorted(set(shares) | set(township_pieces))
    townships = [_shortfall(code, names.get(code, code or "未知乡镇"), township_pieces.get(code, 0),
                            int((prorated * shares[code]).quantize(Decimal(1), ROUND_HALF_UP))
                            if code in shares else None) for code in township_codes]
    return Progress(program, as_of, start, end, elapsed, season_days, program.target_pieces, prorated, pieces,
                    shipments, _percent(pieces, prorated), projected, _percent(projected, program.target_pieces)
                    if projected is not None else None, program.tier, counties, townships)


def _sum_by_key(rows: list[VolumeRow]) -> dict:
    out = {}
    for row in rows:
        out[row.keys[0]] = out.get(row.keys[0], 0) + row.pieces
    return out


def _shortfall(code, name, pieces, prorated) -> Shortfall:
    percent = _percent(pieces, prorated) if prorated else None
    flagged = prorated is not None and prorated > 0 and Decimal(pieces) < SHORTFALL_RATIO * prorated
    return Shortfall(code, name, pieces, prorated, percent, flagged)


def township_shares(session: Session, county_code: str) -> dict[str, Decimal]:
    """Each township's share of a county program's target: by its village stations, equal when none."""
    townships = session.scalars(select(Division.code).where(
        Division.parent_code == county_code, Division.level == DivisionLevel.TOWNSHIP)).all()
    if not townships:
        return {}
    counts = dict(session.execute(
        select(Station.division_code, func.count()).where(
            Station.level == StationLevel.VILLAGE, Station.division_code.in_(townships))
        .group_by(Station.division_code)).all())
    total = sum(counts.values())
    if total == 0:
        return {code: Decimal(1) / len(townships) for code in townships}
    return {code: Decimal(counts.get(code, 0)) / total for code in townships}


def county_progress(session: Session, year: int, as_of: date | None = None,
                    progress_list: list[Progress] | None = None) -> dict[str, dict]:
    """Per home county, pieces to date against the prorated targets of its programs in `year` (the map)."""
    if progress_list is None:
        programs = session.scalars(select(Program).where(Program.year == year).order_by(Program.id))
        progress_list = [program_progress(session, program, as_of) for program in programs]
    out: dict[str, dict] = {}
    for progress in progress_list:
        program = progress.program
        entry = out.setdefault(program.county_code, {"pieces": 0, "prorated_target": 0, "programs": 0})
        entry["pieces"] += progress.pieces
        entry["prorated_target"] += progress.prorated_target
        entry["programs"] += 1
    for entry in out.values():
        entry["percent"] = _percent(entry["pieces"], entry["prorated_target"])
    return out
