"""Every dashboard export, opened and read back: title, the filters shown on screen, headers in words,
no raw codes, and a totals row that equals the rows and the page."""
import csv
import io
import re

import pytest
from openpyxl import load_workbook

from shipments.models import enums
from shipments.models.enums import Role
from tests.reports.test_dashboard import figures, login  # noqa: F401  (the same fixtures)

JUNE = "date_from=2026-06-01&date_to=2026-06-30"
RAW = re.compile(r"(?<![\w-])(" + "|".join(sorted(
    {m.value for e in vars(enums).values() if isinstance(e, type) and issubclass(e, enums.StrEnum)
     and e is not enums.StrEnum for m in e} | {"sandbox", "zto", "None"}, key=len, reverse=True)) + r")(?![\w-])")


def read(response, fmt: str) -> list[list]:
    """The export's rows as values (CSV text or XLSX cells)."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    if fmt == "csv":
        text = response.get_data().decode("utf-8-sig")
        return [[cell for cell in row] for row in csv.reader(io.StringIO(text))]
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    return [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]


def number(value) -> float:
    return float(str(value).replace(",", "")) if value not in ("", None) else 0.0


REPORTS = {
    "volumes": f"period=month&group_by=program&group_by=carrier&{JUNE}",
    "quality": JUNE, "late": JUNE, "network": JUNE, "shipments": JUNE, "progress": "as_of=2026-06-30",
}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("report", REPORTS)
def test_every_export_reads_back_with_title_filters_words_and_totals(client, login, figures, report, fmt):
    login(Role.OFFICIAL)
    rows = read(client.get(f"/dashboard/export/{report}.{fmt}?{REPORTS[report]}&lang=zh"), fmt)
    title, note, headers, body, totals = rows[0], rows[1], rows[2], rows[3:-1], rows[-1]
    assert title[0] and not any(title[1:])
    if report == "progress":
        assert "截至 2026-06-30" in title[0] and "单位：件" in note[0]
    else:
        assert "登记日期：2026-06-01 ~ 2026-06-30" in note[0]  # the filters the page showed
        assert "单位" in note[0]
    assert all(h and not RAW.search(str(h)) for h in headers)
    assert totals[0] == "合计"
    assert body, "no rows"
    words = [str(c) for row in body for c in row if isinstance(c, str) and not c.startswith("SBX")]
    assert not [w for w in words if RAW.search(w)], "raw codes in the export"
    if report in ("volumes", "shipments", "network"):
        # Every count column adds up to its totals cell.
        for i, header in enumerate(headers):
            if "（件）" in str(header) or "（票）" in str(header):
                assert number(totals[i]) == sum(number(row[i]) for row in body), header


def test_the_volumes_chart_export_takes_two_groupings(client, login, figures):
    login(Role.OFFICIAL)
    rows = read(client.get(f"/dashboard/export/volumes.xlsx?{REPORTS['volumes']}"), "xlsx")
    assert rows[2][:3] == ["统计期", "寄递项目", "快递企业"]
    assert rows[3][1:6] == ["上虞杨梅测试项目", "中通快递", 3, 6, ""] or rows[3][1:5] == ["上虞杨梅测试项目", "中通快递", 3, 6]


def test_exports_totals_equal_the_page(client, login, figures):
    login(Role.OFFICIAL)
    page = client.get(f"/dashboard/shipments?program_id={figures.id}&{JUNE}").get_data(as_text=True)
    assert '<b id="total">3</b> 票' in page
    rows = read(client.get(f"/dashboard/export/shipments.csv?program_id={figures.id}&{JUNE}"), "csv")
    assert "项目：上虞杨梅测试项目" in rows[1][0]  # the program by name, not its number
    assert rows[-1][:2] == ["合计", "3 票"] and number(rows[-1][4]) == 6
    assert [r[2] for r in rows[3:-1]] == ["上虞杨梅测试项目"] * 3
    assert {r[1] for r in rows[3:-1]} == {"中通快递"}


def test_english_exports_have_no_chinese_words_of_ours(client, login, figures):
    login(Role.OFFICIAL)
    rows = read(client.get("/dashboard/export/progress.csv?as_of=2026-06-30&lang=en"), "csv")
    assert rows[2][1] == "Tier" and rows[3][1] == "100k-piece tier"
    rows = read(client.get(f"/dashboard/export/late.csv?{JUNE}&lang=en"), "csv")
    assert rows[3][0] == "ZTO Express" or not re.search(r"[\u4e00-\u9fff]", rows[3][0])
    assert not re.search(r"[\u4e00-\u9fff]", rows[3][3])  # the status in words, in English
