"""NUL characters are refused with a 400, not a database error."""
import pytest


@pytest.mark.parametrize("path", ["/track?number=SBX%00", "/?x=%00"])
def test_nul_in_a_page_query_string_is_400(client, path):
    assert client.get(path).status_code == 400


def test_nul_in_an_api_query_string_is_400_json(client):
    response = client.get("/api/v1/shipments?search=%00")
    assert response.status_code == 400 and "NUL" in response.json["message"]


def test_nul_in_a_web_form_is_400(client):
    from tests.web.conftest import csrf_token

    token = csrf_token(client, "/track")
    assert client.post("/t/SF1000000000017", data={"phone_last4": "1234", "csrf_token": token}).status_code == 404
    assert client.post("/t/SF1000000000017", data={"phone_last4": "12\x0034", "csrf_token": token}).status_code == 400
