"""绩效可追 one click at a time: from a dashboard number down to one shipment's poll log and upload row,
and every network figure's drill-down total equals the figure (both databases)."""
import re
from datetime import timedelta
from html import unescape

from shipments.db import utcnow
from shipments.models import ImportBatch
from shipments.models.enums import Direction, PollOutcome, RegistrationSource, Role, StationLevel
from shipments.services import poll_log
from tests.network.conftest import PINGSHUI
from tests.web.conftest import login

LINK = re.compile(r'<a href="([^"]+)"[^>]*>([^<]+)</a>')


def links(html: str, section: str) -> list[tuple[str, str]]:
    """(href, text) of the links inside the element with data-testid=section."""
    start = html.index(f'data-testid="{section}"')
    end = html.index("</table>", start) if "</table>" in html[start:] else len(html)
    return [(unescape(href), text.strip()) for href, text in LINK.findall(html[start:end])]


def total_of(html: str) -> int:
    return int(re.search(r'id="total">([\d,]+)<', html).group(1).replace(",", ""))


def test_a_dashboard_number_leads_to_one_shipments_poll_log_and_upload_row(client, db_session, create_user,
                                                                           create_station, create_shipment,
                                                                           create_organisation):
    create_station(level=StationLevel.TOWNSHIP, name="平水测试共配中心", daily_capacity=5000)
    village = create_station(attendant_name="王丽")
    org = create_organisation(county_code="330603")
    batch = ImportBatch(organisation_id=org.id, file_name="平水茶叶11月.xlsx", rows=9, created=9, created_at=utcnow())
    db_session.add(batch)
    db_session.flush()
    recent = utcnow() - timedelta(days=2)
    parcels = [create_shipment(organisation=org, origin_station_id=village.id, origin_division_code=PINGSHUI,
                               direction=Direction.OUTBOUND, registered_at=recent + timedelta(minutes=i),
                               source=RegistrationSource.IMPORT, import_batch_id=batch.id, import_row=i + 2,
                               phone_last4="8642", order_ref="DY-SECRET-1")
               for i in range(3)]
    create_shipment(organisation=org, origin_division_code="330681108", registered_at=recent)  # Zhuji
    newest = parcels[-1]
    poll_log.record_polls(db_session, [
        poll_log.poll_row(newest.id, sent_at=recent + timedelta(hours=h), provider="kuaidi100", kind="track",
                          outcome=outcome, duration_ms=420, http_status=status, error=error)
        for h, outcome, status, error in ((1, PollOutcome.NOT_FOUND, 200, None),
                                          (5, PollOutcome.ERROR, 502, "ProviderError: HTTP 502"))])
    db_session.commit()
    login(client, create_user(Role.OFFICIAL))

    dashboard = client.get("/dashboard").get_data(as_text=True)
    network_url = re.search(r'href="([^"]+)" data-testid="network-link"', dashboard).group(1)
    view = client.get(unescape(network_url))
    assert view.status_code == 200
    html = view.get_data(as_text=True)
    # Every county number's drill-down lists exactly as many shipments as the figure says.
    figures = [(h, t) for h, t in links(html, "areas") if h.startswith("/dashboard/shipments")]
    assert len(figures) == 12
    for href, text in figures:
        assert total_of(client.get(href).get_data(as_text=True)) == int(text.replace(",", "")), href
    keqiao_out = next(h for h, t in figures if "county=330603" in h and "direction=outbound" in h)
    listing = client.get(keqiao_out).get_data(as_text=True)
    assert total_of(listing) == 3
    # Down to the township, its stations, and one station's shipments.
    county_page = client.get(next(h for h, t in links(html, "areas") if "county=330603" in h and "township" not in h
                                  and h.startswith("/dashboard/network/"))).get_data(as_text=True)
    township_href = next(h for h, t in links(county_page, "areas") if f"township={PINGSHUI}" in h
                         and h.startswith("/dashboard/network/"))
    township_page = client.get(township_href).get_data(as_text=True)
    assert village.name in township_page and "王丽" in township_page
    station_href = next(h for h, t in links(township_page, "stations") if f"station_id={village.id}" in h)
    assert total_of(client.get(station_href).get_data(as_text=True)) == 3
    # One shipment: read-only, masked, with its poll log (newest first) and the upload row it came from.
    shipment_href = re.search(r'href="([^"]*/shipment/[^"]*%s)"' % newest.tracking_number, listing).group(1)
    page = client.get(unescape(shipment_href))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    polls = text[text.index('data-testid="polls"'):]
    assert polls.index("502") < polls.index("200") and "ProviderError: HTTP 502" in polls
    assert 'data-testid="provenance-row">4<' in text and "平水茶叶11月.xlsx" in text
    assert "8642" not in text and "DY-SECRET-1" not in text
    batch_href = unescape(re.search(r'href="([^"]+)" data-testid="provenance-batch"', text).group(1))
    batches = client.get(batch_href).get_data(as_text=True)
    assert 'data-testid="chosen-batch"' in batches and "平水茶叶11月.xlsx" in batches
    # Officials read; they cannot use the members' pages or the station desk.
    assert client.get("/portal/").status_code in (302, 403)
