"""Number normalisation, the S10 check digit and carrier detection."""

from __future__ import annotations

import pytest

from integrations import detect, normalise_number, s10_valid
from integrations.numbers import phone_last4, s10_check_digit

# (carrier, example_number) from /work/shared/data/carriers.csv, embedded on purpose.
CSV_EXAMPLES = [
    ("ems", "1100012345678"), ("chinapost", "9800000000001"), ("sf", "SF1000000000001"),
    ("zto", "78000000000001"), ("yto", "YT1000000000001"), ("sto", "773000000000001"),
    ("yunda", "462000000000001"), ("jtexpress", "JT0000000000001"), ("jd", "JDVA00000000001"),
    ("deppon", "DPK300000000001"), ("best", "557000000000001"),
]


@pytest.mark.parametrize("raw, expected", [
    ("  yt1000000000001 ", "YT1000000000001"),
    ("ＳＦ１０００ ０００ ０００ ００１", "SF1000000000001"),   # full-width digits, letters, space
    ("sf-1000-0000-00001", "SF1000000000001"),
    ("EA 123 456 785 cn", "EA123456785CN"),
    ("78000000000001\t", "78000000000001"),
])
def test_normalise_number(raw, expected):
    assert normalise_number(raw) == expected


@pytest.mark.parametrize("number", ["EA123456785CN", "AA123456785CN", "EB000717618HK", "EB000717595HK",
                                    "EE471108151FR", "RR473124829GB", "ea123456785cn"])
def test_s10_valid(number):
    assert s10_valid(number)


@pytest.mark.parametrize("number", ["AA123456789CN", "EB000717594HK", "EA12345678CN", "1100012345678"])
def test_s10_invalid(number):
    assert not s10_valid(number)


def test_s10_check_digit_edge_cases():
    assert s10_check_digit("96633102") == 0   # 10 -> 0
    assert s10_check_digit("00000000") == 5   # 11 -> 5


@pytest.mark.parametrize("carrier, number", CSV_EXAMPLES)
def test_detect_ranks_every_csv_example_first(carrier, number):
    cands = detect(number)
    assert cands[0].carrier == carrier
    assert all(0 < c.confidence <= 1 for c in cands)
    assert [c.confidence for c in cands] == sorted((c.confidence for c in cands), reverse=True)


def test_ambiguous_13_digits_give_several_candidates():
    carriers = [c.carrier for c in detect("5100012345678")]
    assert {"ems", "chinapost", "yunda"} <= set(carriers)
    assert [c.carrier for c in detect("3950055201640")][0] == "yunda"


def test_s10_with_good_check_digit_is_postal():
    assert [c.carrier for c in detect("EA123456785CN")] == ["ems"]  # E…: the EMS service
    assert [c.carrier for c in detect("RR123456785CN")] == ["chinapost", "ems"]


def test_s10_with_wrong_check_digit_is_rejected():
    assert detect("EA123456789CN") == []


def test_detect_sandbox_and_unknown():
    assert detect("sbx0000000001")[0].carrier == "sandbox"
    assert detect("hello") == [] and detect("") == []


@pytest.mark.parametrize("raw, last4", [("1234", "1234"), ("13800001234", "1234"), ("13800000000-5678", "5678"),
                                        ("１２３４", "1234"), ("12", None), (None, None), ("", None)])
def test_phone_last4(raw, last4):
    assert phone_last4(raw) == last4
