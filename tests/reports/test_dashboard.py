"""The officials' dashboard: access, figures, drill-down, exports."""
import io
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook
from werkzeug.security import generate_password_hash

from shipments.models import User
from shipments.models.enums import OrganisationKind, Product, Role
from shipments.services import reports

BJ = reports.BEIJING


@pytest.fixture
def login(client, db_session, create_organisation):
    def as_role(role: Role):
        org = create_organisation(kind=OrganisationKind.AUTHORITY if role != Role.MEMBER else OrganisationKind.FARM)
        user = User(organisation=org, username=f"u-{role}-{org.id}", display_name="测试", role=role,
                    password_hash=generate_password_hash("x"))
        db_session.add(user)
        db_session.flush()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post("/login", data={"username": user.username, "password": "x", "csrf_token": token})
        assert response.status_code == 302
        return user
    return as_role


@pytest.fixture
def figures(db_session, create_program, create_shipment, network):
    program = create_program(name="上虞杨梅测试项目", product=Product.BAYBERRY, county_code="330604",
                             season_start_month=6, season_end_month=7, perishable=True, deadline_hours=48)
    for day in (3, 4, 5):
        create_shipment(program=program, pieces=2, carrier="zto", destination_province_code="310000",
                        registered_at=datetime(2026, 6, day, 9, tzinfo=BJ),
                        picked_up_at=datetime(2026, 6, day, 12, tzinfo=BJ),
                        origin_station_id=network["villages"][0].id)
    return program


PAGES = ["/dashboard?as_of=2026-06-30", "/dashboard/shipments", "/dashboard/export/volumes.csv"]


@pytest.mark.parametrize("path", PAGES)
def test_dashboard_needs_an_official_or_admin(client, login, path):
    assert client.get(path).status_code in (302, 401)
    login(Role.MEMBER)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("role", [Role.OFFICIAL, Role.ADMIN])
def test_dashboard_shows_cards_quality_and_late_perishables(client, login, figures, role):
    login(role)
    html = client.get("/dashboard?as_of=2026-06-30").get_data(as_text=True)
    assert "上虞杨梅测试项目" in html and "十万件" in html
    assert "示意图" in html
    assert "echarts.min.js" in html
    # The late list: picked up in June and never delivered, past 48 h.
    assert html.count("中通快递 <code>SBX") == 3


def test_dashboard_network_line_uses_each_languages_punctuation(client, login, figures):
    login(Role.OFFICIAL)
    html = client.get("/dashboard?as_of=2026-06-30").get_data(as_text=True)
    assert re.search(r"（[\d,]+/[\d,]+）；14天无寄递站点", html)  # not "(1/2); " in Chinese text
    client.set_cookie("lang", "en")
    html = client.get("/dashboard?as_of=2026-06-30").get_data(as_text=True)
    assert re.search(r"\([\d,]+/[\d,]+\); stations silent for 14 days", html)


def test_every_drill_down_lists_the_shipments_behind_the_figure(client, login, figures, db_session):
    login(Role.OFFICIAL)
    report = reports.volume_report(db_session, "month", ("program",), reports.ReportFilters(program_id=figures.id))
    html = client.get(f"/dashboard/shipments?program_id={figures.id}&date_from=2026-06-01&date_to=2026-06-30")
    assert f'共 <b id="total">{report.totals["shipments"]}</b> 票' in html.get_data(as_text=True)
    html = client.get("/dashboard/shipments?county=330681&carrier=zto").get_data(as_text=True)
    assert '共 <b id="total">3</b> 票' in html  # through a Zhuji village station
    assert client.get("/dashboard/shipments?status=lost").status_code == 400


def test_drill_down_pages_link_each_shipment_and_refuse_reversed_dates(client, login, figures, create_shipment):
    login(Role.OFFICIAL)
    for day in range(1, 56):  # 58 in June: two pages of 50
        create_shipment(program=figures, registered_at=datetime(2026, 6, 6, 9, tzinfo=BJ), pieces=1,
                        tracking_number=f"SBX71{day:08d}")
    html = client.get(f"/dashboard/shipments?program_id={figures.id}&date_from=2026-06-01&date_to=2026-06-30"
                      ).get_data(as_text=True)
    assert '共 <b id="total">58</b> 票，显示第 1–50 票' in html
    assert html.count('href="/dashboard/network/shipment/sandbox/SBX71') == 50  # each links to the shipment
    assert 'rel="next"' in html and 'aria-current="page">1<' in html
    html = client.get(f"/dashboard/shipments?program_id={figures.id}&date_from=2026-06-01&date_to=2026-06-30"
                      "&page=2").get_data(as_text=True)
    assert "显示第 51–58 票" in html and 'rel="prev"' in html
    one = client.get("/dashboard/network/shipment/sandbox/SBX7100000001")
    assert one.status_code == 200 and "SBX7100000001" in one.get_data(as_text=True)
    reversed_dates = client.get("/dashboard/shipments?date_from=2026-06-30&date_to=2026-06-01")
    assert reversed_dates.status_code == 400
    assert "开始日期晚于结束日期" in reversed_dates.get_data(as_text=True)


def test_dashboard_exports_in_the_ui_language(client, login, figures):
    login(Role.OFFICIAL)
    response = client.get("/dashboard/export/progress.xlsx?as_of=2026-06-30&lang=en")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet["A1"].value == "Program progress as of 2026-06-30"
    response = client.get("/dashboard/export/late.csv?date_from=2026-06-01")
    assert "生鲜超时件清单" in response.get_data().decode("utf-8")


def test_dashboard_exports_follow_the_language_switch(client, login, figures):
    login(Role.OFFICIAL)
    client.set_cookie("lang", "en")
    response = client.get("/dashboard/export/progress.xlsx?as_of=2026-06-30")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet["A1"].value == "Program progress as of 2026-06-30"


def test_dashboard_filters_by_program_and_county(client, login, figures, create_program):
    other = create_program(name="新昌测试茶项目", county_code="330624")
    login(Role.OFFICIAL)
    html = client.get(f"/dashboard?as_of=2026-06-30&program_id={figures.id}").get_data(as_text=True)
    assert f'data-program="{figures.id}"' in html and f'data-program="{other.id}"' not in html
    assert f"program_id={figures.id}" in html  # the exports and drill-downs carry the filter
    html = client.get("/dashboard?as_of=2026-06-30&county=330624").get_data(as_text=True)
    assert f'data-program="{other.id}"' in html and f'data-program="{figures.id}"' not in html
    assert client.get("/dashboard?county=abc").status_code == 400


def test_done_counts_parcels_the_carrier_has_taken_and_its_drill_down_lists_them(client, login, figures,
                                                                                create_shipment):
    # figures: three parcels picked up but still "pending" in the fixture → not done.
    when = datetime(2026, 6, 10, 9, tzinfo=BJ)
    for status in ("in_transit", "delivered", "exception"):
        create_shipment(program=figures, status=status, pieces=2, registered_at=when)
    for status in ("pending", "info_received", "cancelled", "returning", "returned"):
        create_shipment(program=figures, status=status, pieces=5, registered_at=when)
    login(Role.OFFICIAL)
    html = client.get(f"/dashboard?as_of=2026-06-30&program_id={figures.id}").get_data(as_text=True)
    assert "已被快递揽收" in html  # the definition is stated on the page
    card = html[html.index(f'data-program="{figures.id}"'):]
    done = re.search(r"完成 ([\d,]+) 件（([\d,]+) 票）", card)
    assert (done.group(1), done.group(2)) == ("6", "3")
    href = re.search(r'<h3><a href="([^"]+)"', card).group(1).replace("&amp;", "&")
    assert "taken=" in href
    listing = client.get(href).get_data(as_text=True)
    assert re.search(r'id="total">([\d,]+)<', listing).group(1) == done.group(2)
    assert listing.count('href="/dashboard/network/shipment/') == 3


def test_quality_card_is_per_carrier_and_leads_to_programs_then_provinces(client, login, figures,
                                                                          create_shipment):
    create_shipment(program=figures, carrier="zto", destination_province_code="440000", pieces=1,
                    registered_at=datetime(2026, 6, 6, 9, tzinfo=BJ))
    login(Role.OFFICIAL)
    html = client.get("/dashboard?as_of=2026-06-30").get_data(as_text=True)
    card = html[html.index('id="quality"'):html.index("</table>", html.index('id="quality"'))]
    assert "<td>中通快递</td>" in card and "上虞杨梅测试项目" not in card and "上海" not in card  # per carrier
    link = re.search(r'href="(/dashboard/quality\?[^"]*)">按项目<', card).group(1).replace("&amp;", "&")
    assert "carrier=zto" in link and "date_to=2026-06-30" in link and "by_province" not in link
    programs = client.get(link).get_data(as_text=True)
    assert "快递企业：中通快递" in programs  # the filter, said once above the table, not on every row
    assert "<tr><td>上虞杨梅测试项目</td>\n" in programs and "<td>中通快递</td>" not in programs
    assert "<th>目的省份</th>" not in programs
    link = re.search(r'href="(/dashboard/quality\?[^"]*by_province=1[^"]*)">按省份<', programs).group(1)
    link = link.replace("&amp;", "&")
    assert f"program_id={figures.id}" in link and "carrier=zto" in link and "date_to=2026-06-30" in link
    page = client.get(link)
    assert page.status_code == 200
    rows = re.findall(r"<tr><td>([^<]+)</td>\s*<td class=\"num\"><a href=\"([^\"]+)\">(\d+)",
                      page.get_data(as_text=True))
    assert [(province, int(n)) for province, _, n in rows] == [("上海市", 3), ("广东省", 1)]
    assert "province=440000" in rows[1][1] and f"program_id={figures.id}" in rows[1][1]  # each count drills down
    export = client.get(link.replace("/dashboard/quality?", "/dashboard/export/quality.xlsx?"))
    sheet = load_workbook(io.BytesIO(export.get_data())).active
    assert [c.value for c in sheet[3]][2] == "目的省份" and sheet.max_row == 3 + 2 + 1
    refused = client.get("/dashboard/quality?carrier=nope")
    assert refused.status_code == 400 and "以下筛选条件无效：carrier。" in refused.get_data(as_text=True)
    reversed_dates = client.get("/dashboard/quality?date_from=2026-06-30&date_to=2026-06-01")
    assert reversed_dates.status_code == 400 and "开始日期晚于结束日期" in reversed_dates.get_data(as_text=True)


def test_every_link_of_the_dashboard_answers(client, login, figures):
    """The filter form's "all" choices and the links of a page without a county filter send blank values."""
    login(Role.OFFICIAL)
    html = client.get("/dashboard?as_of=2026-06-30&program_id=&county=").get_data(as_text=True)
    links = sorted({href.replace("&amp;", "&") for href in re.findall(r'href="(/dashboard[^"]*)"', html)})
    assert any("county=&" in link or link.endswith("county=") for link in links)
    assert len(links) > 10
    for link in links:
        assert client.get(link).status_code == 200, link
