"""Issue 15: re-imports at fresh-import speed, imports past IMPORT_SYNC_SECONDS continue as
background jobs (202 + /api/v1/imports/{id}), and an interrupted file completes on retry."""
import io

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from shipments.models import ImportBatch, ImportJob, Shipment
from shipments.models.enums import Role
from shipments.services import access, import_jobs, imports, reports
from shipments.services.carriers import provider_settings

ROWS = 23
CSV = ("运单号,快递公司,件数\n" + "".join(f"SBX00000090{i:02d},sandbox,{1 + i % 3}\n" + (",,\n" if i == 14 else "")
                                    for i in range(ROWS))
       + "SBX0000009000,sandbox,1\nbad,sandbox,1\n,,\n").encode()  # a duplicate of row 2, an invalid number;
BLANK = 2  # blank rows: one in the second chunk, one at the end


def post(client, token, payload=CSV):
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(payload), "o.csv")})
    return client.post("/api/v1/shipments/bulk", data=body, headers={"Authorization": "Bearer " + token},
                       content_type=f"multipart/form-data; boundary={boundary}")


def stored(db_session, org):
    return db_session.scalar(select(func.count()).select_from(Shipment).where(Shipment.organisation_id == org.id))


@pytest.fixture
def member_token(db_session, create_organisation):
    org = create_organisation()
    return org, access.create_token(db_session, org, Role.MEMBER)


def test_small_import_answers_200_with_the_report(client, db_session, member_token):
    org, token = member_token
    response = post(client, token)
    assert response.status_code == 200
    assert {k: response.json[k] for k in ("rows", "created", "duplicate_in_file", "invalid", "blank")} == {
        "rows": ROWS + 2, "created": ROWS, "duplicate_in_file": 1, "invalid": 1, "blank": BLANK}
    assert db_session.scalar(select(ImportJob.status).where(ImportJob.organisation_id == org.id)) == "done"


def test_a_slow_import_answers_202_and_finishes_in_the_background(app, client, db_session, member_token,
                                                                  monkeypatch, tmp_path):
    org, token = member_token
    monkeypatch.setitem(app.config, "IMPORT_SYNC_SECONDS", 0)  # stop after the first chunk
    monkeypatch.setitem(app.config, "IMPORT_CHUNK_ROWS", 10)
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path))
    response = post(client, token)
    assert response.status_code == 202
    job_id = response.json["id"]
    assert response.json["status_url"] == f"/api/v1/imports/{job_id}"
    running = client.get(response.json["status_url"], headers={"Authorization": "Bearer " + token}).json
    assert running["status"] == "running" and running["progress"]["rows_done"] == 10
    assert running["report"]["created"] == 10 and stored(db_session, org) == 10
    # Another organisation cannot read it.
    stranger = access.create_token(db_session, _other_org(db_session), Role.MEMBER)
    assert client.get(f"/api/v1/imports/{job_id}", headers={"Authorization": "Bearer " + stranger}).status_code == 404
    # The worker's job carries it on (the request handed its lease over).
    finished = import_jobs.finish_pending(db_session, tmp_path, provider_settings(app.config), chunk_rows=10)
    assert finished == 1
    done = client.get(f"/api/v1/imports/{job_id}", headers={"Authorization": "Bearer " + token}).json
    assert done["status"] == "done" and done["progress"]["percent"] == 100
    # The same report the synchronous answer carries (rows counted once, the duplicate found across chunks).
    # The blank count is whole too, though the carrying-on import read the file again from the top.
    assert {k: done["report"][k] for k in ("rows", "created", "duplicate_in_file", "invalid", "blank")} == {
        "rows": ROWS + 2, "created": ROWS, "duplicate_in_file": 1, "invalid": 1, "blank": BLANK}
    assert sorted(p["code"] for p in done["report"]["problems"]) == ["duplicate_in_file", "number_format"]
    # The worker kept the batch's report with its messages in Chinese (Flask-Babel outside any request).
    batch = db_session.scalar(select(ImportBatch).where(ImportBatch.organisation_id == org.id))
    assert sorted(p["message"] for p in batch.report["problems"]) == [
        "与第 2 行的运单号重复", "运单号只能包含字母和数字，长度 6–40"]
    assert stored(db_session, org) == ROWS
    assert list(tmp_path.glob("*.upload")) == []  # the kept file is gone once done


def _other_org(db_session):
    from shipments.models import Organisation
    org = Organisation(name="别的合作社", kind="cooperative")
    db_session.add(org)
    db_session.flush()
    return org


def test_an_import_cut_half_way_completes_on_retry(app, db_session, member_token):
    """The connection is lost at the third chunk's commit: the retry of the same file completes
    it, every row is registered once, and the rollups reconcile."""
    org, _ = member_token
    providers = provider_settings(app.config)
    commits = {"n": 0}

    def commit_then_cut():
        commits["n"] += 1
        if commits["n"] == 3:
            db_session.rollback()
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))
        db_session.commit()
    with pytest.raises(OperationalError):
        imports.import_rows(db_session, imports.open_table(io.BytesIO(CSV)).rows, org.id, providers=providers,
                            commit=commit_then_cut, chunk_rows=5)
    assert stored(db_session, org) == 10  # two chunks kept, the third lost
    retry = imports.import_rows(db_session, imports.open_table(io.BytesIO(CSV)).rows, org.id, providers=providers,
                                commit=db_session.commit, chunk_rows=5)
    assert (retry.created, retry.already_registered, retry.duplicate_in_file, retry.invalid) == (ROWS - 10, 10, 1, 1)
    assert stored(db_session, org) == ROWS
    reports.refresh_rollups(db_session)
    assert reports.reconcile(db_session) == []


def test_reupload_counts_every_row_as_already_registered(client, db_session, member_token):
    org, token = member_token
    assert post(client, token).json["created"] == ROWS
    again = post(client, token).json
    assert (again["created"], again["already_registered"]) == (0, ROWS)
