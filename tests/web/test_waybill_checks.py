"""Strict waybill checks on every registration path, with messages that show the expected shape (issue 10)."""
import pytest

from integrations.carriers import CARRIERS
from integrations.detect import detect
from shipments.models.enums import Role
from shipments.services import access
from shipments.services.shipments import Lookups, clean_row


@pytest.fixture
def lookups(db_session, create_organisation):
    return Lookups.load(db_session, create_organisation().id)


@pytest.mark.parametrize("raw,code,words", [
    ({"number": "YT2700", "carrier": "圆通"}, "number_shape", "YT 加 13 位数字"),
    ({"number": "SF02458", "carrier": "顺丰"}, "number_shape", "顺丰速运单号应为"),
    ({"number": "YT2700"}, "number_shape", "圆通速递单号应为"),  # the prefix names the carrier
    ({"number": "6912345678901234567", "carrier": "yto"}, "number_order_ref", "抖音订单号"),
    ({"number": "6912345678901234567", "carrier": "sto"}, "number_order_ref", "申通快递单号应为"),
    ({"number": "6912345678901234567"}, "number_order_ref", "抖音订单号"),
    ({"number": "231120123456789012345"}, "number_order_ref", "拼多多订单号"),
    ({"number": "SF1000000000001SF1000000000002", "carrier": "sf"}, "number_concatenated", "SF1000000000002"),
    ({"number": "7812345678901299", "carrier": "中通"}, "number_shape", "14 位数字，以 73–76 或 78 开头"),
    ({"number": "1100012345678", "carrier": "zto"}, "number_shape", "中通快递单号应为"),
])
def test_malformed_numbers_are_invalid_with_the_expected_shape(lookups, raw, code, words):
    from shipments.services.shipments import message
    values, problems = clean_row(raw, lookups)
    assert [p.code for p in problems] == [code]
    assert words in message(problems[0].code, "zh", **problems[0].params)
    assert message(problems[0].code, "en", **problems[0].params)  # the English text has all its fields


def test_every_carriers_example_is_valid_and_its_shape_is_described():
    for code, carrier in CARRIERS.items():
        assert carrier.matches(carrier.example), code
        assert carrier.shape_zh and carrier.shape_en


def test_legacy_twelve_digits_get_ranked_candidates_with_confidence(lookups):
    candidates = detect("123456789012")
    assert [c.carrier for c in candidates] == ["sf", "zto"] and all(0 < c.confidence < 0.6 for c in candidates)
    values, problems = clean_row({"number": "123456789012"}, lookups)
    assert [p.code for p in problems] == ["carrier_ambiguous"]
    values, problems = clean_row({"number": "123456789012", "carrier": "sf", "phone_last4": "1234"}, lookups)
    assert problems == [] and values["carrier"] == "sf"


def test_a_valid_s10_number_goes_to_ems(lookups):
    values, problems = clean_row({"number": "EA123456785CN"}, lookups)
    assert problems == [] and values["carrier"] == "ems"
    values, problems = clean_row({"number": "EA123456786CN"}, lookups)
    assert [p.code for p in problems] == ["number_check_digit"]


def test_sf_and_zto_without_digits_are_accepted(lookups):
    for raw in ({"number": "SF1000000000001"}, {"number": "78000000000001", "phone_last4": "138********"}):
        values, problems = clean_row(raw, lookups)
        assert problems == [] and "phone_last4" not in values


@pytest.mark.parametrize("path", ["api", "bulk", "form", "paste"])
def test_every_registration_path_refuses_a_truncated_number(client, db_session, create_organisation, path):
    from tests.web.conftest import PASSWORD, csrf_token, login  # noqa: F401
    from shipments.models import User
    from werkzeug.security import generate_password_hash
    org = create_organisation()
    headers = {"Authorization": f"Bearer {access.create_token(db_session, org, Role.MEMBER)}"}
    if path == "api":
        response = client.post("/api/v1/shipments", json={"number": "YT2700", "carrier": "yto"}, headers=headers)
        assert response.status_code == 422 and "YT 加 13 位数字" in str(response.json["errors"]["json"]["number"])
        return
    if path == "bulk":
        response = client.post("/api/v1/shipments/bulk", json=[{"number": "YT2700", "carrier": "yto"}],
                               headers=headers)
        assert response.json["invalid"] == 1 and response.json["created"] == 0
        assert response.json["problems"][0]["code"] == "number_shape"
        return
    user = User(organisation=org, username=f"u{org.id}", display_name="x", role=Role.MEMBER,
                password_hash=generate_password_hash(PASSWORD))
    db_session.add(user)
    db_session.flush()
    login(client, user)
    if path == "form":
        response = client.post("/portal/register", data={"number": "YT2700", "carrier": "yto", "pieces": "1",
                                                         "channel": "other", "direction": "outbound",
                                                         "csrf_token": csrf_token(client, "/portal/register")})
        assert response.status_code == 400 and "YT 加 13 位数字" in response.get_data(as_text=True)
    else:
        response = client.post("/seller/", data={"numbers": "YT2700", "csrf_token": csrf_token(client, "/seller/")},
                               content_type="multipart/form-data")
        assert "YT 加 13 位数字" in response.get_data(as_text=True)
