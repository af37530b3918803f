"""绩效可追: the poll log (written by the poll cycle, kept 90 days then summarised) and provenance."""
import io
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from shipments.db import utcnow
from shipments.models import ImportBatch, PollLog, PollLogDay, Shipment
from shipments.models.enums import PollOutcome, Role
from shipments.services import poll_log, polling
from tests.test_polling import k100_fake, poll_config, st_fake  # noqa: F401 (fixtures: the fake carriers)


def test_poll_cycle_logs_every_call_and_the_api_reads_it_newest_first(client, db_session, auth, poll_config,
                                                                      k100_fake, create_shipment, create_organisation):
    org = create_organisation()
    parcel = create_shipment(organisation=org, carrier="yto", provider="kuaidi100", tracking_number="YT4000000000001",
                             registered_at=utcnow() - timedelta(hours=2), next_poll_at=utcnow() - timedelta(seconds=1))
    polling.poll_once(db_session, poll_config)
    # The carrier fails the next time: logged with its HTTP status and the error.
    k100_fake.mode = "server_error"
    db_session.execute(Shipment.__table__.update().where(Shipment.id == parcel.id)
                       .values(next_poll_at=utcnow() - timedelta(seconds=1), last_polled_at=None))
    polling.poll_once(db_session, poll_config)
    rows = db_session.scalars(poll_log.shipment_polls(parcel.id)).all()
    assert [(r.provider, r.http_status, r.outcome) for r in rows] == [
        ("kuaidi100", 500, PollOutcome.ERROR), ("kuaidi100", 200, PollOutcome.OK)]
    assert rows[0].error and rows[1].error is None
    assert all(r.duration_ms >= 0 and r.sent_at <= utcnow() for r in rows)

    for headers in (auth(org=org), auth(Role.OFFICIAL)):
        response = client.get("/api/v1/shipments/yto/YT4000000000001/polls?limit=1", headers=headers)
        assert response.status_code == 200, response.json
        assert [(p["http_status"], p["outcome"]) for p in response.json["items"]] == [(500, "error")]
        more = client.get(f"/api/v1/shipments/yto/YT4000000000001/polls?cursor={response.json['next_cursor']}",
                          headers=headers)
        assert [(p["http_status"], p["outcome"]) for p in more.json["items"]] == [(200, "ok")]
        assert more.json["next_cursor"] is None
    assert client.get("/api/v1/shipments/yto/YT4000000000001/polls", headers=auth()).status_code == 404


def test_old_poll_rows_are_summarised_per_day_then_deleted(db_session, create_shipment):
    parcel = create_shipment()
    now = datetime(2026, 11, 28, 4, tzinfo=timezone.utc)
    old = now - timedelta(days=91)
    rows = [poll_log.poll_row(parcel.id, sent_at=old + timedelta(minutes=i), provider="kuaidi100", kind="track",
                              outcome=PollOutcome.OK, duration_ms=100 + i, http_status=200) for i in range(3)]
    rows.append(poll_log.poll_row(parcel.id, sent_at=now - timedelta(days=1), provider="kuaidi100", kind="track",
                                  outcome=PollOutcome.OK, duration_ms=50, http_status=200))
    poll_log.record_polls(db_session, rows)
    assert poll_log.summarise_old_polls(db_session, now, keep_days=90, batch=2) == 2
    assert poll_log.summarise_old_polls(db_session, now, keep_days=90, batch=2) == 1
    assert poll_log.summarise_old_polls(db_session, now, keep_days=90, batch=2) == 0
    kept = db_session.scalars(select(PollLog).where(PollLog.shipment_id == parcel.id)).all()
    assert [r.duration_ms for r in kept] == [50]
    day = db_session.scalar(select(PollLogDay))
    assert (day.day.isoformat(), day.provider, day.outcome, day.polls, day.total_ms) == (
        (old.astimezone(poll_log.BEIJING)).date().isoformat(), "kuaidi100", "ok", 3, 303)


def test_provenance_of_an_upload_row_a_form_and_the_api(client, db_session, auth, create_organisation):
    org = create_organisation()
    headers = auth(org=org)
    csv = "运单号,件数\nSBX5100000001,1\nSBX5100000002,x\nSBX5100000003,2\n"
    report = client.post("/api/v1/shipments/bulk", headers=headers,
                         data={"file": (io.BytesIO(csv.encode()), "十一月发货.csv")})
    assert report.status_code == 200 and report.json["created"] == 2
    detail = client.get("/api/v1/shipments/sandbox/SBX5100000003", headers=headers).json
    batch = db_session.scalar(select(ImportBatch).where(ImportBatch.organisation_id == org.id))
    assert detail["provenance"] == {"source": "import", "batch_id": batch.id, "file_name": "十一月发货.csv",
                                    "row": 4, "user_id": None, "token_id": detail["provenance"]["token_id"]}
    assert detail["provenance"]["token_id"] is not None
    assert (batch.rows, batch.created, batch.invalid) == (3, 2, 1)
    assert batch.report["problems"][0]["row"] == 3
    one = client.post("/api/v1/shipments", json={"number": "SBX5100000009"}, headers=headers)
    assert one.status_code == 201
    assert client.get("/api/v1/shipments/sandbox/SBX5100000009", headers=headers).json["provenance"]["source"] == "api"
    # Officials read it too (masked detail); the batch list shows the report.
    official = client.get("/api/v1/shipments/sandbox/SBX5100000003", headers=auth(Role.OFFICIAL)).json
    assert official["provenance"]["row"] == 4 and official["phone_last4"] is None
    listed = client.get("/api/v1/imports", headers=headers).json["items"]
    assert [b["id"] for b in listed] == [batch.id] and listed[0]["report"]["invalid"] == 1
    assert client.get("/api/v1/imports", headers=auth()).json["items"] == []
