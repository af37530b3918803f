"""Fixtures for the network tests: tokens of each role, stations, a centre."""
import pytest

from shipments.models import Station
from shipments.models.enums import OrganisationKind, Role, StationKind, StationLevel
from shipments.services import access
from tests.web.conftest import create_user  # noqa: F401 (a fixture)

PINGSHUI = "330603105"


@pytest.fixture
def auth(db_session, create_organisation):
    """auth(role, org) -> headers with a fresh bearer token."""
    def make(role=Role.MEMBER, org=None):
        # Administrators (and their tokens) belong to the operator organisation.
        org = org or create_organisation(**({"kind": OrganisationKind.OPERATOR} if role == Role.ADMIN else {}))
        token = access.create_token(db_session, org, role)
        return {"Authorization": f"Bearer {token}"}
    return make


@pytest.fixture
def create_station(db_session):
    seq = iter(range(1, 10**6))

    def create(**values) -> Station:
        values.setdefault("level", StationLevel.VILLAGE)
        values.setdefault("kind", StationKind.VILLAGE_STATION if values["level"] == StationLevel.VILLAGE
                          else StationKind.CO_DISTRIBUTION_CENTRE)
        values.setdefault("division_code", PINGSHUI)
        values.setdefault("name", f"测试站{next(seq)}")
        values.setdefault("brands", ["ems"])
        station = Station(**values)
        db_session.add(station)
        db_session.flush()
        return station
    return create
