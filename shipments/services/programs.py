"""Shipping programs."""
from sqlalchemy import Select, select

from shipments.models import Division, Organisation, Program
from shipments.models.enums import DivisionLevel


class ProgramError(ValueError):
    """A program that cannot be created; names the field."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


def list_programs(year: int | None = None, county: str | None = None) -> Select:
    """Select all programs (of a year, of a county when given), largest target first."""
    stmt = select(Program).order_by(Program.target_pieces.desc(), Program.id)
    if county is not None:
        stmt = stmt.where(Program.county_code == county)
    return stmt.where(Program.year == year) if year is not None else stmt


def create_program(session, *, organisation_ids=(), **values) -> Program:
    """Add a program after checking its county, name and organisations (the caller commits)."""
    county = session.get(Division, values["county_code"])
    if county is None or county.level != DivisionLevel.COUNTY:
        raise ProgramError("county_code", f"{values['county_code']} is not a Shaoxing county code")
    if session.scalar(select(Program.id).where(Program.name == values["name"])) is not None:
        raise ProgramError("name", "a program with this name already exists")
    organisations = _organisations(session, organisation_ids)
    # A program is perishable exactly when it has a delivery deadline.
    values["perishable"] = values.get("deadline_hours") is not None
    program = Program(**values, organisations=list(organisations))
    session.add(program)
    session.flush()
    return program


def _organisations(session, organisation_ids) -> list[Organisation]:
    """The organisations with these ids; ProgramError naming the first missing one."""
    wanted = set(organisation_ids)
    organisations = session.scalars(select(Organisation).where(Organisation.id.in_(wanted))
                                    .order_by(Organisation.id)).all() if wanted else []
    missing = sorted(wanted - {o.id for o in organisations})
    if missing:
        raise ProgramError("organisation_ids", f"no organisation with id {missing[0]}")
    return list(organisations)


def set_program_organisations(session, program: Program, organisation_ids) -> Program:
    """Make exactly these organisations the program's members (the caller commits).

    Membership says who takes part; it never moves shipments, so volumes
    already counted for the program stay as they are.
    """
    program.organisations = _organisations(session, organisation_ids)
    session.flush()
    return program
