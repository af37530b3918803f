"""Shared builders for the report tests: a small network and random shipments."""
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from shipments.models import Division, Province, Station
from shipments.models.enums import Channel, Direction, ShipmentStatus, StationKind, StationLevel

ZHUJI = "330681"


@pytest.fixture
def network(db_session):
    """Two village stations in each of three Zhuji townships, and one township centre."""
    townships = db_session.scalars(select(Division.code).where(Division.parent_code == ZHUJI)
                                   .order_by(Division.code).limit(3)).all()
    stations = []
    for code in townships:
        for n in (1, 2):
            station = Station(name=f"测试村站{code}-{n}", level=StationLevel.VILLAGE,
                              kind=StationKind.VILLAGE_STATION, division_code=code)
            db_session.add(station)
            stations.append(station)
    centre = Station(name=f"测试共配中心{townships[0]}", level=StationLevel.TOWNSHIP,
                     kind=StationKind.CO_DISTRIBUTION_CENTRE, division_code=townships[0])
    db_session.add(centre)
    db_session.flush()
    return {"townships": townships, "villages": stations, "centre": centre}


def random_shipment_values(rng: random.Random, programs, organisations, network, provinces) -> dict:
    """One shipment's columns, spread over Beijing day boundaries and every dimension."""
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    # Around 16:00 UTC = Beijing midnight, so day boundaries are exercised.
    registered = base + timedelta(days=rng.randrange(0, 365), hours=rng.choice([15, 15.99, 16, 16.01, 3]))
    station = rng.choice(network["villages"] + [network["centre"], None])
    other_station = rng.choice(network["villages"] + [None])
    direction = rng.choice(list(Direction))
    values = {
        "program_id": rng.choice([p.id for p in programs] + [None]),
        "organisation_id": rng.choice(organisations).id,
        "carrier": rng.choice(["sandbox", "zto", "sf"]),
        "provider": "sandbox",
        "channel": rng.choice(list(Channel)),
        "direction": direction,
        "origin_division_code": rng.choice([None, None, ZHUJI, *network["townships"]]),
        "origin_station_id": (station.id if station else None) if direction == Direction.OUTBOUND else
        (other_station.id if other_station else None),
        "destination_station_id": (station.id if station else None) if direction == Direction.INBOUND else None,
        "destination_province_code": rng.choice(provinces + [None]),
        "pieces": rng.randint(1, 5),
        "declared_value": rng.choice([None, Decimal("0.01"), Decimal("19.90"), Decimal(rng.randint(1, 99999)) / 100]),
        "registered_at": registered,
        "status": rng.choice(list(ShipmentStatus)),
    }
    return values


@pytest.fixture
def provinces(db_session):
    return db_session.scalars(select(Province.code).order_by(Province.code).limit(5)).all()
