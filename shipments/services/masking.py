"""Masking of personal data for officials and public pages (DOMAIN.md §6)."""
import re

# Mainland mobiles inside carrier texts ("快递员王师傅 13912345678").
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{6})(\d{2})(?!\d)")
# Names after the words carriers put before them: 签收人：张三, 快递员王师傅.
_NAMED = re.compile(r"(签收人|收件人|收货人|寄件人|代收人|快递员|派件员|派送员|业务员|配送员|小哥)([:：]?\s*)([\u4e00-\u9fff]{2,4})")
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
    text = _NAMED.sub(lambda m: m.group(1) + m.group(2) + _mask_person(m.group(3)), text)
    return _PICKUP.sub(lambda m: m.group(1) + m.group(2) + "****", text)


def _mask_person(word: str) -> str:
    # 王师傅 / 李先生 keep the honorific: it names no one.
    for honorific in ("师傅", "先生", "女士", "小姐"):
        if word.endswith(honorific) and len(word) > len(honorific):
            return word[:1] + "*" * (len(word) - len(honorific) - 1) + honorific
    return mask_name(word)
