"""Administration: organisations, users, programs and stations."""
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from shipments.models import ApiToken, Division, Organisation, Program, Station, User
from shipments.models.enums import DivisionLevel, OrganisationKind, Product, Role, StationKind, StationLevel
from shipments.db import utcnow
from shipments.services import access, programs

MIN_PASSWORD_LENGTH = 8


class AdminError(ValueError):
    """A change that cannot be made; `field` names the form field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def list_organisations() -> Select:
    """Select every organisation by name."""
    return select(Organisation).order_by(Organisation.name)


def list_users() -> Select:
    """Select every user with the organisation name."""
    return select(User).join(User.organisation).order_by(Organisation.name, User.username)


def list_tokens() -> Select:
    """Select every API token, newest first."""
    return select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())


def list_centres() -> Select:
    """Select the co-distribution centres (county and township stations) by county, then name."""
    return (select(Station).where(Station.kind == StationKind.CO_DISTRIBUTION_CENTRE)
            .order_by(Station.division_code, Station.name))


def list_stations(level: StationLevel | None = None) -> Select:
    """Select stations by level then name."""
    query = select(Station).order_by(Station.level, Station.division_code, Station.name)
    return query.where(Station.level == level) if level else query


def list_counties() -> Select:
    """Select Shaoxing's county-level units."""
    return select(Division).where(Division.level == DivisionLevel.COUNTY).order_by(Division.code)


def list_divisions() -> Select:
    """Select the counties and townships stations can belong to."""
    return select(Division).where(Division.level != DivisionLevel.CITY).order_by(Division.code)


def create_organisation(session: Session, name: str, kind: OrganisationKind | str,
                        county_code: str | None = None) -> Organisation:
    """Add an organisation with a unique name."""
    name = name.strip()
    if not name:
        raise AdminError("name", "name is required")
    _unique_organisation_name(session, name)
    if county_code and session.get(Division, county_code) is None:
        raise AdminError("county_code", "unknown county")
    org = Organisation(name=name, kind=OrganisationKind(kind), county_code=county_code or None)
    session.add(org)
    session.flush()
    return org


def create_user(session: Session, organisation_id: int, username: str, display_name: str, password: str,
                role: Role | str, county_code: str | None = None) -> User:
    """Add a user to an organisation; the password is stored hashed."""
    username = username.strip()
    if not username:
        raise AdminError("username", "name is required")
    # Logins differ by more than case: Wine-Coop and wine-coop would be one person typing twice.
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise AdminError("username", "this username is taken")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminError("password", f"at least {MIN_PASSWORD_LENGTH} characters")
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise AdminError("organisation_id", "no such organisation")
    if not organisation.active:
        raise AdminError("organisation_id", "this organisation is deactivated")
    role = Role(role)
    if role == Role.ADMIN and organisation.kind != OrganisationKind.OPERATOR:
        raise AdminError("role", "administrators belong to the operator organisation")
    try:
        county_code = access.check_county(session, role, county_code)
    except access.AccessError as exc:
        raise AdminError("county_code", str(exc)) from None
    user = User(organisation=organisation, username=username, display_name=display_name.strip() or username,
                password_hash=generate_password_hash(password), role=role, county_code=county_code)
    session.add(user)
    session.flush()
    return user


def set_user_active(session: Session, user_id: int, active: bool, acting_user_id: int) -> User:
    """Switch a user on or off (an admin cannot switch themselves off)."""
    user = session.get(User, user_id) if 0 < user_id <= 2_147_483_647 else None
    if user is None:
        raise AdminError("user_id", "no such user")
    if user.id == acting_user_id and not active:
        raise AdminError("user_id", "you cannot deactivate yourself")
    user.active = active
    return user


def create_program(session: Session, name: str, name_en: str, product: Product | str, county_code: str,
                   year: int, target_pieces: int, season_start_month: int, season_end_month: int,
                   perishable: bool, deadline_hours: int | None) -> Program:
    """Add a shipping program from the admin form (the rules live in services.programs)."""
    if perishable and not deadline_hours:
        raise AdminError("deadline_hours", "perishable programs need a delivery deadline")
    name = name.strip()
    try:
        return programs.create_program(
            session, name=name, name_en=name_en.strip() or name, product=Product(product),
            county_code=county_code, year=year, target_pieces=target_pieces,
            season_start_month=season_start_month, season_end_month=season_end_month,
            deadline_hours=deadline_hours if perishable else None)
    except programs.ProgramError as exc:
        raise AdminError(exc.field, _PROGRAM_ERRORS.get(exc.field, exc.message)) from exc


# The admin form's wording (translated in web/admin.py) for the program rules' fields.
_PROGRAM_ERRORS = {"name": "a program with this name exists", "county_code": "unknown county"}


def create_station(session: Session, name: str, level: StationLevel | str, kind: StationKind | str,
                   division_code: str) -> Station:
    """Add a station of the county/township/village network."""
    name = name.strip()
    level, kind = StationLevel(level), StationKind(kind)
    if session.scalar(select(Station.id).where(func.lower(Station.name) == name.lower())):
        raise AdminError("name", "a station with this name exists")
    if (level == StationLevel.VILLAGE) != (kind != StationKind.CO_DISTRIBUTION_CENTRE):
        raise AdminError("kind", "county and township stations are co-distribution centres; village ones are not")
    if session.get(Division, division_code) is None:
        raise AdminError("division_code", "unknown division")
    station = Station(name=name, level=level, kind=kind, division_code=division_code)
    session.add(station)
    session.flush()
    return station


def _found(session: Session, model, ident: int, field: str, message: str):
    row = session.get(model, ident)
    if row is None:
        raise AdminError(field, message)
    return row


def _unique_organisation_name(session: Session, name: str, own_id: int | None = None) -> None:
    # Names differ by more than case or surrounding spaces (Wine-Coop and wine-coop are one organisation).
    same = select(Organisation.id).where(func.lower(Organisation.name) == name.lower())
    if own_id is not None:
        same = same.where(Organisation.id != own_id)
    if session.scalar(same):
        raise AdminError("name", "an organisation with this name exists")


def update_organisation(session: Session, organisation_id: int, name: str, kind: OrganisationKind | str,
                        county_code: str | None) -> Organisation:
    """Rename an organisation or change its kind and county."""
    org = _found(session, Organisation, organisation_id, "name", "no such organisation")
    name = name.strip()
    if not name:
        raise AdminError("name", "name is required")
    _unique_organisation_name(session, name, org.id)
    org.name, org.kind, org.county_code = name, OrganisationKind(kind), county_code or None
    session.flush()
    return org


def set_organisation_active(session: Session, organisation_id: int, active: bool, acting_user_id: int) -> int:
    """Switch an organisation on or off; switching off also stops its users and revokes its API tokens.

    Returns how many users were stopped. Switching back on leaves the users off: an
    admin turns on the ones who should log in again.
    """
    org = _found(session, Organisation, organisation_id, "organisation_id", "no such organisation")
    stopped = 0
    if not active:
        if any(user.id == acting_user_id for user in org.users):
            raise AdminError("organisation_id", "you cannot deactivate your own organisation")
        for user in org.users:
            stopped += user.active
            user.active = False
        for token in session.scalars(select(ApiToken).where(ApiToken.organisation_id == org.id,
                                                            ApiToken.revoked_at.is_(None))):
            token.revoked_at = utcnow()
        access.forget_verified_tokens()
    org.active = active
    session.flush()
    return stopped


def reset_password(session: Session, user_id: int, password: str) -> User:
    """Give a user a new password (told to them by the admin, outside this service)."""
    user = _found(session, User, user_id, "user_id", "no such user")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminError("password", f"at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = generate_password_hash(password)
    session.flush()
    return user


def update_program(session: Session, program_id: int, name: str, name_en: str, target_pieces: int,
                   season_start_month: int, season_end_month: int, perishable: bool,
                   deadline_hours: int | None) -> Program:
    """Change a program's names, target, season or deadline."""
    program = _found(session, Program, program_id, "name", "no such program")
    name = name.strip()
    if session.scalar(select(Program.id).where(func.lower(Program.name) == name.lower(), Program.id != program.id)):
        raise AdminError("name", "a program with this name exists")
    if perishable and not deadline_hours:
        raise AdminError("deadline_hours", "perishable programs need a delivery deadline")
    program.name, program.name_en = name, name_en.strip() or name
    program.target_pieces = target_pieces
    program.season_start_month, program.season_end_month = season_start_month, season_end_month
    program.perishable, program.deadline_hours = perishable, deadline_hours if perishable else None
    session.flush()
    return program


def set_program_active(session: Session, program_id: int, active: bool) -> Program:
    """Switch a program on or off (an inactive program takes no new shipments; its figures stay)."""
    program = _found(session, Program, program_id, "program_id", "no such program")
    program.active = active
    session.flush()
    return program
