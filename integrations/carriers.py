"""Our carrier table.

Source: /work/shared/data/carriers.csv (project data, columns code, name_zh,
name_en, kuaidi100_code, kdniao_code, number_regex, example_number,
seventeentrack_key, notes: the legacy shapes) and DOMAIN.md §4 for the phone rule. Copied as literals:
the product never reads the shared data at run time. `sandbox` is ours
(integrations/sandbox).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Carrier:
    code: str
    name_zh: str
    name_en: str
    kuaidi100: str | None
    kdniao: str | None
    seventeentrack: int | None  # only 3011/3013 confirmed; None = let 17TRACK auto-detect
    regex: str
    example: str
    shape_zh: str  # the expected shape in words, for error messages
    shape_en: str
    legacy: str | None = None  # older numbers still in circulation (detected with low confidence)

    @property
    def pattern(self) -> re.Pattern:
        return _COMPILED[self.code]

    @property
    def needs_phone(self) -> bool:
        """Whether any aggregator needs the phone's last 4 digits to track this carrier."""
        return any(self.code in carriers for carriers in PHONE_RULES.values())

    def matches(self, number: str) -> bool:
        """Tell whether a normalised number fully fits this carrier (current or legacy shape)."""
        return bool(_COMPILED[self.code].match(number) or (self.legacy and _LEGACY[self.code].match(number)))

    def is_legacy(self, number: str) -> bool:
        """Tell whether a normalised number fits only this carrier's legacy shape."""
        return bool(self.legacy and _LEGACY[self.code].match(number) and not _COMPILED[self.code].match(number))


# Which carriers need the phone's last 4 digits, per provider (CARRIER_APIS.md §1.2, §2.2).
# The one home of this rule: Carrier.needs_phone and registry.needs_phone read it.
PHONE_RULES: dict[str, frozenset[str]] = {
    "kuaidi100": frozenset({"sf", "zto"}),
    "kdniao": frozenset({"sf"}),
    "17track": frozenset(),
    "sandbox": frozenset(),
}


CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in (
        Carrier("ems", "中国邮政EMS", "China Post EMS", "ems", "EMS", 3013,
                r"^(?:[159]\d{12}|[A-Z]{2}\d{9}[A-Z]{2}|P[A-Z]\d{11})$", "1100012345678",
                "13 位数字（以 1、5 或 9 开头），或国际 UPU 格式如 EA123456785CN",
                "13 digits starting 1, 5 or 9, or a UPU S10 number like EA123456785CN"),
        Carrier("chinapost", "邮政快递包裹", "China Post parcel", "youzhengguonei", "YZPY", 3011,
                r"^(?:\d{13}|[A-Z]{2}\d{9}[A-Z]{2})$", "9800000000001",
                "13 位数字，或国际 UPU 格式如 RR123456785CN",
                "13 digits, or a UPU S10 number like RR123456785CN"),
        Carrier("sf", "顺丰速运", "SF Express", "shunfeng", "SF", None,
                r"^SF[0-9A-Z]\d{12}$", "SF1000000000001",
                "SF 加 13 位字母数字，共 15 位（老单号为 12 位数字）",
                "SF followed by 13 characters, 15 in all (older numbers: 12 digits)", legacy=r"^\d{12}$"),
        Carrier("zto", "中通快递", "ZTO Express", "zhongtong", "ZTO", None,
                r"^7[3-68]\d{12}$", "78000000000001",
                "14 位数字，以 73–76 或 78 开头（老单号为 12 位数字）",
                "14 digits starting 73–76 or 78 (older numbers: 12 digits)", legacy=r"^\d{12}$"),
        Carrier("yto", "圆通速递", "YTO Express", "yuantong", "YTO", None,
                r"^YT\d{13}$", "YT1000000000001",
                "YT 加 13 位数字",
                "YT followed by 13 digits"),
        Carrier("sto", "申通快递", "STO Express", "shentong", "STO", None,
                r"^(?:77|88|99)\d{13}$", "773000000000001",
                "15 位数字，以 77、88 或 99 开头",
                "15 digits starting 77, 88 or 99"),
        Carrier("yunda", "韵达快递", "Yunda Express", "yunda", "YD", None,
                r"^(?:[34]\d{14}|[35]\d{12})$", "462000000000001",
                "15 位数字（以 3 或 4 开头）或 13 位数字（以 3 或 5 开头）",
                "15 digits starting 3 or 4, or 13 digits starting 3 or 5"),
        Carrier("jtexpress", "极兔速递", "J&T Express (China)", "jtexpress", "JTSD", None,
                r"^JT\d{13}$", "JT0000000000001",
                "JT 加 13 位数字",
                "JT followed by 13 digits"),
        Carrier("jd", "京东快递", "JD Logistics (JD Express)", "jd", "JD", None,
                r"^JD[0-9A-Z]{2}\d{11}$", "JDVA00000000001",
                "JD 加 2 位字母数字和 11 位数字，共 15 位",
                "JD, 2 letters or digits and 11 digits, 15 in all"),
        Carrier("deppon", "德邦快递", "Deppon Express", "debangkuaidi", "DBL", None,
                r"^DPK\d{12}$", "DPK300000000001",
                "DPK 加 12 位数字",
                "DPK followed by 12 digits"),
        Carrier("best", "百世快递", "Best Express (legacy; now J&T)", "huitongkuaidi", "HTKY", None,
                r"^(?:[ABDE]\d{12}|5\d{13,14}|6\d{13})$", "557000000000001",
                "13–15 位（A/B/D/E 加 12 位数字，或以 5、6 开头的数字）",
                "A/B/D/E and 12 digits, or 14–15 digits starting 5 or 6"),
        Carrier("sandbox", "越乡模拟快递", "Yuexiang sandbox carrier", None, None, None,
                r"^SBX\d{10}$", "SBX0000000001",
                "SBX 加 10 位数字",
                "SBX followed by 10 digits"),
    )
}

_COMPILED = {code: re.compile(c.regex) for code, c in CARRIERS.items()}
_LEGACY = {code: re.compile(c.legacy) for code, c in CARRIERS.items() if c.legacy}


def get_carrier(code: str) -> Carrier:
    """Return the carrier with our code `code` (KeyError if unknown)."""
    return CARRIERS[code]
