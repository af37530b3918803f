"""Every form refuses a missing CSRF token; no page open without login leaks an
organisation's data or unmasked personal data; pages carry a strict CSP."""
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from shipments.extensions import limiter
from shipments.models import Organisation, Shipment, TrackingEvent
from shipments.models.enums import EventSource, ShipmentStatus
from tests.web.conftest import csrf_token, login

# Every HTML form's POST endpoint, with data that would be accepted with a token.
FORMS = {
    "/login": {"username": "admin", "password": "whatever-1"},
    "/logout": {},
    "/lang": {"lang": "en"},
    "/admin/organisations": {"name": "CSRF 合作社", "kind": "cooperative"},
    "/admin/users": {"organisation_id": "1", "username": "csrf-user", "password": "long-enough-1", "role": "member"},
    "/admin/users/active": {"user_id": "1", "active": "0"},
    "/admin/tokens": {"organisation_id": "1", "role": "member", "name": "csrf"},
    "/admin/tokens/revoke": {"prefix": "yx_abcdefg"},
    "/admin/programs": {"name": "CSRF 项目", "product": "tea", "county_code": "330624", "year": "2026",
                        "target_pieces": "1", "season_start_month": "1", "season_end_month": "12"},
    "/admin/stations": {"name": "CSRF 站", "level": "village", "kind": "village_station", "division_code": "330603105"},
    "/admin/organisations/1": {"name": "CSRF 改名", "kind": "cooperative"},
    "/admin/organisations/1/active": {"active": "0"},
    "/admin/users/1/password": {"password": "long-enough-1"},
    "/admin/programs/1": {"name": "CSRF 项目改", "product": "tea", "county_code": "330624", "year": "2026",
                          "target_pieces": "1", "season_start_month": "1", "season_end_month": "12"},
    "/admin/programs/1/active": {"active": "0"},
    "/admin/programs/1/organisations": {"organisation_id": "1", "action": "add"},
    "/portal/register": {"number": "SBX9100000001", "channel": "other", "direction": "outbound"},
    "/portal/shipments/sandbox/SBX9100000004": {"phone_last4": "1234", "channel": "other", "direction": "outbound"},
    "/portal/shipments/sandbox/SBX9100000004/cancel": {"reason": "x"},
    "/portal/upload": {"batch_label": "x"},
    "/portal/upload/confirm": {"token": "abc"},
    "/seller/": {"label": "x", "numbers": "SBX9100000002"},
    "/t/SBX9100000003": {"phone_last4": "1234"},
    "/admin/stations/census": {},
    "/admin/centres": {"single": "1", "one-centre_id": "1", "one-day": "2026-11-20", "one-sorted_pieces": "5"},
    "/admin/routes": {"name": "CSRF 线路", "kind": "passenger_freight_mail", "county_code": "330603", "stops": "x"},
    "/admin/routes/1": {"name": "CSRF 线路", "kind": "passenger_freight_mail", "county_code": "330603", "stops": "x"},
    # JSON only, CSRF-exempt: refused without the X-Station-Request header a cross-site form cannot send.
    "/station/actions": {"key": "csrf-test-key", "kind": "arrival", "number": "SBX9100000004"},
    "/portal/webhooks/": {"url": "https://93.184.215.14/hook", "events": "shipment.registered"},
    "/portal/webhooks/1/test": {},
    "/portal/webhooks/1/redeliver": {},
}
# Concrete paths above for rules with converters.
RULES = {"/admin/routes/1": "/admin/routes/<int(min=1, max=2147483647):route_id>",
         "/portal/webhooks/1/test": "/portal/webhooks/<int(min=1, max=2147483647):subscription_id>/<any(enable, disable, test, rotate, delete):action>",
         "/portal/webhooks/1/redeliver": "/portal/webhooks/<int(min=1, max=2147483647):subscription_id>/redeliver"}


def test_the_form_list_covers_every_html_post_endpoint(app):
    posts = {rule.rule for rule in app.url_map.iter_rules()
             if "POST" in rule.methods and not rule.rule.startswith("/api/")}
    listed = {RULES.get(path) or re.sub(r"^/portal/shipments/[^/]+/[^/]+", "/portal/shipments/<carrier>/<number>",
                     re.sub(r"^/t/.*", "/t/<string(maxlength=40):number>", path)) for path in FORMS}
    listed = {re.sub(r"^/admin/(organisations|users|programs)/1(?=/|$)", lambda m: f"/admin/{m.group(1)}/<int(min=1, max=2147483647):"
                     + {"organisations": "organisation_id", "users": "user_id", "programs": "program_id"}[m.group(1)]
                     + ">", path) for path in listed}
    assert posts == listed


@pytest.mark.parametrize("path", FORMS)
def test_form_without_csrf_token_is_refused(client, create_user, db_session, path):
    from shipments.models.enums import Role

    login(client, create_user(Role.ADMIN))
    before = db_session.scalar(select(func.count()).select_from(Organisation))
    shipments_before = db_session.scalar(select(func.count()).select_from(Shipment))
    response = client.post(path, data=FORMS[path])
    assert response.status_code == 400
    assert "表单不完整或已过期" in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Organisation)) == before
    assert db_session.scalar(select(func.count()).select_from(Shipment)) == shipments_before
    assert client.get("/admin/").status_code == 200  # still logged in: /logout did not run


SECRETS = ("甲合作社机密", "乙直播间机密", "ORDER-A-777", "ORDER-B-888", "9876", "13912345678", "王小明")


@pytest.fixture
def two_organisations(create_organisation, create_shipment, db_session):
    limiter.reset()
    a, b = create_organisation(name="甲合作社机密"), create_organisation(name="乙直播间机密")
    first = create_shipment(organisation=a, tracking_number="SBX9200000001", order_ref="ORDER-A-777",
                            phone_last4="9876", batch_label="甲场次", status=ShipmentStatus.IN_TRANSIT)
    create_shipment(organisation=b, tracking_number="SBX9200000002", order_ref="ORDER-B-888", phone_last4="9876")
    db_session.add(TrackingEvent(shipment=first, occurred_at=datetime(2026, 11, 20, 3, tzinfo=timezone.utc),
                                 status=ShipmentStatus.IN_TRANSIT, source=EventSource.POLL, dedupe_key="x",
                                 description="收件人王小明 13912345678 的快件已发出"))
    db_session.flush()
    yield
    limiter.reset()


def _fill(rule: str) -> str:
    values = {"number": "SBX9200000001", "carrier": "sandbox", "token": "abc", "fmt": "csv", "filename": "css/app.css"}
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values.get(m.group(1), "x"), rule)


def _html_get_paths(app) -> list[str]:
    return sorted({_fill(rule.rule) for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and not rule.rule.startswith(("/api/", "/static/"))})


def test_no_page_open_without_login_shows_organisation_or_personal_data(app, client, two_organisations):
    checked = []
    for path in _html_get_paths(app):
        response = client.get(path)
        if response.status_code == 302:
            assert response.headers["Location"].startswith("/login"), path
            continue
        body = re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", response.get_data(as_text=True))
        leaked = [secret for secret in SECRETS if secret in body]
        assert not leaked, f"{path} shows {leaked}"
        checked.append(path)
    assert "/t/SBX9200000001" in checked and "/" in checked and "/track" in checked
    parcel = client.post("/t/SBX9200000001", data={"phone_last4": "9876",
                                                   "csrf_token": csrf_token(client, "/track")}).get_data(as_text=True)
    assert "139******78" in parcel and "王**" in parcel  # the event is there, masked


def test_pages_forbid_other_origins(client):
    policy = client.get("/track").headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


def test_session_cookie_is_httponly_and_samesite(app, client):
    client.get("/login")
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie.http_only and cookie.same_site == "Lax"


def test_production_settings_make_cookies_secure():
    from shipments import config

    settings = {"DATABASE_URL": "postgresql+psycopg://u@h/db"}
    config.finalise(settings)
    assert settings["SESSION_COOKIE_SECURE"] is True and settings["REMEMBER_COOKIE_SECURE"] is True
