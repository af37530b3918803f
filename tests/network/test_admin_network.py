"""Admin pages for the network: the census upload and a centre's daily volume (form and CSV)."""
import io
from datetime import date

from sqlalchemy import select

from shipments.models import CentreDay, Station
from shipments.models.enums import Role, StationLevel
from tests.web.conftest import csrf_token, login


def test_admin_imports_a_census_and_records_centre_days(client, db_session, create_user, create_station):
    centre = create_station(level=StationLevel.TOWNSHIP, name="测试共配中心Z", daily_capacity=3000)
    db_session.commit()
    login(client, create_user(Role.ADMIN))
    token = csrf_token(client, "/admin/stations")
    census = "站点名称,层级,所属乡镇,邮快合作\n测试站X,村级,平水镇,是\n测试站Y,村级,火星镇,否\n".encode()
    page = client.post("/admin/stations/census", data={"csrf_token": token, "file": (io.BytesIO(census), "普查.csv")},
                       content_type="multipart/form-data")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "行号 3" in text and "division" in text
    assert db_session.scalar(select(Station).where(Station.name == "测试站X")).post_express is True
    token = csrf_token(client, "/admin/centres")
    done = client.post("/admin/centres", data={"csrf_token": token, "single": "1", "one-centre_id": str(centre.id),
                                               "one-day": "2026-11-20", "one-sorted_pieces": "2100"})
    assert done.status_code == 303
    upload = client.post("/admin/centres", content_type="multipart/form-data", data={
        "csrf_token": token, "csv-centre_id": str(centre.id),
        "csv-file": (io.BytesIO(b"day,pieces\n2026-11-21,2300\n2026-13-01,5\n"), "centre.csv")})
    assert upload.status_code == 400 and "行号 3" in upload.get_data(as_text=True)
    days = dict(db_session.execute(select(CentreDay.day, CentreDay.sorted_pieces)
                                   .where(CentreDay.station_id == centre.id)).all())
    assert days == {date(2026, 11, 20): 2100, date(2026, 11, 21): 2300}
    assert client.get("/admin/stations?level=village").status_code == 200
