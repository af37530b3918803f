"""Languages: Chinese by default, English on request, every string translated."""
import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.web.conftest import csrf_token, login

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "shipments/translations/zh_Hans_CN/LC_MESSAGES/messages"


def test_pages_are_chinese_by_default(client):
    page = client.get("/track").get_data(as_text=True)
    assert '<html lang="zh-CN"' in page
    assert "查快递" in page and "Track a parcel" not in page


def test_switching_to_english_is_remembered_and_goes_back(client):
    response = client.post("/lang", data={"lang": "en", "next": "/track", "csrf_token": csrf_token(client)})
    assert response.status_code == 303 and response.headers["Location"] == "/track"
    cookie = response.headers["Set-Cookie"]
    assert "lang=en" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/track").get_data(as_text=True)
    assert '<html lang="en"' in page and "Track a parcel" in page and "查快递" not in page
    client.post("/lang", data={"lang": "zh_Hans_CN", "next": "/track", "csrf_token": csrf_token(client)})
    assert "查快递" in client.get("/track").get_data(as_text=True)


def test_language_switch_never_redirects_off_site(client):
    response = client.post("/lang", data={"lang": "en", "next": "//evil.example/", "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/"


def test_unknown_language_is_ignored(client):
    response = client.post("/lang", data={"lang": "xx", "csrf_token": csrf_token(client)})
    assert response.status_code == 303 and "Set-Cookie" not in response.headers


def test_user_locale_applies_without_a_cookie(client, create_user):
    login(client, create_user(locale="en"))
    assert "Shipments" in client.get("/portal/").get_data(as_text=True)


def test_every_marked_string_is_translated_to_chinese():
    with_context = ((1, "c"), 2)  # lazy_pgettext("export", "Shipments"): a word an export says its own way
    extracted = {
        (message, context) for _, _, message, _, context in extract_from_dir(
            str(ROOT), method_map=[("shipments/**.py", "python"), ("templates/**.html", "jinja2")],
            keywords={"_": None, "gettext": None, "_l": None, "lazy_gettext": None,
                      "lazy_pgettext": with_context, "_x": with_context})
    }
    assert ("Shipments", "export") in extracted
    with open(f"{CATALOGUE}.po", "rb") as f:
        catalogue = read_po(f)
    untranslated = [m for m in extracted if not (catalogue.get(*m) and catalogue.get(*m).string)]
    assert untranslated == [], "run `make translations` and translate these"
    assert not [m.id for m in catalogue if m.id and m.fuzzy]


def test_compiled_catalogue_matches_the_po_file():
    with open(f"{CATALOGUE}.po", "rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id}
    with open(f"{CATALOGUE}.mo", "rb") as f:
        mo = {m.id: m.string for m in read_mo(io.BytesIO(f.read())) if m.id}
    assert mo == po, "run `make translations` to recompile the .mo file"


def test_switching_while_logged_in_is_remembered_on_the_user(client, create_user, db_session):
    user = create_user()
    login(client, user)
    client.post("/lang", data={"lang": "en", "next": "/portal/", "csrf_token": csrf_token(client)})
    db_session.refresh(user)
    assert user.locale == "en"
