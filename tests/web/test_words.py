"""Every page and export a person uses (the network pages and the station desk too), walked for each role in
both languages: no raw code (a stored enum value, a carrier or provider code, "None") and, in Chinese, no
untranslated English."""
import csv
import io
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

from shipments.models import CentreCapacity, CentreDay, Route, RouteStop, Station, TrackingEvent, enums
from shipments.models.enums import (
    Direction, EventSource, Role, RouteKind, ShipmentStatus, StationKind, StationLevel, SubscriptionState,
)
from shipments.models.network import station_attendants
from tests.web.conftest import login

CODES = sorted({m.value for e in vars(enums).values() if isinstance(e, type) and issubclass(e, enums.StrEnum)
                and e is not enums.StrEnum for m in e} | {"sandbox", "zto", "unassigned", "kuaidi100", "None",
                                                          "DELAYED", "REFUSED", "PICKED_UP"}, key=len, reverse=True)
RAW = re.compile(r"(?<![\w/.-])(" + "|".join(map(re.escape, CODES)) + r")(?![\w/.-])")
# In English, codes that are also plain words (failed, village, push) are words: look for the unmistakable ones.
RAW_EN = re.compile(r"(?<![\w/.-])(" + "|".join(
    map(re.escape, [c for c in CODES if "_" in c or c.isupper() or c in ("sandbox", "zto", "unassigned", "kuaidi100",
                                                                         "None", "douyin", "pinduoduo")])) + r")(?![\w/.-])")
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,})+\b")
BRANDS = {"China", "Post", "EMS", "API", "CSV", "Excel", "English"}  # brands; the language switch


class Visible(HTMLParser):
    """The text a person reads: body text, option labels, titles and placeholders; not <code>,
    scripts, or text marked translate="no" (names and numbers people typed)."""

    SKIP = {"code", "script", "style", "head"}
    VOID = {"input", "br", "img", "meta", "link", "hr", "source"}

    def __init__(self):
        super().__init__()
        self.stack, self.parts = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("title", "placeholder", "aria-label"):
            if attrs.get(name) and not self.skipping:
                self.parts.append(attrs[name])
        if tag not in self.VOID:
            self.stack.append(tag in self.SKIP or attrs.get("translate") == "no")

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    @property
    def skipping(self):
        return any(self.stack)

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def problems_in(text: str, zh: bool) -> list[str]:
    found = [f"raw code {m!r}" for m in sorted(set((RAW if zh else RAW_EN).findall(text)))]
    if zh:
        found += [f"English {m!r}" for m in sorted(set(ENGLISH.findall(text)))
                  if not all(word in BRANDS for word in m.split())]
    return found


@pytest.fixture
def world(db_session, create_organisation, create_program, create_shipment, create_user):
    """One cooperative with parcels in every status (and a carrier substatus), an official, an admin."""
    coop = create_organisation(name="词语测试合作社")
    program = create_program(name="词语测试项目", county_code="330604", perishable=True, deadline_hours=48,
                             season_start_month=6, season_end_month=7)
    program.organisations.append(coop)
    start = datetime(2026, 6, 3, 1, tzinfo=timezone.utc)
    for i, status in enumerate(ShipmentStatus):
        s = create_shipment(organisation=coop, program=program, status=status, carrier="zto" if i % 2 else "sandbox",
                            tracking_number=f"SBX91000000{i:02d}", registered_at=start, picked_up_at=start,
                            batch_label="06-03 场次", substatus="DELAYED" if status == ShipmentStatus.EXCEPTION else None,
                            subscription_state=SubscriptionState.NONE, provider="sandbox" if i % 3 else "unassigned")
        db_session.add(TrackingEvent(shipment=s, occurred_at=start + timedelta(hours=2), status=status,
                                     location="杭州市", description="快件已揽收", source=EventSource.DEMO,
                                     dedupe_key=f"w{i}"))
    db_session.flush()
    member = create_user(Role.MEMBER, organisation=coop)
    # The last mile: a centre with its days, a village station the member attends, a route between them.
    centre = Station(name="词语测试共配中心", level=StationLevel.COUNTY, kind=StationKind.CO_DISTRIBUTION_CENTRE,
                     division_code=COUNTY, brands=["ems", "zto"])
    village = Station(name="词语测试村站", level=StationLevel.VILLAGE, kind=StationKind.VILLAGE_STATION,
                      division_code=TOWNSHIP, brands=["ems"], post_express=True)
    db_session.add_all([centre, village])
    db_session.flush()
    db_session.add_all([CentreDay(station_id=centre.id, day=start.date(), sorted_pieces=1200, source="form"),
                        CentreCapacity(station_id=centre.id, effective_from=start.date().replace(day=1),
                                       daily_capacity=5000),
                        Route(name="词语测试客货邮线", kind=RouteKind.PASSENGER_FREIGHT_MAIL, county_code=COUNTY,
                              departures="07:30", stops=[RouteStop(position=1, station_id=centre.id),
                                                         RouteStop(position=2, station_id=village.id, minutes=40)])])
    db_session.execute(station_attendants.insert().values(station_id=village.id, user_id=member.id))
    create_shipment(organisation=coop, tracking_number="SBX9200000001", direction=Direction.INBOUND,
                    destination_station_id=village.id, status=ShipmentStatus.OUT_FOR_DELIVERY, phone_last4="2468",
                    registered_at=datetime.now(timezone.utc) - timedelta(hours=5))
    db_session.flush()
    return {"member": member, "official": create_user(Role.OFFICIAL), "admin": create_user(Role.ADMIN),
            "program": program, "centre": centre}


JUNE = "date_from=2026-06-01&date_to=2026-06-30"
COUNTY, TOWNSHIP = "330603", "330603105"  # 柯桥区, 平水镇
PAGES = {
    Role.MEMBER: ["/", "/track", "/t/SBX9100000000", "/portal/", "/portal/register", "/portal/upload",
                  "/portal/shipments/sandbox/SBX9100000008", "/portal/shipments/zto/SBX9100000007",
                  "/seller/", "/seller/?label=06-03 场次", "/station/"],
    Role.OFFICIAL: ["/dashboard?as_of=2026-06-30", f"/dashboard/shipments?{JUNE}",
                    "/dashboard/network/shipment/sandbox/SBX9100000008",
                    # The network view (city, county, township), a centre's days, the import batches.
                    f"/dashboard/network/?{JUNE}", f"/dashboard/network/?{JUNE}&county={COUNTY}",
                    f"/dashboard/network/?{JUNE}&county={COUNTY}&township={TOWNSHIP}",
                    "/dashboard/network/centres/{centre}?" + JUNE, "/dashboard/network/imports"],
    Role.ADMIN: ["/admin/", "/admin/organisations", "/admin/users", "/admin/tokens", "/admin/programs",
                 "/admin/stations", "/admin/centres", "/admin/routes"],
}
EXPORTS = {
    Role.MEMBER: ["/seller/export.xlsx?label=06-03 场次", "/portal/upload/template.csv"],
    Role.OFFICIAL: [f"/dashboard/export/volumes.{f}?{JUNE}&period=month&group_by=program&group_by=status"
                    for f in ("csv", "xlsx")]
    + [f"/dashboard/export/{r}.{f}?{JUNE}" for r in ("quality", "late", "network", "shipments") for f in ("csv", "xlsx")]
    + ["/dashboard/export/progress.csv?as_of=2026-06-30"]
    + [f"/dashboard/network/assessment.{f}?{JUNE}&county={COUNTY}" for f in ("csv", "xlsx")],
}


def export_text(response) -> str:
    if response.mimetype == "text/csv":
        rows = csv.reader(io.StringIO(response.get_data().decode("utf-8-sig")))
    else:
        rows = load_workbook(io.BytesIO(response.get_data())).active.iter_rows(values_only=True)
    # Tracking numbers are codes people read as they are.
    return " | ".join(str(c) for row in rows for c in row if c is not None and not str(c).startswith("SBX"))


@pytest.mark.parametrize("lang", ["zh_Hans_CN", "en"])
@pytest.mark.parametrize("role", [Role.MEMBER, Role.OFFICIAL, Role.ADMIN])
def test_pages_and_exports_speak_words_not_codes(client, world, role, lang):
    user = {Role.MEMBER: world["member"], Role.OFFICIAL: world["official"], Role.ADMIN: world["admin"]}[role]
    login(client, user)
    client.set_cookie("lang", lang)
    zh = lang.startswith("zh")
    found = {}
    for path in PAGES[role]:
        path = path.format(centre=world["centre"].id)
        response = client.get(path)
        assert response.status_code == 200, path
        found[path] = problems_in(visible_text(response.get_data(as_text=True)), zh)
    for path in EXPORTS.get(role, []):
        # The report exports take the language as a parameter; the assessment follows the page's.
        if "/network/" not in path:
            path += ("&" if "?" in path else "?") + f"lang={lang[:2]}"
        response = client.get(path)
        assert response.status_code == 200, path
        found[path] = problems_in(export_text(response), zh)
    assert {path: p for path, p in found.items() if p} == {}
