"""Issue 15 on the pages: sessions, throttling, redirects, headers, forms that used to answer 500.
Each test reproduces a case of the attack run: status, message, and nothing changed."""
import io
import os
import re

import pytest
from flask import g
from sqlalchemy import func, select

from shipments import create_app
from shipments.extensions import limiter
from shipments.models import ApiToken, Organisation, Shipment, User
from shipments.models.enums import OrganisationKind, Role
from shipments.services import users
from tests.hardening.conftest import far_cell_xlsx
from tests.web.conftest import PASSWORD, csrf_token, login


def count(db_session, model, *where):
    return db_session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def fresh_limits():
    limiter.reset()
    yield
    limiter.reset()


# ------------------------------------------------------------------ sessions
def test_a_session_cookie_copied_before_logout_stops_working(client, app, member):
    login(client, member)
    copied = client.get_cookie("session").value
    assert client.get("/portal/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/portal/")})
    thief = app.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/portal/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_password_change_ends_other_sessions(client, app, db_session, member):
    login(client, member)
    users.change_password(member, "another-long-password")
    db_session.commit()
    g.pop("_login_user", None)  # the tests' app context outlives requests: drop Flask-Login's cached user
    response = client.get("/portal/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("session_id", ["99999999999999999999.0", "2147483648.0", "1.99999999999", "abc", "1"])
def test_odd_user_ids_in_a_session_are_logged_out_not_500(client, app, session_id):
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    response = client.get("/portal/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_wrong_passwords_are_throttled_per_account_with_a_message(client, member, fresh_limits):
    token = csrf_token(client, "/login")
    answers = [client.post("/login", data={"username": member.username, "password": "wrong", "csrf_token": token},
                           environ_base={"REMOTE_ADDR": f"10.1.0.{i}"}).status_code for i in range(7)]
    assert answers == [400] * 5 + [429] * 2
    page = client.post("/login", data={"username": member.username, "password": PASSWORD, "csrf_token": token})
    assert page.status_code == 429 and "登录失败次数过多" in page.get_data(as_text=True)
    assert "Retry-After" in page.headers


def test_wrong_passwords_are_throttled_per_address(client, create_user, fresh_limits):
    token = csrf_token(client, "/login")
    answers = [client.post("/login", data={"username": f"nobody{i}", "password": "wrong", "csrf_token": token},
                           environ_base={"REMOTE_ADDR": "10.2.0.1"}).status_code for i in range(12)]
    assert answers == [400] * 10 + [429] * 2


def test_right_passwords_are_never_throttled(client, member, fresh_limits):
    for _ in range(12):
        login(client, member)


@pytest.mark.parametrize("target", ["/%09/evil.example", "/\t/evil.example", "//evil.example", "/\\evil.example",
                                    "/%0a/x", "/\n/x", "https://evil.example/", "/ /evil.example"])
def test_login_next_only_goes_to_same_site_paths(client, member, target, fresh_limits):
    from urllib.parse import quote
    response = client.post(f"/login?next={quote(target, safe='%')}", data={
        "username": member.username, "password": PASSWORD, "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302
    assert response.headers["Location"] == "/portal/"


def test_login_next_keeps_a_plain_path(client, member):
    response = client.post("/login?next=/portal/register", data={
        "username": member.username, "password": PASSWORD, "csrf_token": csrf_token(client, "/login")})
    assert response.headers["Location"] == "/portal/register"


@pytest.mark.parametrize("target", ["/\t/evil.example", "//evil.example", "/\\evil.example", "http://evil.example"])
def test_lang_goes_back_only_to_same_site_paths(client, target):
    response = client.post("/lang", data={"lang": "en", "next": target, "csrf_token": csrf_token(client)})
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_secure_cookies_and_hsts_outside_debug_and_loopback(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "SECRET_KEY": "x",
                      "SCHEDULER_IN_PROCESS": False, "PUBLIC_BASE_URL": "https://track.example.cn"})
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["REMEMBER_COOKIE_SECURE"] is True
    response = app.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in response.headers["Set-Cookie"]
    local = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'l.db'}", "SECRET_KEY": "x",
                        "SCHEDULER_IN_PROCESS": False, "PUBLIC_BASE_URL": "http://127.0.0.1:5000"})
    assert local.config["SESSION_COOKIE_SECURE"] is False
    assert "Strict-Transport-Security" not in local.test_client().get("/login").headers
    production = create_app({"DATABASE_URL": "postgresql+psycopg://u@127.0.0.1:1/x", "SECRET_KEY": "x",
                             "SCHEDULER_IN_PROCESS": False})
    assert production.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("path", ["/api/docs/swagger", "/api/docs/redoc"])
def test_api_docs_pages_cannot_be_framed(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


# ------------------------------------------------------------------ programs and admin
def test_web_upload_refuses_a_program_the_member_has_not_joined(member_client, db_session, member, create_program):
    other = create_program()
    before = count(db_session, Shipment)
    for program_id in (str(other.id), "999999"):
        response = member_client.post("/portal/upload", data={
            "file": (io.BytesIO("运单号\nSBX0000000601\n".encode()), "o.csv"), "program_id": program_id,
            "batch_label": "", "csrf_token": csrf_token(member_client, "/portal/upload")},
            content_type="multipart/form-data")
        assert response.status_code == 400 and "请选择贵机构已加入的项目" in response.get_data(as_text=True)
    assert count(db_session, Shipment) == before


@pytest.mark.parametrize("query, message", [
    ("registered_from=0001-01-01", "2000-01-01"), ("registered_to=9999-12-31", "2099-12-31"),
    ("program=2147483648", "未知的项目"), ("program=99999", "未知的项目"),
])
def test_portal_filters_out_of_range_are_400_with_a_message(member_client, query, message):
    response = member_client.get(f"/portal/?{query}")
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_admin_cannot_mint_an_admin_token_for_a_cooperative(admin_client, db_session, create_organisation):
    coop = create_organisation(kind=OrganisationKind.COOPERATIVE)
    before = count(db_session, ApiToken)
    response = admin_client.post("/admin/tokens", data={
        "organisation_id": coop.id, "role": "admin", "name": "x", "csrf_token": csrf_token(admin_client, "/admin/tokens")})
    assert response.status_code == 400 and "Administrators belong" not in response.get_data(as_text=True)
    assert "管理员" in response.get_data(as_text=True)
    assert count(db_session, ApiToken) == before


def test_organisation_with_an_unknown_county_is_400(admin_client, db_session):
    before = count(db_session, Organisation)
    response = admin_client.post("/admin/organisations", data={
        "name": "新合作社", "kind": "cooperative", "county_code": "999999",
        "csrf_token": csrf_token(admin_client, "/admin/organisations")})
    assert response.status_code == 400 and "未知的区县" in response.get_data(as_text=True)
    assert count(db_session, Organisation) == before


def test_switching_a_user_id_beyond_the_integer_range_is_refused(admin_client, db_session):
    before = count(db_session, User, User.active.is_(True))
    response = admin_client.post("/admin/users/active", data={
        "user_id": "99999999999", "active": "0", "csrf_token": csrf_token(admin_client, "/admin/users")})
    assert response.status_code == 303
    assert "用户不存在" in admin_client.get("/admin/users").get_data(as_text=True)
    assert count(db_session, User, User.active.is_(True)) == before


def test_failed_preview_leaves_no_upload_behind(app, member_client, db_session):
    folder = app.config["UPLOAD_FOLDER"]
    before = count(db_session, Shipment)
    response = member_client.post("/portal/upload", data={
        "file": (io.BytesIO(far_cell_xlsx("XFD1048576")), "orders.xlsx"), "program_id": "",
        "batch_label": "", "csrf_token": csrf_token(member_client, "/portal/upload")},
        content_type="multipart/form-data")
    assert response.status_code == 413
    assert "文件超过 100000 行" in response.get_data(as_text=True)
    assert not os.path.isdir(folder) or os.listdir(folder) == []
    assert count(db_session, Shipment) == before


def test_the_upload_page_shows_a_background_import_s_progress(app, member_client, member, db_session, monkeypatch,
                                                                tmp_path):
    from shipments.services import import_jobs
    from shipments.services.carriers import provider_settings

    monkeypatch.setitem(app.config, "IMPORT_SYNC_SECONDS", 0)
    monkeypatch.setitem(app.config, "IMPORT_CHUNK_ROWS", 4)
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path))
    body = "运单号\n" + "".join(f"SBX00000095{i:02d}\n" for i in range(10))
    preview = member_client.post("/portal/upload", data={
        "file": (io.BytesIO(body.encode()), "o.csv"), "program_id": "", "batch_label": "早场",
        "csrf_token": csrf_token(member_client, "/portal/upload")}, content_type="multipart/form-data")
    location = preview.headers["Location"]
    token = location.rsplit("/", 1)[1]
    member_client.post("/portal/upload/confirm", data={"token": token, "csrf_token": csrf_token(member_client, location)})
    page = member_client.get(location).get_data(as_text=True)
    assert 'data-testid="import-progress"' in page and 'http-equiv="refresh"' in page
    assert "已完成 4 行" in page, re.findall(r"正在导入[^<]*", page)
    assert count(db_session, Shipment, Shipment.organisation_id == member.organisation_id) == 4
    import_jobs.finish_pending(db_session, tmp_path, provider_settings(app.config), chunk_rows=4)
    page = member_client.get(location).get_data(as_text=True)
    assert 'data-testid="import-progress"' not in page and "上传结果" in page
    assert count(db_session, Shipment, Shipment.organisation_id == member.organisation_id,
                 Shipment.batch_label == "早场") == 10
