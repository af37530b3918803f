"""Program progress: pieces to date against the season-prorated target, shortfalls, the county map."""
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from shipments.models import Division, Program, Station
from shipments.models.enums import DivisionLevel, StationLevel
from shipments.services.reports.common import ReportFilters, _is_pg, _percent, beijing_today
from shipments.services.reports.labels import _division_names
from shipments.services.reports.rollups import _rollup_union

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
    def window_end(self) -> date:
        """The last day counted: the day shown, or the season's last day once it is over."""
        return min(self.as_of, self.season_end)

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
    """Pieces done to date against the season-prorated target, the projected pace, and shortfalls."""
    return programs_progress(session, [program], as_of)[0]


def programs_progress(session: Session, program_list: list[Program], as_of: date | None = None) -> list[Progress]:
    """program_progress of several programs, read together (one rollup statement for all of them).

    Done (完成) = pieces registered for the program from the season's first
    day to `as_of` (or the season's end) whose parcel the carrier has taken:
    not pending, info_received, cancelled, returning or returned now.
    """
    as_of = as_of or beijing_today()
    windows = {}
    for program in program_list:
        start, end = season_window(program)
        if as_of >= start:
            windows[program.id] = (start, min(as_of, end))
    done = _done_by_place(session, windows)
    names = _division_names(session)
    shares = _township_shares(session, {p.county_code for p in program_list})
    return [_progress(program, as_of, done.get(program.id, {}), names, shares.get(program.county_code, {}))
            for program in program_list]


def _done_by_place(session: Session, windows: dict[int, tuple[date, date]]) -> dict[int, dict]:
    """{program: {(county, township): (shipments, pieces)}} of taken parcels in each program's window."""
    if not windows:
        return {}
    pg = _is_pg(session)
    by_window: dict[tuple[date, date], list[int]] = {}
    for program_id, window in windows.items():
        by_window.setdefault(window, []).append(program_id)
    columns = ("day", "program_id", "county_code", "township_code")
    parts = []
    for (start, end), ids in by_window.items():
        u = _rollup_union(pg, ReportFilters(date_from=start, date_to=end, taken=True), columns, "progress_month")
        parts.append(select(u.c.program_id, u.c.county_code, u.c.township_code, u.c.shipments, u.c.pieces)
                     .where(u.c.program_id.in_(ids)))
    u = union_all(*parts).subquery("p")
    group = [u.c.program_id, u.c.county_code, u.c.township_code]
    out: dict[int, dict] = {}
    for program_id, county, township, shipments, pieces in session.execute(
            select(*group, func.sum(u.c.shipments), func.sum(u.c.pieces)).group_by(*group)):
        if shipments:
            out.setdefault(program_id, {})[(county, township)] = (int(shipments), int(pieces or 0))
    return out


def _progress(program: Program, as_of: date, done: dict, names: dict, shares: dict) -> Progress:
    start, end = season_window(program)
    season_days = (end - start).days + 1
    elapsed = min(max((as_of - start).days + 1, 0), season_days)
    prorated = prorate(program.target_pieces, elapsed, season_days)
    pieces = sum(p for _, p in done.values())
    shipments = sum(s for s, _ in done.values())
    projected = round(pieces * season_days / elapsed) if elapsed else None
    county_pieces: dict[str, int] = {}
    township_pieces: dict[str, int] = {}
    for (county, township), (_, n) in done.items():
        county_pieces[county] = county_pieces.get(county, 0) + n
        township_pieces[township] = township_pieces.get(township, 0) + n
    # The program's target belongs to its home county; other counties that
    # ship under it are listed without a target share.
    county_codes = sorted(set(county_pieces) | {program.county_code})
    counties = [_shortfall(code, names.get(code, code or "未知"), county_pieces.get(code, 0),
                           prorated if code == program.county_code else None) for code in county_codes]
    township_codes = sorted(set(shares) | set(township_pieces))
    townships = [_shortfall(code, names.get(code, code or "未知乡镇"), township_pieces.get(code, 0),
                            int((prorated * shares[code]).quantize(Decimal(1), ROUND_HALF_UP))
                            if code in shares else None) for code in township_codes]
    return Progress(program, as_of, start, end, elapsed, season_days, program.target_pieces, prorated, pieces,
                    shipments, _percent(pieces, prorated), projected, _percent(projected, program.target_pieces)
                    if projected is not None else None, program.tier, counties, townships)


def _shortfall(code, name, pieces, prorated) -> Shortfall:
    percent = _percent(pieces, prorated) if prorated else None
    flagged = prorated is not None and prorated > 0 and Decimal(pieces) < SHORTFALL_RATIO * prorated
    return Shortfall(code, name, pieces, prorated, percent, flagged)


def township_shares(session: Session, county_code: str) -> dict[str, Decimal]:
    """Each township's share of a county program's target: by its village stations, equal when none."""
    return _township_shares(session, {county_code}).get(county_code, {})


def _township_shares(session: Session, county_codes: set[str]) -> dict[str, dict[str, Decimal]]:
    """township_shares of several counties, in two statements."""
    townships = session.execute(select(Division.parent_code, Division.code).where(
        Division.parent_code.in_(county_codes), Division.level == DivisionLevel.TOWNSHIP)).all()
    if not townships:
        return {}
    counts = dict(session.execute(
        select(Station.division_code, func.count()).where(
            Station.level == StationLevel.VILLAGE, Station.division_code.in_([code for _, code in townships]))
        .group_by(Station.division_code)).all())
    by_county: dict[str, list[str]] = {}
    for county, code in townships:
        by_county.setdefault(county, []).append(code)
    out = {}
    for county, codes in by_county.items():
        total = sum(counts.get(code, 0) for code in codes)
        out[county] = ({code: Decimal(1) / len(codes) for code in codes} if total == 0
                       else {code: Decimal(counts.get(code, 0)) / total for code in codes})
    return out


def county_progress(session: Session, year: int, as_of: date | None = None,
                    progress_list: list[Progress] | None = None) -> dict[str, dict]:
    """Per home county, pieces to date against the prorated targets of its programs in `year` (the map)."""
    if progress_list is None:
        programs = session.scalars(select(Program).where(Program.year == year).order_by(Program.id)).all()
        progress_list = programs_progress(session, programs, as_of)
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
