"""Our carrier table.

Source: /work/shared/data/carriers.csv (project data, columns code, name_zh,
name_en, kuaidi100_code, kdniao_code, number_regex, example_number,
seventeentrack_key) and DOMAIN.md §4 for the phone rule. Copied as literals:
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
    needs_phone: bool  # SF (all aggregators) and ZTO (Kuaidi100) want the phone's last 4 digits
    example: str

    @property
    def pattern(self) -> re.Pattern:
        return _COMPILED[self.code]


CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in (
        Carrier("ems", "中国邮政EMS", "China Post EMS", "ems", "EMS", 3013,
                r"^(?:[159]\d{12}|[A-Z]{2}\d{9}[A-Z]{2}|P[A-Z]\d{11})$", False, "1100012345678"),
        Carrier("chinapost", "邮政快递包裹", "China Post parcel", "youzhengguonei", "YZPY", 3011,
                r"^(?:\d{13}|[A-Z]{2}\d{9}[A-Z]{2})$", False, "9800000000001"),
        Carrier("sf", "顺丰速运", "SF Express", "shunfeng", "SF", None,
                r"^SF[0-9A-Z]\d{12}$", True, "SF1000000000001"),
        Carrier("zto", "中通快递", "ZTO Express", "zhongtong", "ZTO", None,
                r"^7[3-68]\d{12}$", True, "78000000000001"),
        Carrier("yto", "圆通速递", "YTO Express", "yuantong", "YTO", None,
                r"^YT\d{13}$", False, "YT1000000000001"),
        Carrier("sto", "申通快递", "STO Express", "shentong", "STO", None,
                r"^(?:77|88|99)\d{13}$", False, "773000000000001"),
        Carrier("yunda", "韵达快递", "Yunda Express", "yunda", "YD", None,
                r"^(?:[34]\d{14}|[35]\d{12})$", False, "462000000000001"),
        Carrier("jtexpress", "极兔速递", "J&T Express (China)", "jtexpress", "JTSD", None,
                r"^JT\d{13}$", False, "JT0000000000001"),
        Carrier("jd", "京东快递", "JD Logistics (JD Express)", "jd", "JD", None,
                r"^JD[0-9A-Z]{2}\d{11}$", False, "JDVA00000000001"),
        Carrier("deppon", "德邦快递", "Deppon Express", "debangkuaidi", "DBL", None,
                r"^DPK\d{12}$", False, "DPK300000000001"),
        Carrier("best", "百世快递", "Best Express (legacy; now J&T)", "huitongkuaidi", "HTKY", None,
                r"^(?:[ABDE]\d{12}|5\d{13,14}|6\d{13})$", False, "557000000000001"),
        Carrier("sandbox", "越乡模拟快递", "Yuexiang demo carrier", None, None, None,
                r"^SBX\d{10}$", False, "SBX0000000001"),
    )
}

_COMPILED = {code: re.compile(c.regex) for code, c in CARRIERS.items()}


def get_carrier(code: str) -> Carrier:
    """Return the carrier with our code `code` (KeyError if unknown)."""
    return CARRIERS[code]
