"""Helpers for the web page tests: users of each role, logging in, CSRF tokens."""
import re
from pathlib import Path

import pytest
from flask import g
from werkzeug.security import generate_password_hash

from shipments.models import User
from shipments.models.enums import OrganisationKind, Role

PASSWORD = "s3cret-pass"
# Cheap hash for tests only: real users get werkzeug's slow default.
_PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path="/") -> str:
    """A CSRF token from a page (every page carries one in the language switch)."""
    # Flask-WTF caches the token on `g`; the test's app context outlives requests,
    # so drop it to get the token of this client's own session.
    g.pop("csrf_token", None)
    return _CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def login(client, user) -> None:
    response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture(autouse=True)
def upload_folder(request, tmp_path, monkeypatch):
    """Keep test uploads out of instance/ (tests on the shared app only)."""
    if "app" in request.fixturenames:
        app = request.getfixturevalue("app")
        monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))


@pytest.fixture
def create_user(db_session, create_organisation):
    def create(role=Role.MEMBER, organisation=None, **values) -> User:
        if organisation is None:
            kind = {Role.ADMIN: OrganisationKind.OPERATOR, Role.OFFICIAL: OrganisationKind.AUTHORITY}.get(
                role, OrganisationKind.COOPERATIVE)
            organisation = create_organisation(kind=kind)
        values.setdefault("username", f"user{organisation.id}-{role.value}-{len(organisation.users)}")
        user = User(organisation=organisation, display_name=values.pop("display_name", "测试用户"),
                    password_hash=_PASSWORD_HASH, role=role, **values)
        db_session.add(user)
        db_session.flush()
        return user
    return create


@pytest.fixture
def member(create_user):
    return create_user(Role.MEMBER)


@pytest.fixture
def member_client(client, member):
    login(client, member)
    return client


@pytest.fixture
def admin_client(client, create_user):
    login(client, create_user(Role.ADMIN))
    return client


# ------------------------------------------------------------------ browser tests
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
# DEPENDENCIES.md: Debian's Chromium, no `playwright install`.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def pytest_terminal_summary(terminalreporter):
    if SCREENSHOTS.exists() and any(SCREENSHOTS.iterdir()):
        shots = sorted(p.name for p in SCREENSHOTS.iterdir())
        terminalreporter.write_line(f"browser screenshots in {SCREENSHOTS}: {', '.join(shots)}")
