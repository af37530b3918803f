"""Admin pages: organisations, users, tokens, programs, stations."""
import re

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from shipments.models import ApiToken, Organisation, Program, Station, User
from shipments.models.enums import OrganisationKind, Role
from shipments.services import access
from tests.web.conftest import csrf_token, login

ADMIN_PAGES = ["/admin/", "/admin/organisations", "/admin/users", "/admin/tokens", "/admin/programs",
               "/admin/stations", "/admin/centres", "/admin/routes"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_need_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", [Role.MEMBER, Role.OFFICIAL])
@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_refuse_other_roles(client, create_user, role, path):
    login(client, create_user(role))
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_render(admin_client, path):
    assert admin_client.get(path).status_code == 200


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_the_sub_navigation_has_one_entry_per_page_and_one_for_routes(admin_client, path):
    """Routes were reachable twice ("共配中心与线路" and "线路"): one entry now, the centres page is centres only."""
    admin_client.set_cookie("lang", "zh_Hans_CN")
    page = admin_client.get(path).get_data(as_text=True)
    nav = page[page.index('data-testid="sub-nav"'):]
    nav = nav[:nav.index("</nav>")]
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', nav)
    targets, words = [href for href, _ in links], [label for _, label in links]
    assert len(targets) == len(set(targets)) and len(words) == len(set(words)), links
    assert [label for label in words if "线路" in label] == ["线路"]
    assert [href for href in targets if "/routes" in href] == ["/admin/routes"]
    assert ("/admin/centres", "共配中心") in links


def test_add_organisation_and_refuse_a_duplicate_name(admin_client, db_session):
    data = {"name": "嵊州新合作社", "kind": "cooperative", "county_code": "330683"}
    response = admin_client.post("/admin/organisations", data={**data, "csrf_token": csrf_token(admin_client)})
    assert response.status_code == 303
    org = db_session.scalar(select(Organisation).where(Organisation.name == "嵊州新合作社"))
    assert org.kind == OrganisationKind.COOPERATIVE and org.county_code == "330683"
    again = admin_client.post("/admin/organisations", data={**data, "csrf_token": csrf_token(admin_client)})
    assert again.status_code == 400 and "同名机构已存在" in again.get_data(as_text=True)


def test_add_user_stores_a_hash_and_the_user_can_log_in(admin_client, client, db_session, create_organisation):
    org = create_organisation()
    response = admin_client.post("/admin/users", data={
        "organisation_id": org.id, "username": "new-clerk", "display_name": "李四", "password": "long-enough-1",
        "role": "member", "csrf_token": csrf_token(admin_client)})
    assert response.status_code == 303
    user = db_session.scalar(select(User).where(User.username == "new-clerk"))
    assert user.password_hash != "long-enough-1" and check_password_hash(user.password_hash, "long-enough-1")


def test_short_password_is_refused_naming_the_field(admin_client, db_session, create_organisation):
    org = create_organisation()
    response = admin_client.post("/admin/users", data={
        "organisation_id": org.id, "username": "shorty", "password": "short", "role": "member",
        "csrf_token": csrf_token(admin_client)})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="password-error"' in page and "至少需要 8 个字符" in page
    assert db_session.scalar(select(User).where(User.username == "shorty")) is None


def test_admin_role_only_in_the_operator_organisation(admin_client, db_session, create_organisation):
    org = create_organisation(kind=OrganisationKind.COOPERATIVE)
    response = admin_client.post("/admin/users", data={
        "organisation_id": org.id, "username": "sneaky", "password": "long-enough-1", "role": "admin",
        "csrf_token": csrf_token(admin_client)})
    assert response.status_code == 400
    assert db_session.scalar(select(User).where(User.username == "sneaky")) is None


def test_deactivated_user_cannot_log_in(admin_client, app, db_session, create_user):
    client = app.test_client()
    clerk = create_user(Role.MEMBER)
    admin_client.post("/admin/users/active", data={"user_id": clerk.id, "active": "0",
                                                   "csrf_token": csrf_token(admin_client)})
    db_session.refresh(clerk)
    assert clerk.active is False
    response = client.post("/login", data={"username": clerk.username, "password": "s3cret-pass",
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 400


def test_token_is_shown_once_works_and_can_be_revoked(admin_client, db_session, create_organisation):
    org = create_organisation()
    response = admin_client.post("/admin/tokens", data={
        "organisation_id": org.id, "role": "member", "name": "erp", "csrf_token": csrf_token(admin_client)})
    page = response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    plain = page.split('data-testid="new-token"')[0].rsplit('value="', 1)[1].split('"')[0]
    caller = access.find_caller(db_session, plain)
    assert caller is not None and caller.organisation_id == org.id and caller.role == Role.MEMBER
    token = db_session.get(ApiToken, caller.token_id)
    assert plain not in admin_client.get("/admin/tokens").get_data(as_text=True)  # only once
    admin_client.post("/admin/tokens/revoke", data={"prefix": token.prefix, "csrf_token": csrf_token(admin_client)})
    assert access.find_caller(db_session, plain) is None
    assert db_session.get(ApiToken, token.id).revoked_at is not None


def test_add_perishable_program_needs_a_deadline(admin_client, db_session):
    data = {"name": "上虞杨梅试点", "name_en": "Bayberry pilot", "product": "bayberry", "county_code": "330604",
            "year": "2026", "target_pieces": "120000", "season_start_month": "6", "season_end_month": "7",
            "perishable": "y"}
    refused = admin_client.post("/admin/programs", data={**data, "csrf_token": csrf_token(admin_client)})
    assert refused.status_code == 400 and "送达时限" in refused.get_data(as_text=True)
    accepted = admin_client.post("/admin/programs", data={**data, "deadline_hours": "48",
                                                          "csrf_token": csrf_token(admin_client)})
    assert accepted.status_code == 303
    program = db_session.scalar(select(Program).where(Program.name == "上虞杨梅试点"))
    assert program.deadline_hours == 48 and program.tier == "十万件" and program.perishable
    again = admin_client.post("/admin/programs", data={**data, "deadline_hours": "48",
                                                       "csrf_token": csrf_token(admin_client)})
    assert again.status_code == 400 and "同名项目已存在" in again.get_data(as_text=True)


def test_add_station_checks_level_and_kind(admin_client, db_session):
    bad = {"name": "王坛村级站", "level": "village", "kind": "co_distribution_centre", "division_code": "330603105"}
    assert admin_client.post("/admin/stations", data={**bad, "csrf_token": csrf_token(admin_client)}).status_code == 400
    good = {**bad, "kind": "village_station"}
    assert admin_client.post("/admin/stations", data={**good, "csrf_token": csrf_token(admin_client)}).status_code == 303
    assert db_session.scalar(select(Station).where(Station.name == "王坛村级站")).division_code == "330603105"


def test_names_are_unique_whatever_their_case(admin_client, db_session, create_organisation):
    create_organisation(name="Wine-Coop")
    response = admin_client.post("/admin/organisations", data={
        "name": " wine-coop ", "kind": "cooperative", "county_code": "", "csrf_token": csrf_token(admin_client)})
    assert response.status_code == 400 and "同名机构已存在" in response.get_data(as_text=True)
    org = create_organisation()
    admin_client.post("/admin/users", data={"organisation_id": org.id, "username": "Clerk-A", "password": "long-enough-1",
                                            "role": "member", "csrf_token": csrf_token(admin_client)})
    again = admin_client.post("/admin/users", data={"organisation_id": org.id, "username": "clerk-a",
                                                    "password": "long-enough-1", "role": "member",
                                                    "csrf_token": csrf_token(admin_client)})
    assert again.status_code == 400
    assert db_session.scalar(select(User).where(User.username == "clerk-a")) is None


def test_add_user_form_preselects_nothing_that_fails(admin_client):
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert '<option selected value="member">' in page or '<option value="member" selected>' in page
    assert '<option selected value="">请选择机构</option>' in page or '<option value="" selected>请选择机构</option>' in page
    response = admin_client.post("/admin/users", data={"organisation_id": "", "username": "x1", "password": "long-enough",
                                                       "role": "member", "csrf_token": csrf_token(admin_client)})
    assert response.status_code == 400 and "请选择用户所属机构" in response.get_data(as_text=True)


@pytest.mark.parametrize("field, value, message", [
    ("target_pieces", "0", "目标件数应为 1 至 100,000,000 件"),
    ("target_pieces", "-3", "目标件数应为 1 至 100,000,000 件"),
    ("target_pieces", "", "请输入目标件数"),
    ("year", "1999", "年份应为 2020 至 2100"),
    ("deadline_hours", "5000", "送达时限应为 1 至 720 小时"),
])
def test_program_form_states_the_bounds(admin_client, field, value, message):
    data = {"name": "新项目", "name_en": "New", "product": "tea", "county_code": "330624", "year": "2026",
            "target_pieces": "1000", "season_start_month": "3", "season_end_month": "5", "deadline_hours": "",
            field: value, "csrf_token": csrf_token(admin_client)}
    response = admin_client.post("/admin/programs", data=data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_edit_and_deactivate_an_organisation(admin_client, db_session, create_organisation, create_user):
    org = create_organisation(name="旧名合作社")
    clerk = create_user(Role.MEMBER, organisation=org)
    token = access.create_token(db_session, org, Role.MEMBER, "t")
    response = admin_client.post(f"/admin/organisations/{org.id}", data={
        "name": "新名合作社", "kind": "farm", "county_code": "330683", "csrf_token": csrf_token(admin_client)})
    assert response.status_code == 303
    assert (org.name, org.kind, org.county_code) == ("新名合作社", OrganisationKind.FARM, "330683")
    response = admin_client.post(f"/admin/organisations/{org.id}/active", data={
        "active": "0", "csrf_token": csrf_token(admin_client)})
    assert response.status_code == 303
    db_session.refresh(clerk)
    assert not org.active and not clerk.active
    assert db_session.scalar(select(ApiToken).where(ApiToken.organisation_id == org.id)).revoked_at is not None
    assert token and "已停用" in admin_client.get("/admin/organisations").get_data(as_text=True)


def test_edit_and_deactivate_a_program(admin_client, db_session, create_program):
    program = create_program(name="测试项目A")
    response = admin_client.post(f"/admin/programs/{program.id}", data={
        "name": "测试项目B", "name_en": "Test B", "product": program.product.value, "county_code": program.county_code,
        "year": str(program.year), "target_pieces": "2000", "season_start_month": "4", "season_end_month": "6",
        "perishable": "y", "deadline_hours": "48", "csrf_token": csrf_token(admin_client)})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert (program.name, program.target_pieces, program.deadline_hours) == ("测试项目B", 2000, 48)
    admin_client.post(f"/admin/programs/{program.id}/active", data={"active": "0", "csrf_token": csrf_token(admin_client)})
    assert program.active is False


def test_admin_resets_a_password(admin_client, db_session, create_user):
    clerk = create_user(Role.MEMBER)
    short = admin_client.post(f"/admin/users/{clerk.id}/password", data={"password": "short",
                                                                          "csrf_token": csrf_token(admin_client)})
    assert short.status_code == 400 and "8" in short.get_data(as_text=True)
    response = admin_client.post(f"/admin/users/{clerk.id}/password", data={
        "password": "brand-new-pass", "csrf_token": csrf_token(admin_client)})
    assert response.status_code == 303 and check_password_hash(clerk.password_hash, "brand-new-pass")


def test_admin_puts_organisations_into_a_program_and_takes_them_out(admin_client, db_session, create_program,
                                                                    create_organisation):
    program = create_program(name="成员测试项目")
    coop = create_organisation(name="新成立合作社")
    page = admin_client.get(f"/admin/programs/{program.id}").get_data(as_text=True)
    assert "新成立合作社" in page and "尚无机构参加" in page
    response = admin_client.post(f"/admin/programs/{program.id}/organisations", data={
        "organisation_id": coop.id, "action": "add", "csrf_token": csrf_token(admin_client)})
    assert response.status_code == 303
    assert [o.name for o in program.organisations] == ["新成立合作社"]
    admin_client.post(f"/admin/programs/{program.id}/organisations", data={
        "organisation_id": coop.id, "action": "remove", "csrf_token": csrf_token(admin_client)})
    assert program.organisations == []
