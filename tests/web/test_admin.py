"""Admin pages: organisations, users, tokens, programs, stations."""
import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from shipments.models import ApiToken, Organisation, Program, Station, User
from shipments.models.enums import OrganisationKind, Role
from shipments.services import access
from tests.web.conftest import csrf_token, login

ADMIN_PAGES = ["/admin/", "/admin/organisations", "/admin/users", "/admin/tokens", "/admin/programs",
               "/admin/stations"]


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
