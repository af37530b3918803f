"""SF/ZTO parcels registered without phone digits: counted at once, never sent to the carrier, and
polled within one scheduler tick once the digits come by PATCH, the portal form, a seller paste or
a re-upload (issue 10)."""
import io

import pytest
from sqlalchemy import select

from shipments.models import Shipment
from shipments.models.enums import Role, ShipmentStatus
from shipments.services import access, polling, reports
from tests.test_polling import k100_fake, poll_config, st_fake  # noqa: F401  (fixtures)
from tests.web.conftest import create_user, csrf_token, login  # noqa: F401  (create_user: a fixture)

NUMBER = "SF1000000000777"  # the fake Kuaidi100 answers for the phone digits 1234


@pytest.fixture
def waiting(app, monkeypatch, db_session, create_organisation, create_program, poll_config):  # noqa: F811
    """An organisation in a program, its token, and the app tracking SF through the fake Kuaidi100."""
    for name in ("KUAIDI100_URL", "KUAIDI100_KEY", "KUAIDI100_CUSTOMER", "KUAIDI100_SALT"):
        monkeypatch.setitem(app.config, name, poll_config[name])
    org = create_organisation()
    program = create_program(organisations=[org])
    token = access.create_token(db_session, org, Role.MEMBER)
    return {"org": org, "program": program, "token": token, "headers": {"Authorization": f"Bearer {token}"}}


def register(client, waiting, number=NUMBER):
    response = client.post("/api/v1/shipments", json={"number": number, "program_id": waiting["program"].id},
                           headers=waiting["headers"])
    assert response.status_code == 201, response.json
    return response.json


def one_tick(db_session, poll_config, k100_fake):  # noqa: F811
    """One scheduler tick of the poller; how often the carrier was asked about NUMBER."""
    polling.poll_once(db_session, poll_config)
    return k100_fake.counts.get(NUMBER, 0)


def stored(db_session, number=NUMBER):
    db_session.expire_all()
    return db_session.scalar(select(Shipment).where(Shipment.tracking_number == number))


def test_registered_without_digits_is_counted_but_never_sent(client, db_session, waiting, poll_config,  # noqa: F811
                                                              k100_fake):  # noqa: F811
    body = register(client, waiting)
    assert body["stop_reason"] == "needs_phone" and body["next_poll_at"] is None and body["phone_last4"] is None
    assert one_tick(db_session, poll_config, k100_fake) == 0 and k100_fake.requests == 0
    volume = reports.volume_report(db_session, "month", (), reports.ReportFilters(program_id=waiting["program"].id))
    assert volume.totals["shipments"] == 1  # in the program's volume from the start
    listed = client.get("/api/v1/shipments", query_string={"flag": "needs_phone"}, headers=waiting["headers"]).json
    assert [i["number"] for i in listed["items"]] == [NUMBER]


def test_digits_by_patch_resume_polling_within_one_tick(client, db_session, waiting, poll_config,  # noqa: F811
                                                         k100_fake):  # noqa: F811
    register(client, waiting)
    path = f"/api/v1/shipments/sf/{NUMBER}"
    bad = client.patch(path, json={"phone_last4": "12ab"}, headers=waiting["headers"])
    assert bad.status_code == 422 and "phone_last4" in bad.json["errors"]["json"]
    response = client.patch(path, json={"phone_last4": "138 0013 1234", "pieces": 2, "destination_city": "深圳市"},
                            headers=waiting["headers"])
    assert response.status_code == 200, response.json
    assert response.json["phone_last4"] == "1234" and response.json["stop_reason"] is None
    assert response.json["next_poll_at"] is not None and response.json["pieces"] == 2
    assert one_tick(db_session, poll_config, k100_fake) == 1
    shipment = stored(db_session)
    assert shipment.status == ShipmentStatus.IN_TRANSIT and shipment.stop_reason is None


def test_patch_is_for_the_owner_only(client, db_session, waiting, create_organisation):
    register(client, waiting)
    stranger = {"Authorization": f"Bearer {access.create_token(db_session, create_organisation(), Role.MEMBER)}"}
    official = {"Authorization": f"Bearer {access.create_token(db_session, create_organisation(), Role.OFFICIAL)}"}
    path = f"/api/v1/shipments/sf/{NUMBER}"
    assert client.patch(path, json={"phone_last4": "1234"}, headers=stranger).status_code == 404
    assert client.patch(path, json={"phone_last4": "1234"}, headers=official).status_code == 403
    assert client.patch(path, json={"phone_last4": "1234"}).status_code == 401
    assert stored(db_session).phone_last4 is None


def test_digits_by_the_portal_form_resume_polling_within_one_tick(client, db_session, waiting, poll_config,  # noqa: F811
                                                                   k100_fake, create_user):  # noqa: F811
    register(client, waiting)
    user = create_user(organisation=waiting["org"])
    login(client, user)
    page = f"/portal/shipments/sf/{NUMBER}"
    detail = client.get(page).get_data(as_text=True)
    assert 'data-testid="edit-form"' in detail and 'data-testid="stop-reason"' in detail
    form = {"phone_last4": "1234", "channel": "douyin", "direction": "outbound", "pieces": "1",
            "program_id": str(waiting["program"].id), "csrf_token": csrf_token(client, page)}
    response = client.post(page, data=form)
    assert response.status_code == 303
    assert stored(db_session).next_poll_at is not None
    assert one_tick(db_session, poll_config, k100_fake) == 1
    assert stored(db_session).phone_last4 == "1234" and stored(db_session).channel.value == "douyin"
    wrong = client.post(page, data={**form, "phone_last4": "abcd"})
    assert wrong.status_code == 400 and "手机尾号应为 4 位数字" in wrong.get_data(as_text=True)


def test_digits_by_a_seller_paste_resume_polling_within_one_tick(client, db_session, waiting, poll_config,  # noqa: F811
                                                                  k100_fake, create_user):  # noqa: F811
    register(client, waiting)
    login(client, create_user(organisation=waiting["org"]))
    response = client.post("/seller/", data={"label": "", "numbers": f"{NUMBER} 1234\nSBX2000000099",
                                             "csrf_token": csrf_token(client, "/seller/")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    assert 'data-testid="phone-summary"' in response.get_data(as_text=True)
    assert stored(db_session).phone_last4 == "1234"
    assert one_tick(db_session, poll_config, k100_fake) == 1


def test_digits_by_a_re_upload_resume_polling_within_one_tick(client, db_session, waiting, poll_config,  # noqa: F811
                                                               k100_fake):  # noqa: F811
    register(client, waiting)
    csv = f"运单号,快递公司,手机尾号\n{NUMBER},顺丰,1234\n".encode()
    response = client.post("/api/v1/shipments/bulk", data={"file": (io.BytesIO(csv), "again.csv")},
                           headers=waiting["headers"], content_type="multipart/form-data")
    assert response.status_code == 200, response.json
    assert (response.json["updated"], response.json["created"], response.json["needs_phone"]) == (1, 0, 0)
    assert one_tick(db_session, poll_config, k100_fake) == 1
    assert stored(db_session).phone_last4 == "1234"
