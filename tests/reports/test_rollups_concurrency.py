"""PostgreSQL: a fold running while another transaction writes shipments loses and doubles nothing."""
import os
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, insert, make_url, text, update
from sqlalchemy.orm import Session

from shipments import create_app
from shipments.db import utcnow
from shipments.extensions import db
from shipments.models import Organisation, Program, Shipment
from shipments.models.enums import OrganisationKind, Product
from shipments.services import reference, reports


@pytest.fixture
def own_postgres_app():
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL not set")
    name = f"yx_rep_conc_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    own = make_url(url).set(database=name).render_as_string(hide_password=False)
    app = create_app({"TESTING": True, "DATABASE_URL": own, "SECRET_KEY": "t", "SCHEDULER_IN_PROCESS": False})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        reference.load_divisions(db.session)
        org = Organisation(name="并发测试合作社", kind=OrganisationKind.COOPERATIVE)
        program = Program(name="并发测试项目", name_en="Concurrency", product=Product.TEA, county_code="330624",
                          year=2026, target_pieces=1000)
        db.session.add_all([org, program])
        db.session.commit()
        ids = (org.id, program.id)
        db.session.remove()
    yield app, ids
    with app.app_context():
        db.engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def rows(org_id, program_id, prefix, n):
    now = utcnow()
    return [{"carrier": "zto", "tracking_number": f"{prefix}{i:08d}", "provider": "sandbox", "program_id": program_id,
             "organisation_id": org_id, "channel": "douyin", "direction": "outbound",
             "origin_division_code": "330624104", "pieces": 2,
             "registered_at": datetime(2026, 4, 1, 3, tzinfo=timezone.utc), "status": "pending",
             "at_station": False, "poll_failures": 0, "subscription_state": "none", "created_at": now,
             "updated_at": now} for i in range(n)]


def test_fold_during_an_open_writer_transaction_stays_exact(own_postgres_app):
    app, (org_id, program_id) = own_postgres_app
    with app.app_context():
        engine = db.engine
        with Session(engine) as setup:
            setup.execute(insert(Shipment), rows(org_id, program_id, "CA", 50))
            setup.commit()
        writer = Session(engine)
        writer.execute(insert(Shipment), rows(org_id, program_id, "CB", 30))  # not committed yet
        writer.execute(update(Shipment).where(Shipment.tracking_number < "CA00000010")
                       .values(status="in_transit", updated_at=utcnow()))
        with Session(engine) as folder:
            assert reports.refresh_rollups(folder) > 0  # folds the committed 50, not the open 30
            folder.commit()
        writer.commit()
        writer.close()
        with Session(engine) as reader:
            assert reports.reconcile(reader) == []
            report = reports.volume_report(reader, "month", ("status",), reports.ReportFilters(program_id=program_id))
            assert {r.keys[0]: r.shipments for r in report.rows} == {"pending": 70, "in_transit": 10}
            reports.refresh_rollups(reader)
            reader.commit()
            assert reports.reconcile(reader) == []
