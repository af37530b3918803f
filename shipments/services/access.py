"""API tokens: creation, verification, revocation."""
import hashlib
import secrets
from dataclasses import dataclass
from time import monotonic

from sqlalchemy import select
from sqlalchemy.orm import Session

from shipments.db import utcnow
from shipments.models import ApiToken, Division, Organisation, Station
from shipments.models.enums import DivisionLevel, OrganisationKind, Role, StationKind

TOKEN_PREFIX = "yx_"


@dataclass(frozen=True)
class Caller:
    """Who is asking: the same shape for API tokens and logged-in users."""

    organisation_id: int
    organisation_name: str
    role: Role
    user_id: int | None = None
    token_id: int | None = None
    county_code: str | None = None  # an official limited to one county (None: the whole city)
    station_id: int | None = None  # a centre's sorting equipment: reports that centre's volumes

    def reports_for_centre(self, centre_id: int) -> bool:
        """Whether the caller may report this co-distribution centre's daily volumes."""
        return self.role == Role.ADMIN or (self.station_id is not None and self.station_id == centre_id)

    @property
    def sees_everything(self) -> bool:
        """Officials and admins read every organisation's shipments."""
        return self.role in (Role.ADMIN, Role.OFFICIAL)

    @property
    def sees_personal_data(self) -> bool:
        """Officials see recipient data masked; members see their own."""
        return self.role != Role.OFFICIAL


def caller_for_token(token: ApiToken) -> Caller:
    """Describe the caller behind an API token."""
    return Caller(token.organisation_id, token.organisation.name, token.role, token_id=token.id,
                  county_code=token.county_code, station_id=token.station_id)


def caller_for_user(user) -> Caller:
    """Describe the caller behind a logged-in user."""
    return Caller(user.organisation_id, user.organisation.name, user.role, user_id=user.id,
                  county_code=user.county_code)


class AccessError(ValueError):
    """A token or role request that cannot be honoured."""


def hash_token(token: str) -> str:
    """Return the stored digest of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_county(session: Session, role: Role, county_code: str | None) -> str | None:
    """The county an official is limited to, checked; AccessError for other roles or unknown codes."""
    if not county_code:
        return None
    if role != Role.OFFICIAL:
        raise AccessError("county: only officials can be limited to a county")
    division = session.get(Division, county_code)
    if division is None or division.level != DivisionLevel.COUNTY:
        raise AccessError(f"county: {county_code} is not a Shaoxing county code")
    return county_code


def create_token(session: Session, organisation: Organisation, role: Role | str, name: str = "api",
                 county_code: str | None = None, station_id: int | None = None) -> str:
    """Create a token for an organisation and role (officials optionally limited to a county, an operator
    member token optionally given to one co-distribution centre's equipment); return it once."""
    role = Role(role)
    # The same rule as for users: administrators belong to the operator organisation.
    if role == Role.ADMIN and organisation.kind != OrganisationKind.OPERATOR:
        raise AccessError("administrators belong to the operator organisation")
    county_code = check_county(session, role, county_code)
    if station_id is not None:
        station = session.get(Station, station_id)
        if station is None or station.kind != StationKind.CO_DISTRIBUTION_CENTRE:
            raise AccessError(f"centre: {station_id} is not a co-distribution centre")
        # The network's operator runs the centres; the token reports for one of them.
        if role != Role.MEMBER or organisation.kind != OrganisationKind.OPERATOR:
            raise AccessError("centre: a centre's token is a member token of the operator organisation")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(
        organisation=organisation, role=role, name=name, token_hash=hash_token(plain), prefix=plain[:10],
        county_code=county_code, station_id=station_id,
    ))
    session.flush()
    return plain


# Per-process memory of recently verified tokens: digest -> (expires at, Caller).
# Only live tokens are remembered; a revoked token keeps working in a process
# that verified it for at most the TTL (API_TOKEN_CACHE_SECONDS).
_verified: dict[str, tuple[float, Caller]] = {}
VERIFIED_MAX = 10_000  # distinct tokens remembered before the memory starts over


def find_caller(session: Session, plain: str, ttl: float = 0) -> Caller | None:
    """Return the caller behind a live plain bearer token, or None.

    With ttl > 0 a verified token is remembered in this process for ttl
    seconds, saving its query on the requests that follow.
    """
    if not plain or not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    digest = hash_token(plain)
    now = monotonic()
    if ttl > 0:
        remembered = _verified.get(digest)
        if remembered is not None and remembered[0] > now:
            return remembered[1]
    row = session.execute(
        select(ApiToken.id, ApiToken.organisation_id, ApiToken.role, ApiToken.county_code, ApiToken.station_id,
               Organisation.name)
        .join(Organisation, ApiToken.organisation_id == Organisation.id)
        .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        _verified.pop(digest, None)
        return None
    caller = Caller(row.organisation_id, row.name, row.role, token_id=row.id, county_code=row.county_code,
                    station_id=row.station_id)
    if ttl > 0:
        if len(_verified) >= VERIFIED_MAX:
            _verified.clear()
        _verified[digest] = (now + ttl, caller)
    return caller


def forget_verified_tokens() -> None:
    """Forget this process's verified tokens, so that revocations apply here at once."""
    _verified.clear()


def revoke_token(session: Session, prefix: str) -> int:
    """Revoke every live token starting with prefix; return how many."""
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.prefix == prefix[:10], ApiToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = utcnow()
    forget_verified_tokens()
    return len(tokens)


def find_organisation(session: Session, name: str) -> Organisation:
    """Return the organisation with this exact name, or raise AccessError."""
    org = session.scalar(select(Organisation).where(Organisation.name == name))
    if org is None:
        raise AccessError(f"no organisation named {name!r}")
    return org
