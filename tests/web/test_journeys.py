"""What each kind of person sees, in a real browser, on a desktop (1366×900) and a phone (390×844).

One server (demo data plus a few prepared parcels), one browser for the module, one
page per role and viewport that walks that role's everyday pages. On every page:
nothing wider than the viewport except inside a scrolling table, no short label
broken over more than two lines, no sub-navigation label broken at all, no raw code,
no console error (CSP violations are console errors), no request to another host.
Screenshots go to test-artifacts/screenshots/.
"""
import re

import pytest

from shipments.models import enums
from shipments.services import demo
from tests.live_server import wait_for_dashboard
from tests.web.conftest import CHROMIUM
from tests.web.test_browser import Guard, live_server  # noqa: F401  (the same prepared server)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)"),
]

DESKTOP = {"viewport": {"width": 1366, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}

# Every stored code a person could be shown by mistake, plus carrier substatus codes.
RAW_CODES = sorted({m.value for e in vars(enums).values() if isinstance(e, type) and issubclass(e, enums.StrEnum)
                    and e is not enums.StrEnum for m in e} | {"sandbox", "unassigned", "DELAYED", "None", "nan"})
RAW_CODE = re.compile(r"(?<![\w/.-])(" + "|".join(map(re.escape, RAW_CODES)) + r")(?![\w/.-])")
# A Chinese page must not carry English phrases (two or more English words in a row) outside brand names.
ENGLISH_PHRASE = re.compile(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,})+\b")
ALLOWED_ENGLISH = {"China Post EMS", "API", "CSV", "Excel", "P50", "P90"}

INSPECT = """() => {
  const width = window.innerWidth;
  const out = {scrollWidth: document.documentElement.scrollWidth, width, wide: [], tall: []};
  // Anything poking out of the viewport that is not inside a horizontally scrolling box.
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= width + 1) continue;
    let p = el.parentElement, scrolled = false;
    while (p && p !== document.body) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') { scrolled = true; break; }
      p = p.parentElement;
    }
    if (!scrolled) out.wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' + (el.className || '') + ' right=' + Math.round(r.right));
  }
  // Short labels (up to 12 characters) must sit on at most two lines.
  for (const cell of document.querySelectorAll('td, th')) {
    const text = cell.innerText.trim();
    if (!text || text.length > 12) continue;
    const range = document.createRange();
    range.selectNodeContents(cell);
    const tops = new Set();
    for (const rect of range.getClientRects()) if (rect.height > 0) tops.add(Math.round(rect.top));
    if (tops.size > 2) out.tall.push(text + ' (' + tops.size + ' lines)');
  }
  // Sub-navigation labels sit on one line (on a phone the bar scrolls sideways instead).
  out.wrapped = [];
  for (const link of document.querySelectorAll('nav.sub-nav a')) {
    const range = document.createRange();
    range.selectNodeContents(link);
    const tops = new Set();
    for (const rect of range.getClientRects()) if (rect.height > 0) tops.add(Math.round(rect.top));
    if (tops.size > 1) out.wrapped.push(link.innerText.trim());
  }
  // What a person reads, less numbers and names typed by people (<code>, translate="no").
  const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  const parts = [];
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || el.closest('code, script, style, [translate=no]') || !el.checkVisibility()) continue;
    parts.push(node.textContent);
  }
  out.text = parts.join(' ');
  return out;
}"""


class Watch:
    """Console errors and page errors of one page, for the page being looked at."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))


def look(page, watch, shots, name, problems, zh=True):
    """Check what a person sees on the current page; screenshot it."""
    page.wait_for_load_state("networkidle")
    found = page.evaluate(INSPECT)
    where = f"{name} ({page.url})"
    if found["scrollWidth"] > found["width"]:
        problems.append(f"{where}: page {found['scrollWidth']} px wide in a {found['width']} px viewport: "
                        f"{found['wide'][:5]}")
    if found["tall"]:
        problems.append(f"{where}: short labels on more than two lines: {found['tall'][:8]}")
    if found["wrapped"]:
        problems.append(f"{where}: sub-navigation labels broken over lines: {found['wrapped']}")
    text = found["text"]
    codes = sorted(set(RAW_CODE.findall(text)))
    if codes:
        problems.append(f"{where}: raw codes {codes}")
    if zh:
        english = sorted({m for m in ENGLISH_PHRASE.findall(text) if m not in ALLOWED_ENGLISH})
        if english:
            problems.append(f"{where}: English on a Chinese page: {english[:8]}")
    if watch.errors:
        problems.append(f"{where}: console errors {watch.errors[:3]}")
        watch.errors.clear()
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def rig(browser, live_server):  # noqa: F811
    """One browser context per viewport and role, made on demand and closed at the end."""
    made = []

    def context(viewport):
        ctx = browser.new_context(base_url=live_server, locale="zh-CN", **VIEWPORTS[viewport])
        guard = Guard(live_server)
        ctx.route("**/*", guard)
        made.append((ctx, guard))
        return ctx
    yield context
    refused = [url for _, guard in made for url in guard.refused]
    for ctx, _ in made:
        ctx.close()
    assert refused == [], "pages asked for another host"


def start(rig, viewport, username=None):
    page = rig(viewport).new_page()
    watch = Watch(page)
    if username:
        page.goto("/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", demo.DEMO_PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_load_state()
    return page, watch


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_public_buyer(rig, screenshots, viewport):
    page, watch = start(rig, viewport)
    problems = []
    page.goto("/")
    look(page, watch, screenshots, f"buyer-{viewport}-home", problems)
    page.goto("/track")
    page.fill("input[name=number]", "ＳＢＸ８８００ ０００００１")  # full-width, as a phone keyboard may type it
    page.click("main button[type=submit]")
    page.wait_for_url("**/t/SBX8800000001")
    # Registered with the phone's digits: the timeline needs them (services/public_tracking.py). The page
    # asking for them answers 404 on purpose (unknown numbers look the same), which Chromium logs.
    watch.errors = [e for e in watch.errors if "404" not in e]
    page.fill("input[name=phone_last4]", "1357")
    with page.expect_navigation():
        page.press("input[name=phone_last4]", "Enter")
    assert page.get_by_test_id("status").inner_text() == "派送中"
    timeline = page.get_by_test_id("timeline").inner_text()
    assert "已揽收" in timeline and "139******78" in timeline
    look(page, watch, screenshots, f"buyer-{viewport}-parcel", problems)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_cooperative(rig, screenshots, viewport):
    page, watch = start(rig, viewport, "pearl-coop")
    problems = []
    page.goto("/portal/")
    look(page, watch, screenshots, f"coop-{viewport}-shipments", problems)
    page.locator("tbody tr td a").first.click()
    page.wait_for_load_state()
    look(page, watch, screenshots, f"coop-{viewport}-detail", problems)
    page.goto("/portal/register")
    look(page, watch, screenshots, f"coop-{viewport}-register", problems)
    page.goto("/portal/upload")
    csv = "运单号,快递公司,手机尾号,订单号,件数\nSBX6600000011,,,A-1,1\n12AB,,,A-2,1\nSBX6600000012,,,A-3,-3\n"
    page.set_input_files("input[name=file]", files=[{"name": "发货.csv", "mimeType": "text/csv",
                                                     "buffer": csv.encode("utf-8")}])
    page.click("main button[type=submit]")
    page.wait_for_url("**/portal/upload/*")
    look(page, watch, screenshots, f"coop-{viewport}-upload-preview", problems)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_seller(rig, screenshots, viewport):
    page, watch = start(rig, viewport, "yuexiang-live")
    problems = []
    page.goto("/seller/")
    look(page, watch, screenshots, f"seller-{viewport}-workspace", problems)
    page.click("summary >> text=查询一场直播的包裹")
    page.fill("input[name=label]", f"12-01 {viewport}")
    numbers = [f"SBX57{'1' if viewport == 'phone' else '0'}000000{i}" for i in (1, 2, 1)]
    page.fill("textarea[name=numbers]", "\n".join(numbers))
    page.click("form[data-busy] button[type=submit]")
    page.wait_for_load_state()
    assert "1 个单号重复粘贴" in page.get_by_test_id("check-summary").inner_text()
    assert numbers[0] in page.get_by_test_id("problems").inner_text()
    look(page, watch, screenshots, f"seller-{viewport}-pasted", problems)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_official(rig, screenshots, viewport):
    page, watch = start(rig, viewport, "official")
    problems = []
    page.goto("/dashboard")
    wait_for_dashboard(page, 15)
    # Hover the chart and the map: their tooltips must not break the page's style policy.
    for chart in ("#monthly-chart", "#county-map"):
        page.locator(chart).scroll_into_view_if_needed()
        box = page.locator(chart).bounding_box()
        for fx, fy in ((0.5, 0.5), (0.35, 0.6), (0.7, 0.7), (0.6, 0.4)):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            page.wait_for_timeout(150)
        # The tooltip is drawn inside the SVG (no HTML with inline styles), in words with units.
        if viewport == "desktop":  # a phone has no hover: a tap on the map drills down instead
            shown = page.evaluate(f"document.querySelector('{chart}').textContent")
            assert "件" in shown, shown[:200]
    look(page, watch, screenshots, f"official-{viewport}-dashboard", problems)
    page.locator("#county-map").screenshot(path=str(screenshots / f"official-{viewport}-map.png"))
    cards = page.locator("#program-cards .card")
    paces = {cards.nth(i).get_attribute("data-pace") for i in range(cards.count())}
    assert {"ahead", "behind"} <= paces  # the demo: some programs ahead of pace, some behind
    assert "1:1000" in page.get_by_test_id("demo-scale").inner_text()
    page.locator("#program-cards .card h3 a").first.click()
    page.wait_for_load_state()
    look(page, watch, screenshots, f"official-{viewport}-drilldown", problems)
    page.locator("[data-testid=pager] a[rel=next]").click()
    page.wait_for_load_state()
    assert "显示第 51–100 票" in page.get_by_test_id("total").inner_text()
    page.locator("[data-testid=drill] tbody tr td a").first.click()
    page.wait_for_load_state()
    assert "揽*" not in page.get_by_test_id("events").inner_text()  # ordinary words stay whole
    look(page, watch, screenshots, f"official-{viewport}-shipment", problems)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_admin(rig, screenshots, viewport):
    page, watch = start(rig, viewport, "admin")
    problems = []
    for path in ("/admin/", "/admin/organisations", "/admin/users", "/admin/programs", "/admin/tokens",
                 "/admin/stations", "/admin/centres", "/admin/routes"):
        page.goto(path)
        look(page, watch, screenshots, f"admin-{viewport}-{path.strip('/').replace('/', '-')}", problems)
    page.goto("/admin/programs")
    page.locator("tbody tr td a").first.click()
    page.wait_for_load_state()
    look(page, watch, screenshots, f"admin-{viewport}-program-edit", problems)
    page.goto("/admin/organisations")
    page.locator("tbody tr td a").first.click()
    page.wait_for_load_state()
    look(page, watch, screenshots, f"admin-{viewport}-organisation-edit", problems)
    assert not problems, "\n".join(problems)
