"""Walk every code of every provider's status table through the parsers, plus the fallbacks."""

from __future__ import annotations

import pytest

from integrations import InvalidNumber, NotFoundYet, Status, TrackRequest, TrackResult
from integrations.kdniao import mapping as kdn_map, statuses as kdn
from integrations.kuaidi100 import mapping as k100_map, statuses as k100
from integrations.sandbox import statuses as sbx
from integrations.seventeentrack import mapping as t17_map, statuses as t17

REQ = TrackRequest("yto", "YT1000000000001")
EVENT_BJ = "2026-06-01 08:00:00"

# Every code STATUS_MODEL.md §2.1 / §2.2 lists must be in the literal tables.
K100_DOC_CODES = {"101", "102", "1", "103", "0", "1001", "1002", "1003", "7", "8", "10", "11", "12", "13", "5",
                  "501", "3", "301", "302", "303", "304", "2", "201", "202", "203", "204", "205", "206", "207",
                  "208", "209", "210", "6", "4", "401", "14"}
KDN_DOC_CODES = {"0", "10", "1", "2", "201", "202", "211", "3", "301", "302", "304", "311", "4", "401", "402",
                 "403", "404", "405", "406", "407", "412", "413", "5", "6"}


def test_tables_cover_the_status_model():
    assert set(k100.STATUS_TABLE) == K100_DOC_CODES
    assert set(kdn.STATUS_TABLE) == KDN_DOC_CODES
    assert len(t17.SUB_STATUS_TABLE) == 30


@pytest.mark.parametrize("code", sorted(k100.STATUS_TABLE))
def test_kuaidi100_every_code(code):
    body = {"message": "ok", "nu": REQ.number, "com": "yuantong", "state": code,
            "data": [{"time": EVENT_BJ, "ftime": EVENT_BJ, "context": "扫描", "statusCode": code}]}
    r = k100_map.parse_query_response(REQ, body)
    status, sub = k100.STATUS_TABLE[code]
    assert isinstance(r, TrackResult)
    assert (r.status, r.substatus, r.raw_state) == (status, sub, code)
    assert (r.events[0].status, r.events[0].raw_code) == (status, code)


@pytest.mark.parametrize("code, base", [("1099", "0"), ("109", "1"), ("299", "2"), ("399", "3"),
                                        ("499", "4"), ("599", "5")])
def test_kuaidi100_prefix_fallback(code, base):
    assert k100.map_state(code) == k100.STATUS_TABLE[base]


def test_kuaidi100_unknown_code_uses_last_event():
    body = {"state": "9999", "nu": "x", "data": [{"ftime": EVENT_BJ, "context": "快件已签收，签收人：本人"}]}
    r = k100_map.parse_query_response(REQ, body)
    assert r.status is Status.DELIVERED and r.raw_state == "9999"


@pytest.mark.parametrize("code", sorted(kdn.STATUS_TABLE))
def test_kdniao_every_code(code):
    item = {"Success": True, "LogisticCode": REQ.number, "ShipperCode": "YTO", "State": code[0], "StateEx": code,
            "Traces": [{"AcceptTime": EVENT_BJ, "AcceptStation": "扫描", "Action": code}]}
    r = kdn_map.parse_query_response(REQ, item)
    status, sub = kdn.STATUS_TABLE[code]
    assert isinstance(r, TrackResult)
    if status is Status.PENDING:  # 暂无轨迹信息 with a trace: the trace decides
        assert r.raw_state == code
    else:
        assert (r.status, r.substatus, r.raw_state) == (status, sub, code)
    assert r.events[0].status is status and r.events[0].raw_code == code


def test_kdniao_state_zero_without_traces_is_not_found():
    assert isinstance(kdn_map.parse_query_response(REQ, {"Success": True, "State": "0", "Traces": []}), NotFoundYet)


@pytest.mark.parametrize("code, base", [("199", "1"), ("299", "2"), ("399", "3"), ("499", "4")])
def test_kdniao_prefix_fallback(code, base):
    assert kdn.map_state(code) == kdn.STATUS_TABLE[base]


def _t17_item(main, sub):
    ev = {"time_utc": "2026-06-01T00:00:00Z", "time_iso": "2026-06-01T08:00:00+08:00",
          "description": "scan", "location": "杭州", "stage": None, "sub_status": sub}
    return {"number": "EA1", "carrier": 3013, "track_info": {
        "latest_status": {"status": main, "sub_status": sub},
        "tracking": {"providers": [{"events": [ev]}]}}}


@pytest.mark.parametrize("sub", sorted(t17.SUB_STATUS_TABLE))
def test_17track_every_sub_status(sub):
    main = sub.split("_")[0]
    r = t17_map.parse_item(TrackRequest("ems", "EA1"), _t17_item(main, sub))
    status, substatus = t17.SUB_STATUS_TABLE[sub]
    assert (r.status, r.substatus, r.raw_state) == (status, substatus, sub)
    assert r.events[0].status is status and r.events[0].raw_code == sub


@pytest.mark.parametrize("sub, status", [("InTransit_Accepted", Status.IN_TRANSIT),
                                         ("InTransit_TransportArrived", Status.IN_TRANSIT),
                                         ("Delivered_Neighbour", Status.DELIVERED),
                                         ("Exception_Whatever", Status.EXCEPTION)])
def test_17track_prefix_fallback(sub, status):
    assert t17.map_status(None, sub) == (status, None)


def test_17track_invalid_code_without_events_is_invalid_number():
    item = {"number": "EA1", "track_info": {"latest_status": {"status": "NotFound",
                                                              "sub_status": "NotFound_InvalidCode"}}}
    assert isinstance(t17_map.parse_item(TrackRequest("ems", "EA1"), item), InvalidNumber)


@pytest.mark.parametrize("code", sorted(sbx.STATUS_TABLE))
def test_sandbox_every_code(code):
    assert sbx.map_state(code) == sbx.STATUS_TABLE[code]


def test_sandbox_unknown_code_falls_back():
    assert sbx.map_state("NEW") == (Status.IN_TRANSIT, None)
