"""Who may read which report, and the exports' shape."""
import csv
import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from shipments.models import Shipment
from shipments.models.enums import OrganisationKind, Role, ShipmentStatus
from shipments.schemas.reports import LateShipmentSchema, QualityRowSchema, dump_late_rows, dump_quality_rows
from shipments.services import access, reports

BJ = reports.BEIJING
ROUTES = ["/api/v1/programs", "/api/v1/reports/volumes", "/api/v1/reports/quality",
          "/api/v1/reports/late-perishables", "/api/v1/reports/network", "/api/v1/programs/{program}/progress"]


@pytest.fixture
def world(db_session, create_organisation, create_program, create_shipment):
    mine, theirs = create_organisation(), create_organisation()
    program = create_program(organisations=[mine, theirs])
    for org, count in ((mine, 2), (theirs, 5)):
        for _ in range(count):
            create_shipment(organisation=org, program=program, registered_at=datetime(2026, 3, 2, 9, tzinfo=BJ))
    authority = create_organisation(kind=OrganisationKind.AUTHORITY)
    tokens = {
        "member": access.create_token(db_session, mine, Role.MEMBER),
        "official": access.create_token(db_session, authority, Role.OFFICIAL),
        "admin": access.create_token(db_session, create_organisation(kind=OrganisationKind.OPERATOR), Role.ADMIN),
    }
    return {"program": program, "tokens": tokens}


def get(client, path, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, headers=headers, query_string=params)


@pytest.mark.parametrize("route", ROUTES)
def test_anonymous_callers_get_401(client, world, route):
    assert get(client, route.format(program=world["program"].id)).status_code == 401


@pytest.mark.parametrize("route,member_status", [
    ("/api/v1/programs", 200), ("/api/v1/reports/volumes", 200), ("/api/v1/reports/quality", 200),
    ("/api/v1/reports/late-perishables", 200), ("/api/v1/reports/network", 403),
    ("/api/v1/programs/{program}/progress", 403),
])
def test_officials_and_admins_read_all_members_only_their_own(client, world, route, member_status):
    path = route.format(program=world["program"].id)
    assert get(client, path, world["tokens"]["member"]).status_code == member_status
    assert get(client, path, world["tokens"]["official"]).status_code == 200
    assert get(client, path, world["tokens"]["admin"]).status_code == 200


def test_a_member_sees_only_their_organisations_figures(client, world):
    mine = get(client, "/api/v1/reports/volumes", world["tokens"]["member"], period="month").get_json()
    everyone = get(client, "/api/v1/reports/volumes", world["tokens"]["official"], period="month").get_json()
    assert mine["totals"]["shipments"] == 2
    assert everyone["totals"]["shipments"] == 7
    quality = get(client, "/api/v1/reports/quality", world["tokens"]["member"]).get_json()
    assert sum(r["shipments"] for r in quality) == 2


def test_volumes_grouped_with_labels(client, world):
    body = get(client, "/api/v1/reports/volumes", world["tokens"]["official"], period="month",
               group_by=["program", "status"]).get_json()
    assert body["rows"][0]["labels"] == [world["program"].name, "已登记，等待快递信息"]  # the one label function
    assert body["rows"][0]["period"] == "2026-03-01"


def test_bad_query_names_the_field(client, world):
    response = get(client, "/api/v1/reports/volumes", world["tokens"]["official"], period="year")
    assert response.status_code == 422
    assert "period" in response.get_json()["errors"]["query"]
    response = get(client, "/api/v1/reports/volumes", world["tokens"]["official"],
                   date_from="2026-05-01", date_to="2026-04-01")
    assert "date_from" in response.get_json()["errors"]["query"]


def test_progress_api_counts_the_pieces_the_carrier_has_taken(client, world, db_session, create_shipment):
    program = world["program"]
    url, token = f"/api/v1/programs/{program.id}/progress", world["tokens"]["official"]
    body = get(client, url, token, as_of="2026-12-31").get_json()
    # world's 7 parcels are registered and waiting for pickup: none done yet.
    assert body["pieces"] == 0 and body["prorated_target"] == 100_000 and body["tier"] == "十万件"
    when = datetime(2026, 3, 2, 9, tzinfo=BJ)
    for status in ("in_transit", "available_for_pickup", "delivered", "exception", "expired"):
        create_shipment(program=program, status=status, pieces=2, registered_at=when)
    for status in ("pending", "info_received", "cancelled", "returning", "returned"):
        create_shipment(program=program, status=status, pieces=3, registered_at=when)
    db_session.execute(update(Shipment).where(Shipment.program_id == program.id, Shipment.pieces == 1)
                       .values(status="delivered"))
    body = get(client, url, token, as_of="2026-12-31").get_json()
    assert body["pieces"] == 7 + 5 * 2
    assert get(client, "/api/v1/programs/999999/progress", world["tokens"]["official"]).status_code == 404


def test_only_admins_create_programs(client, world, db_session):
    payload = {"name": "诸暨香榧测试项目", "name_en": "Zhuji torreya", "product": "torreya", "county_code": "330681",
               "year": 2026, "target_pieces": 200_000, "season_start_month": 9, "season_end_month": 12}
    for role in ("member", "official"):
        response = client.post("/api/v1/programs", json=payload,
                               headers={"Authorization": f"Bearer {world['tokens'][role]}"})
        assert response.status_code == 403
    admin = {"Authorization": f"Bearer {world['tokens']['admin']}"}
    created = client.post("/api/v1/programs", json=payload, headers=admin)
    assert created.status_code == 201 and created.get_json()["tier"] == "十万件"
    assert client.post("/api/v1/programs", json=payload, headers=admin).status_code == 409
    bad = client.post("/api/v1/programs", json={**payload, "name": "x项目", "county_code": "330699"}, headers=admin)
    assert bad.status_code == 422 and "county_code" in bad.get_json()["errors"]["json"]
    perishable = client.post("/api/v1/programs", json={**payload, "name": "y项目", "deadline_hours": 48},
                             headers=admin)
    assert perishable.status_code == 201 and perishable.get_json()["perishable"] is True
    unknown = client.post("/api/v1/programs", json={**payload, "name": "z项目", "organisation_ids": [999999]},
                          headers=admin)
    assert unknown.status_code == 404 and "organisation_ids" in unknown.get_json()["errors"]["json"]


def test_csv_export_has_title_units_chinese_headers_and_totals(client, world):
    response = get(client, "/api/v1/reports/volumes", world["tokens"]["official"], period="month",
                   group_by="program", format="csv")
    assert response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][0].startswith("寄递量统计")
    assert "单位" in rows[1][0]
    assert rows[2] == ["统计期", "寄递项目", "票数（票）", "件数（件）", "申报价值（元）"]
    assert rows[-1][0] == "合计" and rows[-1][2] == "7"


@pytest.mark.parametrize("by_province", [False, True])
def test_xlsx_export_in_english(client, world, by_province):
    response = get(client, "/api/v1/reports/quality", world["tokens"]["official"], format="xlsx", lang="en",
                   by_province=str(by_province).lower())
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet["A1"].value.startswith("Delivery quality")
    headers = [c.value for c in sheet[3]]
    shipments = headers.index("Shipments") + 1
    if by_province:
        assert headers[:4] == ["Program", "Carrier", "Destination province", "Shipments"]
        assert sheet["A1"].value.endswith("province")
    else:
        assert headers[:3] == ["Program", "Carrier", "Shipments"] and "Destination province" not in headers
    assert sheet.cell(sheet.max_row, 1).value == "Total" and sheet.cell(sheet.max_row, shipments).value == 7
    assert sheet.cell(4, shipments).number_format == "#,##0" and sheet["A1"].font.b
    assert sheet.freeze_panes == "A4"


def test_quality_is_per_program_and_carrier_unless_asked_by_province(client, world, db_session, create_shipment):
    program = world["program"]
    for province in ("310000", "440000", "440000"):
        create_shipment(program=program, carrier="zto", destination_province_code=province,
                        registered_at=datetime(2026, 3, 3, 9, tzinfo=BJ))
    token = world["tokens"]["official"]
    default = get(client, "/api/v1/reports/quality", token, carrier="zto").get_json()
    assert [(r["program_id"], r["carrier"], r["province_code"], r["shipments"]) for r in default] == [
        (program.id, "zto", None, 3)]
    assert len(default[0]["labels"]) == 2
    provinces = get(client, "/api/v1/reports/quality", token, carrier="zto", by_province="true").get_json()
    assert [(r["province_code"], r["shipments"]) for r in provinces] == [("310000", 1), ("440000", 2)]
    assert [r["labels"][2] for r in provinces] == ["上海市", "广东省"]
    # The breakdown adds up to the default row, field by field.
    for field in ("shipments", "picked_within_24h", "no_pickup", "next_day_on_time", "next_day_late",
                  "next_day_pending", "exceptions", "returns"):
        assert sum(r[field] for r in provinces) == default[0][field]


def test_far_off_dates_are_refused_by_name(client, world):
    response = get(client, "/api/v1/reports/volumes", world["tokens"]["official"], date_to="9999-12-31")
    assert response.status_code == 422 and "date_to" in response.get_json()["errors"]["query"]


def test_only_admins_set_program_members_and_the_list_is_replaced(client, world, db_session, create_organisation):
    program = world["program"]
    newcomer = create_organisation()
    path = f"/api/v1/programs/{program.id}/organisations"
    for role in ("member", "official"):
        response = client.put(path, json={"organisation_ids": [newcomer.id]},
                              headers={"Authorization": f"Bearer {world['tokens'][role]}"})
        assert response.status_code == 403
    admin = {"Authorization": f"Bearer {world['tokens']['admin']}"}
    before = get(client, "/api/v1/reports/volumes", world["tokens"]["official"], period="month").get_json()
    response = client.put(path, json={"organisation_ids": [newcomer.id]}, headers=admin)
    assert response.status_code == 200 and response.get_json()["organisation_ids"] == [newcomer.id]
    db_session.expire_all()
    assert [o.id for o in db_session.get(type(program), program.id).organisations] == [newcomer.id]
    # Membership is who takes part: volumes already counted stay.
    after = get(client, "/api/v1/reports/volumes", world["tokens"]["official"], period="month").get_json()
    assert after["totals"] == before["totals"]
    unknown = client.put(path, json={"organisation_ids": [newcomer.id, 999999]}, headers=admin)
    assert unknown.status_code == 404 and "organisation_ids" in unknown.get_json()["errors"]["json"]
    assert client.put("/api/v1/programs/999999/organisations", json={"organisation_ids": []},
                      headers=admin).status_code == 404
    assert client.put(path, json={}, headers=admin).status_code == 422
    emptied = client.put(path, json={"organisation_ids": []}, headers=admin)
    assert emptied.status_code == 200 and emptied.get_json()["organisation_ids"] == []


def test_quality_json_is_the_schemas_answer(db_session):
    rows = [reports.QualityRow(3, "sf", "310000", 10, 7, 1, 5, 2, 1, 1, 0, 30.0, 61.5, labels=("项目", "顺丰", "上海")),
            reports.QualityRow(None, "zto", None, 1, 0, 1, 0, 0, 0, 0, 1, None, None, labels=("无项目", "中通", "未知")),
            reports.QualityRow(4, "jt", "", 3, 3, 0, 0, 1, 0, 0, 0, 12.0, 12.0, labels=("x", "y", "z"))]
    assert dump_quality_rows(rows) == QualityRowSchema(many=True).dump(rows)
    two_labels = [reports.QualityRow(3, "sf", None, 10, 7, 1, 5, 2, 1, 1, 0, 30.0, 61.5, labels=("项目", "顺丰"))]
    assert dump_quality_rows(two_labels) == QualityRowSchema(many=True).dump(two_labels)


def test_late_perishables_json_is_the_schemas_answer(client, world, db_session, create_program, create_shipment):
    fruit = create_program(perishable=True, deadline_hours=48)
    picked = datetime(2026, 3, 2, 9, tzinfo=BJ)
    create_shipment(program=fruit, registered_at=picked, picked_up_at=picked)  # still travelling
    create_shipment(program=fruit, registered_at=picked, picked_up_at=picked,
                    delivered_at=datetime(2026, 3, 6, 9, tzinfo=BJ), status=ShipmentStatus.DELIVERED)
    create_shipment(program=fruit, registered_at=picked)  # never picked up: the clock runs from registration
    rows = db_session.execute(reports.late_perishables(db_session, reports.ReportFilters())).all()
    assert len(rows) == 3
    assert dump_late_rows(rows) == LateShipmentSchema(many=True).dump(rows)
    answer = get(client, "/api/v1/reports/late-perishables", world["tokens"]["official"]).get_json()
    assert answer == dump_late_rows(rows)
