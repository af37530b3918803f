"""`create_*` factory fixtures: pass only what the test asserts."""
import itertools
from datetime import datetime, timezone

import pytest

from shipments.models import Organisation, Program, Shipment
from shipments.models.enums import OrganisationKind, Product

_seq = itertools.count(1)


@pytest.fixture
def create_organisation(db_session):
    def create(**values) -> Organisation:
        values.setdefault("name", f"测试合作社{next(_seq)}")
        values.setdefault("kind", OrganisationKind.COOPERATIVE)
        org = Organisation(**values)
        db_session.add(org)
        db_session.flush()
        return org
    return create


@pytest.fixture
def create_program(db_session):
    def create(**values) -> Program:
        values.setdefault("name", f"测试项目{next(_seq)}")
        values.setdefault("name_en", "Test program")
        values.setdefault("product", Product.PEARL)
        values.setdefault("county_code", "330681")
        values.setdefault("year", 2026)
        values.setdefault("target_pieces", 100_000)
        program = Program(**values)
        db_session.add(program)
        db_session.flush()
        return program
    return create


@pytest.fixture
def create_shipment(db_session, create_organisation):
    def create(**values) -> Shipment:
        if "organisation" not in values and "organisation_id" not in values:
            values["organisation"] = create_organisation()
        values.setdefault("carrier", "sandbox")
        values.setdefault("provider", "sandbox")
        values.setdefault("tracking_number", f"SBX{next(_seq):010d}")
        values.setdefault("registered_at", datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc))
        shipment = Shipment(**values)
        db_session.add(shipment)
        db_session.flush()
        return shipment
    return create
