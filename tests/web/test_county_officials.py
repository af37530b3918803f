"""Officials limited to one county (`flask tokens create --role official --county 330681`, also users)
see only that county in every list, report and export (issue 10)."""
import csv
import re
import io
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from shipments.cli import tokens_cli
from shipments.models import ApiToken, User
from shipments.models.enums import OrganisationKind, Role
from shipments.services import access
from tests.web.conftest import csrf_token

ZHUJI, YUECHENG = "330681", "330602"
WHEN = datetime(2026, 6, 2, 3, tzinfo=timezone.utc)


@pytest.fixture
def world(app, db_session, create_organisation, create_program, create_shipment):
    authority = create_organisation(name="诸暨市邮政管理局", kind=OrganisationKind.AUTHORITY)
    farm = create_organisation()
    zhuji = create_program(county_code=ZHUJI, organisations=[farm], year=2026)
    yuecheng = create_program(county_code=YUECHENG, organisations=[farm], year=2026)
    for i in range(3):
        create_shipment(organisation=farm, program=zhuji, origin_division_code=ZHUJI, tracking_number=f"SBX710000000{i}",
                        registered_at=WHEN, pieces=2)
    for i in range(5):
        create_shipment(organisation=farm, program=yuecheng, origin_division_code=YUECHENG,
                        tracking_number=f"SBX720000000{i}", registered_at=WHEN, pieces=1)
    result = app.test_cli_runner().invoke(tokens_cli, ["create", "--org", authority.name, "--role", "official",
                                                       "--county", ZHUJI])
    assert result.exit_code == 0, result.output
    county_token = result.output.strip()
    assert db_session.scalar(select(ApiToken.county_code).where(ApiToken.prefix == county_token[:10])) == ZHUJI
    city_token = access.create_token(db_session, authority, Role.OFFICIAL)
    return {"authority": authority, "zhuji": zhuji, "yuecheng": yuecheng, "county": county_token, "city": city_token}


def get(client, path, token, **query):
    return client.get(path, headers={"Authorization": f"Bearer {token}"}, query_string=query)


def test_county_is_for_officials_and_known_counties_only(app, world):
    runner = app.test_cli_runner()
    member = runner.invoke(tokens_cli, ["create", "--org", world["authority"].name, "--role", "member",
                                        "--county", ZHUJI])
    assert member.exit_code != 0 and "only officials" in member.output
    unknown = runner.invoke(tokens_cli, ["create", "--org", world["authority"].name, "--role", "official",
                                         "--county", "330699"])
    assert unknown.exit_code != 0 and "330699" in unknown.output


def test_api_lists_reports_and_exports_show_only_the_county(client, world):
    county, city = world["county"], world["city"]
    listed = get(client, "/api/v1/shipments", county).get_json()["items"]
    assert {i["number"][:7] for i in listed} == {"SBX7100"} and len(listed) == 3
    assert len(get(client, "/api/v1/shipments", city).get_json()["items"]) == 8
    assert get(client, "/api/v1/shipments/sandbox/SBX7200000000", county).status_code == 404
    assert get(client, "/api/v1/shipments/sandbox/SBX7100000000", county).status_code == 200
    volumes = get(client, "/api/v1/reports/volumes", county, period="month").get_json()
    assert volumes["totals"]["shipments"] == 3 and volumes["totals"]["pieces"] == 6
    assert get(client, "/api/v1/reports/volumes", city, period="month").get_json()["totals"]["shipments"] == 8
    other = get(client, "/api/v1/reports/volumes", county, period="month", county=YUECHENG).get_json()
    assert other["totals"]["shipments"] == 0  # another county's figures are empty
    quality = get(client, "/api/v1/reports/quality", county).get_json()
    assert sum(r["shipments"] for r in quality) == 3
    network = get(client, "/api/v1/reports/network", county).get_json()
    assert sum(t["outbound"] + t["inbound"] for t in network["townships"]) <= 3
    exported = get(client, "/api/v1/reports/volumes", county, period="month", group_by="program", format="csv")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    text = "\n".join(",".join(r) for r in rows)
    assert world["zhuji"].name in text and world["yuecheng"].name not in text
    assert get(client, f"/api/v1/programs/{world['yuecheng'].id}/progress", county).status_code == 404
    assert get(client, f"/api/v1/programs/{world['zhuji'].id}/progress", county).status_code == 200


def test_a_county_official_user_sees_only_the_county_on_the_dashboard(client, db_session, world):
    user = User(organisation=world["authority"], username="zhuji-official", display_name="诸暨", role=Role.OFFICIAL,
                password_hash=generate_password_hash("x"), county_code=ZHUJI)
    db_session.add(user)
    db_session.flush()
    response = client.post("/login", data={"username": user.username, "password": "x",
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302
    page = client.get("/dashboard?as_of=2026-12-31").get_data(as_text=True)
    assert world["zhuji"].name in page and world["yuecheng"].name not in page
    drill = client.get("/dashboard/shipments").get_data(as_text=True)
    assert "SBX7100000000" in drill and "SBX7200000000" not in drill
    export = client.get("/dashboard/export/volumes.xlsx?period=month")
    sheet = list(load_workbook(io.BytesIO(export.data)).active.iter_rows(values_only=True))
    assert sheet[-1][:3] == ("合计", 3, 6), sheet[-1]  # the city official would see 8 and 11
    progress = client.get("/dashboard/export/progress.csv?as_of=2026-12-31").get_data(as_text=True)
    assert world["zhuji"].name in progress and world["yuecheng"].name not in progress
