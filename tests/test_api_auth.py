"""Bearer-token authentication on the API."""
import pytest

from shipments.models.enums import OrganisationKind, Role
from shipments.services import access


@pytest.fixture
def token_for(db_session, create_organisation):
    def make(role=Role.MEMBER, org=None):
        org = org or create_organisation(**({"kind": OrganisationKind.OPERATOR} if role == Role.ADMIN else {}))
        return access.create_token(db_session, org, role)
    return make


def test_me_with_a_valid_token(client, token_for, create_organisation):
    org = create_organisation(name="山下湖珍珠合作社")
    token = token_for(Role.MEMBER, org)
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json == {"organisation_id": org.id, "organisation_name": "山下湖珍珠合作社", "role": "member",
                             "county_code": None}


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer yx_nope", "Basic dXNlcjpwdw==", "Bearer " + "x" * 5000])
def test_missing_or_bad_token_is_401_json(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.is_json and response.json["code"] == 401 and "message" in response.json
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_revoked_token_is_401(client, db_session, token_for):
    token = token_for()
    assert access.revoke_token(db_session, token[:10]) == 1
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_token_is_stored_hashed(db_session, token_for):
    from sqlalchemy import select

    from shipments.models import ApiToken
    token = token_for()
    stored = db_session.scalars(select(ApiToken)).one()
    assert token not in (stored.token_hash, stored.prefix) and stored.token_hash == access.hash_token(token)


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.is_json


def test_unknown_html_path_is_html_404(client):
    response = client.get("/nothing-here")
    assert response.status_code == 404 and "text/html" in response.content_type


def test_openapi_document_is_served(client):
    spec = client.get("/api/docs/openapi.json").json
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "/api/v1/me" in spec["paths"]


def _revoke_elsewhere(db_session, token):
    """Revoke as `flask tokens revoke` in another process does: this process's memory is untouched."""
    from sqlalchemy import update

    from shipments.db import utcnow
    from shipments.models import ApiToken
    db_session.execute(update(ApiToken).where(ApiToken.token_hash == access.hash_token(token))
                       .values(revoked_at=utcnow()))


def test_verified_tokens_are_remembered_for_the_ttl_only(app, client, db_session, token_for, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(access, "monotonic", lambda: clock[0])
    monkeypatch.setitem(app.config, "API_TOKEN_CACHE_SECONDS", 5)
    token = token_for()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    _revoke_elsewhere(db_session, token)
    # Within the TTL the process still trusts what it verified: the bounded revocation delay.
    clock[0] += 4.9
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    clock[0] += 0.2
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_revocation_in_this_process_applies_at_once(app, client, db_session, token_for, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOKEN_CACHE_SECONDS", 60)
    token = token_for()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert access.revoke_token(db_session, token[:10]) == 1
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_without_a_ttl_every_request_sees_revocation(client, db_session, token_for):
    token = token_for()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    _revoke_elsewhere(db_session, token)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


@pytest.mark.parametrize("method, path, body", [
    ("post", "/api/v1/shipments", {"number": 12, "pieces": "many"}),
    ("get", "/api/v1/shipments?status=lost_in_space", None),
    ("get", "/api/v1/reports/volumes?period=fortnight", None),
])
def test_anonymous_caller_is_refused_before_the_input_is_read(client, method, path, body):
    response = getattr(client, method)(path, json=body)
    assert response.status_code == 401
    assert "errors" not in response.json or response.json["errors"] == {}
