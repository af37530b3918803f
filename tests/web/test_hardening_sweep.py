"""Issue 15: every route, page or API, answers odd values with a 4xx and a message, never a 500.

The sweep walks the URL map: each path argument gets hostile values (NUL,
integers past int4, huge numbers, far dates), and each route is asked with
query strings of far dates, out-of-range integers and unknown references,
as an administrator (the widest access) on the pages and through the API."""
import pytest

from shipments.models.enums import OrganisationKind, Role
from shipments.services import access
from tests.web.conftest import login

PATH_VALUES = ["%00", "2147483648", "99999999999999999999", "0001-01-01", "-1", "x" * 30]
QUERIES = [
    "registered_from=0001-01-01&registered_to=9999-12-31&date_from=0001-01-01&date_to=9999-12-31"
    "&from=0001-01-01&to=9999-12-31&as_of=9999-12-31&day=0001-01-01&since=0001-01-01",
    "program=2147483648&program_id=99999999999999999999&limit=2147483648&year=99999&month=13&page=-1"
    "&organisation=2147483648&county=999999&cursor=%FF%FE&after=zz&carrier=nosuch&label=%E2%80%AE",
    "program=999999&year=0&limit=-1&county_code=000000&lang=xx&format=exe&status=nope&direction=up",
]
SKIP = {"static", "api-docs.openapi_json", "api-docs.openapi_swagger_ui", "api-docs.openapi_redoc"}


def urls(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP or rule.endpoint.endswith(".static"):
            continue
        paths = set()
        for value in PATH_VALUES:
            path = rule.rule
            for name in rule.arguments:
                path = path.replace(f"<{name}>", value)
                for converter in ("int", "string", "path", "any"):
                    start = path.find(f"<{converter}")
                    while start != -1 and f":{name}>" in path[start:]:
                        end = path.index(f":{name}>", start) + len(name) + 2
                        path = path[:start] + value + path[end:]
                        start = path.find(f"<{converter}")
            paths.add(path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for path in sorted(paths):
                yield method, path


@pytest.fixture
def admin_token(db_session, create_organisation):
    return access.create_token(db_session, create_organisation(kind=OrganisationKind.OPERATOR), Role.ADMIN)


def test_every_route_answers_odd_values_without_a_500(app, client, create_user, admin_token, db_session):
    login(client, create_user(Role.ADMIN))
    headers = {"Authorization": "Bearer " + admin_token}
    failures = []
    seen = 0
    for method, path in urls(app):
        for query in QUERIES:
            url = f"{path}?{query}"
            if method == "GET":
                response = client.get(url, headers=headers)
            else:
                response = client.open(url, method=method, headers=headers, json=[{"time": "yesterday"}])
            seen += 1
            if response.status_code >= 500:
                failures.append((method, url, response.status_code))
            elif response.status_code >= 400 and response.is_json:
                assert response.json.get("message"), (method, url, response.json)
    assert seen > 300
    assert failures == []
