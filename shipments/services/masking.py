"""Masking of personal data for officials and public pages (DOMAIN.md §6)."""
import re

# Mainland mobiles inside carrier texts ("快递员王师傅 13912345678").
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{6})(\d{2})(?!\d)")
# Names after the words carriers put before them: 签收人：张三, 快递员王师傅.
_NAMED = re.compile(r"(签收人|收件人|收货人|寄件人|代收人|快递员|派件员|派送员|业务员|配送员|小哥)([:：]?\s*)([\u4e00-\u9fff]{2,4})")
# Ordinary words that follow those role words and are not names: 快递员揽收, 收件人拒收, 签收人：本人.
_ORDINARY = ("揽收", "拒收", "拒签", "签收", "派送", "派件", "配送", "投递", "正在", "已经", "已", "将", "会", "电话",
             "手机", "联系", "本人", "家人", "门卫", "同事", "前台", "物业", "快递柜", "驿站", "代收点", "无人", "不在",
             "未", "要求", "表示", "称", "在", "为您", "您", "地址", "信息", "取件", "上门")
# Pickup codes for lockers and stations (取件码 12-3-4567, 提货码: A123).
_PICKUP = re.compile(r"(取件码|取货码|提货码|取件号|验证码)([:：]?\s*)([A-Za-z0-9\-]+)")


def mask_name(name: str) -> str:
    """Keep the first character of a name: 张三 → 张*, 欧阳娜娜 → 欧***."""
    return name[:1] + "*" * (len(name) - 1) if name else name


def mask_phone_last4(last4: str | None) -> str | None:
    """Show the stored last 4 digits behind seven stars: *******5678."""
    return None if not last4 else "*******" + last4


def mask_text(text: str | None) -> str | None:
    """Mask mobiles, names after role words and pickup codes in a carrier's text."""
    if not text:
        return text
    text = _MOBILE.sub(lambda m: m.group(1) + "******" + m.group(3), text)
    text = _NAMED.sub(lambda m: m.group(1) + m.group(2) + _mask_name_in(m.group(3), m.string[m.end(3):m.end(3) + 3]), text)
    return _PICKUP.sub(lambda m: m.group(1) + m.group(2) + "****", text)


def _mask_name_in(words: str, after: str) -> str:
    # The capture may run on into ordinary words (王小明正在派件): mask only what comes before them.
    cut = min((i for i in ((words + after).find(w) for w in _ORDINARY) if i >= 0), default=len(words))
    cut = min(cut, len(words))
    for honorific in ("师傅", "先生", "女士", "小姐"):
        at = words.find(honorific)
        if 0 < at < cut:
            cut = at + len(honorific)
    name, rest = words[:cut], words[cut:]
    return (_mask_person(name) if len(name) >= 2 else name) + rest


def _mask_person(word: str) -> str:
    # 王师傅 / 李先生 keep the honorific: it names no one.
    for honorific in ("师傅", "先生", "女士", "小姐"):
        if word.endswith(honorific) and len(word) > len(honorific):
            return word[:1] + "*" * (len(word) - len(honorific) - 1) + honorific
    return mask_name(word)
