"""Masking hides names, mobiles and pickup codes, and never ordinary words (DOMAIN.md §6)."""
from datetime import datetime, timezone

import pytest

from integrations.sandbox.timeline import make_number, timeline
from shipments.services.masking import mask_text
from tests.fakes import scenarios


def _phrases() -> set[str]:
    """Every text the sandbox carrier writes (300 parcels) and every text of the fake carriers' scenarios."""
    start = datetime(2026, 6, 1, 1, 0, tzinfo=timezone.utc)
    texts = {e.description for i in range(300) for e in timeline(make_number(i), start, exception_share=0.3,
                                                                  return_share=0.1, attempt_fail_share=0.2)}
    for value in vars(scenarios).values():
        rows = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
        for row in rows:
            for step in (row if isinstance(row, list) else [row]):
                if isinstance(step, tuple):
                    texts.update(part for part in step if isinstance(part, str) and len(part) > 6)
    return texts


def test_common_carrier_phrases_are_left_alone():
    phrases = _phrases()
    assert {"商家已下单，等待快递员揽收", "收件人拒收，快件退回寄件人"} <= phrases
    assert len(phrases) > 40
    changed = {text: mask_text(text) for text in phrases if mask_text(text) != text}
    assert changed == {}


@pytest.mark.parametrize("text, masked", [
    ("快件已签收，签收人：张三，感谢使用", "快件已签收，签收人：张*，感谢使用"),
    ("派件员王小明正在派件", "派件员王**正在派件"),
    ("快递员李四 13912345678 正在为您派件", "快递员李* 139******78 正在为您派件"),
    ("派件员王师傅 正在派件", "派件员王师傅 正在派件"),
    ("签收人：本人", "签收人：本人"),
    ("快递员揽收", "快递员揽收"),
    ("请凭取件码 12-3-4567 取件", "请凭取件码 **** 取件"),
])
def test_names_mobiles_and_codes_are_masked(text, masked):
    assert mask_text(text) == masked
