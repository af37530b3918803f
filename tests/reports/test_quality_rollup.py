"""Quality and network rollups stay equal to a recount through imports, polls, pushes, edits and deletions."""
import io
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from integrations.models import Status, TrackEvent, build_result
from shipments.models import ReportQualityMonth, Shipment, TrackingEvent
from shipments.models.enums import EventSource, Role
from shipments.report_cli import report_cli
from shipments.services import access, reports, tracking
from shipments.services import shipments as shipment_service
from shipments.services.reports import ReportFilters
from shipments.services.schedule import PollPolicy

PROVINCES = ["广东省", "浙江", "上海市", "江苏省", ""]
STEPS = [  # hours after registration, status, substatus, description
    (1, Status.INFO_RECEIVED, None, "商家已下单"),
    (5, Status.IN_TRANSIT, "PICKED_UP", "【绍兴市】诸暨山下湖镇网点 已揽收"),
    (20, Status.IN_TRANSIT, None, "快件已到达【杭州转运中心】"),
    (38, Status.AVAILABLE_FOR_PICKUP, None, "快件已放入【枫桥驿站】"),
    (52, Status.DELIVERED, "SIGNED", "快件已签收，签收人：本人"),
]


def upload(client, db_session, org, rows: list[str]):
    csv = ("运单号,快递公司,手机尾号,项目,渠道,目的省份,件数,重量,金额,订单号\n" + "\n".join(rows)).encode()
    headers = {"Authorization": "Bearer " + access.create_token(db_session, org, Role.MEMBER)}
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(csv), "shipments.csv")})
    response = client.post("/api/v1/shipments/bulk", headers=headers, data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def carrier_answer(shipment, upto: int, late_by: int = 0):
    events = [TrackEvent(shipment.registered_at + timedelta(hours=h + (late_by if h > 5 else 0)), status, text_,
                         "绍兴市", None, sub) for h, status, sub, text_ in STEPS[:upto]]
    last = STEPS[upto - 1]
    return build_result(number=shipment.tracking_number, carrier=shipment.carrier, status=last[1],
                        substatus=last[2], raw_state=None, events=events)


def assert_exact(app, db_session):
    assert reports.reconcile(db_session) == []
    now = max(db_session.scalar(select(func.max(Shipment.registered_at))), reports.day_start(
        reports.beijing_today()))
    for by_province, by_program in ((True, True), (False, True), (False, False), (True, False)):
        rolled = reports.quality_report(db_session, ReportFilters(), now, by_province, by_program)
        raw = reports.quality_report_raw(db_session, ReportFilters(), now, by_province, by_program)
        def counts(rows):
            return sorted(((r.program_id or 0, r.carrier, r.province_code or ""), (
                r.shipments, r.picked_within_24h, r.no_pickup, r.next_day_on_time, r.next_day_late,
                r.next_day_pending, r.exceptions, r.returns)) for r in rows)

        assert counts(rolled) == counts(raw)
        order = {(r.program_id or 0, r.carrier, r.province_code or ""): r for r in raw}
        for a in rolled:
            b = order[(a.program_id or 0, a.carrier, a.province_code or "")]  # exact to the bucket (2 h below 96 h, 12 h below 168 h, then 24 h)
            for got, want in ((a.transit_p50_hours, b.transit_p50_hours), (a.transit_p90_hours, b.transit_p90_hours)):
                assert (got is None) == (want is None)
                assert got is None or abs(got - want) <= (2 if want < 96 else 12 if want < 168 else 24)


def test_rollups_equal_a_recount_through_imports_polls_pushes_edits_and_deletes(app, client, db_session,
                                                                                create_organisation):
    org = create_organisation()
    rows = [f"SBX{8_100_000_000 + i:010d},sandbox,,,抖音,{PROVINCES[i % 5]},{1 + i % 3},0.5,{i}.50,DY{i}"
            for i in range(40)]
    assert upload(client, db_session, org, rows)["created"] == 40
    shipments = db_session.scalars(select(Shipment).where(Shipment.organisation_id == org.id)
                                   .order_by(Shipment.id)).all()
    assert_exact(app, db_session)

    policy = PollPolicy(jitter=0.0)
    for i, shipment in enumerate(shipments):  # polls and pushes, some late, some twice (idempotent)
        upto = 1 + i % len(STEPS)
        source = EventSource.POLL if i % 2 else EventSource.PUSH
        for _ in range(1 + i % 2):
            tracking.apply_track_outcome(db_session, shipment, carrier_answer(shipment, upto, late_by=30 * (i % 3)),
                                         source=source, now=shipment.registered_at + timedelta(hours=60),
                                         policy=policy)
    db_session.flush()
    # first_station_at is the first station/locker or delivery event the carrier reported.
    for shipment in shipments:
        first = db_session.scalar(select(func.min(TrackingEvent.occurred_at)).where(
            TrackingEvent.shipment_id == shipment.id,
            TrackingEvent.status.in_(["available_for_pickup", "delivered"])))
        assert shipment.first_station_at == first
    assert any(s.first_station_at for s in shipments) and any(s.first_station_at is None for s in shipments)
    assert_exact(app, db_session)

    # Edits (destination, registration day, status) and deletions.
    for shipment in shipments[:5]:
        shipment.destination_province_code = "310000"
        shipment.registered_at -= timedelta(days=40)
    db_session.flush()
    db_session.execute(update(Shipment).where(Shipment.id == shipments[6].id).values(status="exception"))
    db_session.execute(delete(Shipment).where(Shipment.id.in_([shipments[7].id, shipments[8].id])))
    db_session.flush()
    # Cancellations (issue 10): a cancelled registration counts nowhere.
    for shipment in (shipments[9], shipments[12]):
        assert shipment_service.cancel_shipment(shipment, "买家退单")
    db_session.flush()
    db_session.expire_all()
    assert_exact(app, db_session)

    assert reports.refresh_rollups(db_session) > 0
    assert_exact(app, db_session)
    rows = reports.quality_report(db_session, ReportFilters(), by_province=False)
    assert sum(r.shipments for r in rows) == 40 - 2 - 2  # two deleted, two cancelled
    result = app.test_cli_runner().invoke(report_cli, ["reconcile"])
    assert result.exit_code == 0, result.output


def test_reconcile_finds_a_tampered_quality_or_network_bucket(app, db_session, create_shipment):
    shipment = create_shipment(destination_province_code="330000")
    tracking.apply_track_outcome(db_session, shipment, carrier_answer(shipment, 5), source=EventSource.POLL,
                                 now=shipment.registered_at + timedelta(hours=60), policy=PollPolicy(jitter=0.0))
    db_session.flush()
    reports.refresh_rollups(db_session)
    assert reports.reconcile(db_session) == []
    db_session.execute(update(ReportQualityMonth).values(on_time=ReportQualityMonth.on_time + 1))
    db_session.execute(text("UPDATE report_network_days SET shipments = shipments + 1"))
    tables = {d.table for d in reports.reconcile(db_session)}
    assert tables == {"report_quality_months", "report_network_days"}
    result = app.test_cli_runner().invoke(report_cli, ["reconcile"])
    assert result.exit_code != 0 and "report_quality_months" in result.output


@pytest.mark.parametrize("filters", [ReportFilters(carrier="sandbox"), ReportFilters(province="330000")])
def test_quality_filters_the_rollup_answers_equal_a_recount(db_session, create_shipment, filters):
    for i, province in enumerate(["330000", "310000", "330000"]):
        shipment = create_shipment(destination_province_code=province)
        tracking.apply_track_outcome(db_session, shipment, carrier_answer(shipment, 2 + i), source=EventSource.POLL,
                                     now=shipment.registered_at + timedelta(hours=60), policy=PollPolicy(jitter=0.0))
    db_session.flush()
    now = reports.day_start(reports.beijing_today())
    rolled = [(r.shipments, r.next_day_on_time, r.next_day_late, r.next_day_pending)
              for r in reports.quality_report(db_session, filters, now)]
    assert rolled == [(r.shipments, r.next_day_on_time, r.next_day_late, r.next_day_pending)
                      for r in reports.quality_report_raw(db_session, filters, now)]
    assert rolled


def test_late_perishables_keysets_equal_the_full_scan(db_session, create_program, create_shipment):
    from datetime import datetime, timezone

    from shipments.services.reports import quality

    now = datetime(2026, 6, 20, 4, tzinfo=timezone.utc)
    fruit = create_program(perishable=True, deadline_hours=48)
    other = create_program(perishable=True, deadline_hours=24)
    create_program(perishable=False)
    for i in range(60):
        registered = now - timedelta(hours=3 * i + 1)
        picked = registered + timedelta(hours=i % 7) if i % 5 else None
        delivered = (picked or registered) + timedelta(hours=10 + 4 * (i % 19)) if i % 3 == 0 else None
        if delivered is not None and delivered > now:
            delivered = None
        create_shipment(program=fruit if i % 2 else other, registered_at=registered, picked_up_at=picked,
                        delivered_at=delivered)
    for i in range(12):  # picked up before they were registered (a seller registering late): early clocks
        registered = now - timedelta(hours=20 * i + 5)
        create_shipment(program=fruit if i % 2 else other, registered_at=registered,
                        picked_up_at=registered - timedelta(hours=30 + 7 * i))
    first_days = [(now - timedelta(hours=h)).astimezone(reports.BEIJING).date() for h in (30, 70, 130)]
    for limit in (5, 500):
        for filters in (ReportFilters(), ReportFilters(program_id=fruit.id), ReportFilters(carrier="sandbox"),
                        *(ReportFilters(date_from=day) for day in first_days),
                        ReportFilters(date_from=first_days[1], date_to=first_days[0], program_id=other.id)):
            got = [(s.id, round(h, 6)) for s, h in db_session.execute(
                reports.late_perishables(db_session, filters, now, limit))]
            want = [(s.id, round(h, 6)) for s, h in db_session.execute(
                quality.late_perishables_scan(db_session, filters, now, limit))]
            assert got == want and got
