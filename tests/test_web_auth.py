"""Logging in to the web pages."""
import re

import pytest
from werkzeug.security import generate_password_hash

from shipments.models import User
from shipments.models.enums import Role


@pytest.fixture
def user(db_session, create_organisation):
    user = User(organisation=create_organisation(), username="clerk", display_name="张三",
                password_hash=generate_password_hash("s3cret-pass"), role=Role.MEMBER)
    db_session.add(user)
    db_session.flush()
    return user


def csrf_token(client, path="/login"):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_login_with_good_password(client, user):
    response = client.post("/login", data={"username": "clerk", "password": "s3cret-pass",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302


def test_login_with_bad_password(client, user):
    response = client.post("/login", data={"username": "clerk", "password": "wrong",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 400 and "用户名或密码错误" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, user):
    response = client.post("/login", data={"username": "clerk", "password": "s3cret-pass"})
    assert response.status_code == 400


def test_login_never_redirects_off_site(client, user):
    response = client.post("/login?next=//evil.example/x", data={
        "username": "clerk", "password": "s3cret-pass", "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/portal/"  # the member's landing page, not the other host
