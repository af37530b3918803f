"""Admin pages for the network: the census upload and a centre's daily volume (form and CSV)."""
import io
from datetime import date

from sqlalchemy import select

from shipments.models import CentreDay, Station
from shipments.models.enums import OrganisationKind, Role, StationLevel
from tests.web.conftest import csrf_token, login


def test_admin_imports_a_census_and_records_centre_days(client, db_session, create_user, create_station):
    centre = create_station(level=StationLevel.TOWNSHIP, name="测试共配中心Z", daily_capacity=3000)
    db_session.commit()
    login(client, create_user(Role.ADMIN))
    token = csrf_token(client, "/admin/stations")
    census = "站点名称,层级,所属乡镇,邮快合作\n测试站X,村级,平水镇,是\n测试站Y,村级,火星镇,否\n".encode()
    page = client.post("/admin/stations/census", data={"csrf_token": token, "file": (io.BytesIO(census), "普查.csv")},
                       content_type="multipart/form-data")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "行号 3" in text and "division" in text
    assert db_session.scalar(select(Station).where(Station.name == "测试站X")).post_express is True
    token = csrf_token(client, "/admin/centres")
    done = client.post("/admin/centres", data={"csrf_token": token, "single": "1", "one-centre_id": str(centre.id),
                                               "one-day": "2026-11-20", "one-sorted_pieces": "2100"})
    assert done.status_code == 303
    upload = client.post("/admin/centres", content_type="multipart/form-data", data={
        "csrf_token": token, "csv-centre_id": str(centre.id),
        "csv-file": (io.BytesIO(b"day,pieces\n2026-11-21,2300\n2026-13-01,5\n"), "centre.csv")})
    assert upload.status_code == 400 and "行号 3" in upload.get_data(as_text=True)
    days = dict(db_session.execute(select(CentreDay.day, CentreDay.sorted_pieces)
                                   .where(CentreDay.station_id == centre.id)).all())
    assert days == {date(2026, 11, 20): 2100, date(2026, 11, 21): 2300}
    assert client.get("/admin/stations?level=village").status_code == 200


def test_admin_adds_and_changes_a_route_with_ordered_stops_and_clear_errors(client, db_session, create_user,
                                                                            create_station):
    from shipments.models import Route

    centre = create_station(level=StationLevel.TOWNSHIP, name="测试线路中心")
    a, b = create_station(name="测试线路甲村"), create_station(name="测试线路乙村", census_code="PS-R-02")
    zhuji = create_station(name="测试诸暨村", division_code="330681108")
    db_session.commit()
    login(client, create_user(Role.ADMIN))
    token = csrf_token(client, "/admin/routes")
    form = {"csrf_token": token, "name": "测试客货邮一号线", "kind": "passenger_freight_mail", "county_code": "330603",
            "operator": "平水客运站", "departures": "07:30 13:30", "active": "y",
            "stops": "测试线路中心, 0\nPS-R-02，20\n\n测试线路甲村\t35\n"}
    done = client.post("/admin/routes", data=form)
    assert done.status_code == 303, done.get_data(as_text=True)
    route = db_session.scalar(select(Route).where(Route.name == "测试客货邮一号线"))
    assert [(s.position, s.station_id, s.minutes) for s in route.stops] == [(1, centre.id, 0), (2, b.id, 20),
                                                                            (3, a.id, 35)]
    assert route.departures == "07:30 13:30" and route.operator == "平水客运站" and route.active

    # Errors name the field, and the line for stops; nothing is saved.
    cases = [({"stops": "测试线路中心\n没有这个站"}, "stops", "第 2 行"),
             ({"stops": "测试线路中心, 30\n测试线路甲村, 10"}, "stops", "不减"),
             ({"stops": "测试线路中心\n测试诸暨村"}, "stops", "不在该区县"),
             ({"stops": "测试线路中心, abc"}, "stops", "分钟"),
             ({"departures": "25:00"}, "departures", "HH:MM"),
             ({"county_code": "999999"}, "county_code", "区县")]
    for change, field_name, words in cases:
        page = client.post("/admin/routes", data={**form, "name": "测试坏线路", **change})
        assert page.status_code == 400
        text = page.get_data(as_text=True)
        assert f'id="{field_name}-error"' in text and words in text, (change, text[:200])
    assert db_session.scalar(select(Route).where(Route.name == "测试坏线路")) is None
    clash = client.post("/admin/routes", data=form)
    assert clash.status_code == 400 and 'id="name-error"' in clash.get_data(as_text=True)

    # Editing: the page shows the stops as typed; reordering and dropping a stop replaces them.
    page = client.get(f"/admin/routes/{route.id}")
    assert page.status_code == 200 and "测试线路乙村, 20" in page.get_data(as_text=True)
    changed = client.post(f"/admin/routes/{route.id}", data={**form, "name": "测试客货邮一号线（改）",
                                                             "stops": "测试线路甲村\n测试线路中心", "departures": "08:00"})
    assert changed.status_code == 303
    db_session.expire_all()
    route = db_session.get(Route, route.id)
    assert route.name == "测试客货邮一号线（改）" and route.departures == "08:00"
    assert [(s.position, s.station_id, s.minutes) for s in route.stops] == [(1, a.id, 0), (2, centre.id, 10)]
    assert client.get("/admin/routes/2147483647").status_code == 404
    assert zhuji.id  # used above as a stop of another county


def test_a_centres_sorting_equipment_token_is_made_on_the_page(client, db_session, create_user, create_organisation,
                                                               create_station):
    """The centre's token reports that centre's daily volumes and no other's; only operator member tokens get one."""
    centre = create_station(level=StationLevel.TOWNSHIP, name="测试平水共配中心", division_code="330603105")
    other = create_station(level=StationLevel.TOWNSHIP, name="测试王坛共配中心", division_code="330603107")
    operator = create_organisation(kind=OrganisationKind.OPERATOR)
    db_session.commit()
    admin_client = client
    login(admin_client, create_user(Role.ADMIN))
    page = admin_client.get("/admin/tokens").get_data(as_text=True)
    assert f'<option value="{centre.id}">测试平水共配中心</option>' in page
    refused = admin_client.post("/admin/tokens", data={
        "organisation_id": create_organisation().id, "role": "member", "centre_id": str(centre.id), "name": "sorter",
        "csrf_token": csrf_token(admin_client)})
    assert refused.status_code == 400 and "共配中心令牌" in refused.get_data(as_text=True)
    assert admin_client.post("/admin/tokens", data={
        "organisation_id": operator.id, "role": "member", "centre_id": "999999", "name": "sorter",
        "csrf_token": csrf_token(admin_client)}).status_code == 400
    response = admin_client.post("/admin/tokens", data={
        "organisation_id": operator.id, "role": "member", "centre_id": str(centre.id), "name": "sorter",
        "csrf_token": csrf_token(admin_client)})
    assert response.status_code == 200
    plain = response.get_data(as_text=True).split('data-testid="new-token"')[0].rsplit('value="', 1)[1].split('"')[0]
    headers = {"Authorization": "Bearer " + plain}
    days = {"days": [{"day": "2026-11-13", "sorted_pieces": 740}]}
    assert client.post(f"/api/v1/centres/{centre.id}/daily", json=days, headers=headers).status_code == 200
    assert client.post(f"/api/v1/centres/{other.id}/daily", json=days, headers=headers).status_code == 403
