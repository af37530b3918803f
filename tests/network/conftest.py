"""Fixtures for the network tests: tokens of each role, stations, a centre."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from integrations.models import TrackEvent, build_result
from shipments.db import utcnow
from shipments.models import Station, TrackingEvent
from shipments.models.enums import EventSource, OrganisationKind, Role, StationKind, StationLevel
from shipments.services import access, tracking
from shipments.services.schedule import PollPolicy
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


def apply_scans(session, shipment, *scans, now=None):
    """Apply carrier events (description, location, status) as one poll would."""
    now = now or utcnow()
    events = [TrackEvent(occurred_at=now - timedelta(hours=len(scans) - i), status=status, description=text,
                         location=location)
              for i, (text, location, status) in enumerate(scans)]
    result = build_result(number=shipment.tracking_number, carrier=shipment.carrier, status=events[-1].status,
                          substatus=None, raw_state=None, events=events)
    tracking.apply_track_outcome(session, shipment, result, source=EventSource.POLL, now=now, policy=PollPolicy())
    session.flush()
    return session.scalars(select(TrackingEvent).where(TrackingEvent.shipment_id == shipment.id)
                           .order_by(TrackingEvent.occurred_at)).all()
