"""Core behaviour: versioned paths, the error envelope, usage headers, rate limits, planned
faults, the call log, the clock, reset and the state file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from meta_sandbox.testing import Sandbox, start_sandbox_server

from .conftest import IG, error_of
from .shapes import assert_matches_fixture


def test_versioned_and_unversioned_paths(ig: IG) -> None:
    headers = {"Authorization": f"Bearer {ig.token}"}
    for prefix in ("", "/v23.0", "/v25.0"):
        response = httpx.get(
            f"{ig.sandbox.url}{prefix}/me", params={"fields": "username"}, headers=headers
        )
        assert response.json() == {"username": "shop", "id": ig.account["app_scoped_id"]}
    assert (
        httpx.get(f"{ig.sandbox.url}/v25.0/me", headers=headers).headers["facebook-api-version"]
        == "v25.0"
    )


def test_me_profile_fields(ig: IG) -> None:
    me = ig.graph.get("/me", params={"fields": "user_id,username,id"}).json()
    assert_matches_fixture(me, "ig_me.json", exact=True)
    full = ig.graph.get(
        f"/{ig.id}",
        params={
            "fields": "id,user_id,username,name,account_type,profile_picture_url,followers_count,follows_count,media_count"
        },
    ).json()
    assert full["account_type"] == "Business"
    assert full["media_count"] == 0
    assert full["followers_count"] == 1200
    by_scoped_id = ig.graph.get(
        f"/{ig.account['app_scoped_id']}", params={"fields": "username"}
    ).json()
    assert by_scoped_id["username"] == "shop"
    bad = ig.graph.get("/me", params={"fields": "email"})
    assert error_of(bad)["code"] == 100
    assert "nonexisting field (email)" in error_of(bad)["message"]


def test_error_envelope(sandbox: Sandbox) -> None:
    response = sandbox.client.get("/v23.0/me", params={"access_token": "garbage"})
    assert response.status_code == 400
    assert_matches_fixture(response.json(), "graph_error.json")
    error = error_of(response)
    assert error["type"] == "OAuthException"
    assert error["code"] == 190
    assert error["is_transient"] is False
    assert len(error["fbtrace_id"]) == 11
    unknown = sandbox.client.get("/v23.0/123456789", params={"access_token": "garbage"})
    assert error_of(unknown)["code"] in (100, 190)
    missing = sandbox.client.get("/v23.0/1/2/3/4")
    assert error_of(missing)["code"] == 2500


def test_usage_headers_on_every_graph_response(ig: IG) -> None:
    ok = ig.graph.get("/me")
    failed = ig.sandbox.client.get("/v23.0/me", params={"access_token": "nope"})
    for response in (ok, failed):
        app_usage = json.loads(response.headers["x-app-usage"])
        assert set(app_usage) == {"call_count", "total_time", "total_cputime"}
    buc = json.loads(ok.headers["x-business-use-case-usage"])
    (usage,) = buc[ig.id]
    assert usage["type"] == "instagram"
    assert set(usage) == {
        "type",
        "call_count",
        "total_cputime",
        "total_time",
        "estimated_time_to_regain_access",
    }
    assert "x-app-usage" not in ig.sandbox.client.get("/_sandbox/clock").headers


def test_account_rate_limit_is_enforced_and_reported(ig: IG) -> None:
    ig.sandbox.configure(rate_limit_calls_per_hour=5)
    usages = [
        json.loads(ig.graph.get("/me").headers["x-business-use-case-usage"])[ig.id][0]["call_count"]
        for _ in range(5)
    ]
    assert usages == [20, 40, 60, 80, 100]
    limited = ig.graph.get("/me")
    error = error_of(limited)
    assert (error["code"], error["is_transient"]) == (17, True)
    assert (
        json.loads(limited.headers["x-business-use-case-usage"])[ig.id][0][
            "estimated_time_to_regain_access"
        ]
        > 0
    )
    ig.sandbox.advance(3601)  # a rolling hour
    assert ig.graph.get("/me").status_code == 200


def test_app_rate_limit(ig: IG) -> None:
    ig.sandbox.configure(app_rate_limit_calls_per_hour=3)
    for _ in range(3):
        assert ig.graph.get("/me").status_code == 200
    assert error_of(ig.graph.get("/me"))["code"] == 4


@pytest.mark.parametrize("code", [4, 17, 32, 613])
def test_planned_rate_limit_faults(ig: IG, code: int) -> None:
    ig.sandbox.fault("rate_limit", count=2, code=code)
    for _ in range(2):
        error = error_of(ig.graph.get("/me"))
        assert error["code"] == code
        assert error["message"].startswith(f"(#{code})")
    assert ig.graph.get("/me").status_code == 200
    assert ig.sandbox.client.get("/_sandbox/faults").json()["data"] == []


def test_planned_transient_and_slow_faults(ig: IG) -> None:
    ig.sandbox.fault("transient", path_contains="/media")
    assert ig.graph.get("/me").status_code == 200  # not matching the path
    response = ig.graph.get(f"/{ig.id}/media")
    assert response.status_code == 500
    assert (error_of(response)["code"], error_of(response)["is_transient"]) == (2, True)
    ig.sandbox.fault("slow", latency_seconds=0.3)
    started = time.monotonic()
    assert ig.graph.get("/me").status_code == 200
    assert time.monotonic() - started >= 0.3
    ig.sandbox.fault("slow", latency_seconds=0.5)
    logged = len(ig.sandbox.client.get("/_sandbox/calls").json()["data"])
    with pytest.raises(httpx.ReadTimeout):
        ig.graph.get("/me", timeout=0.1)
    # The sandbox still answers the abandoned call; let it finish so that it is not logged
    # into the next test's sandbox.
    deadline = time.monotonic() + 5
    while len(ig.sandbox.client.get("/_sandbox/calls").json()["data"]) == logged:
        assert time.monotonic() < deadline, "the slow call never finished"
        time.sleep(0.05)


def test_call_log_records_graph_calls(ig: IG) -> None:
    ig.graph.get("/me", params={"fields": "username"})
    ig.sandbox.client.get("/v23.0/me", params={"access_token": "bad"})
    calls = ig.sandbox.client.get("/_sandbox/calls").json()["data"]
    assert [(c["method"], c["path"], c["status"]) for c in calls] == [
        ("GET", "/v23.0/me", 200),
        ("GET", "/v23.0/me", 400),
    ]
    assert calls[0]["subject_id"] == ig.id
    assert calls[1]["error_code"] == 190
    assert "access_token=***" in calls[1]["query"]


def test_reset_empties_everything(ig: IG) -> None:
    ig.inbound("alice", "hi")
    ig.sandbox.configure(rate_limit_calls_per_hour=1)
    ig.sandbox.client.post("/_sandbox/reset").raise_for_status()
    assert ig.sandbox.client.get("/_sandbox/instagram/accounts").json() == {"data": []}
    assert error_of(ig.graph.get("/me"))["code"] == 190
    assert ig.sandbox.client.get("/_sandbox/settings").json()["rate_limit_calls_per_hour"] == 200


def test_controlled_clock(sandbox: Sandbox) -> None:
    before = sandbox.now()
    assert before == pytest.approx(time.time(), abs=30)  # reset restarts it at the real time
    moved = sandbox.client.post("/_sandbox/clock", json={"advance_seconds": 90}).json()
    assert moved["controlled"] is True
    assert moved["now"] == pytest.approx(before + 90, abs=0.01)
    assert sandbox.client.post("/_sandbox/clock", json={"advance_seconds": -1}).status_code == 422


def test_real_clock_cannot_be_moved_and_state_file_persists(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    server = start_sandbox_server(controlled_clock=False, state_file=str(state_file))
    try:
        client = httpx.Client(base_url=server.url)
        assert client.post("/_sandbox/clock", json={"advance_seconds": 1}).status_code == 409
        account = client.post("/_sandbox/instagram/accounts", json={"username": "kept"}).json()
        client.post(
            f"/_sandbox/instagram/accounts/{account['id']}/inbound",
            json={"from_username": "al", "text": "hi"},
        )
    finally:
        server.stop()
    assert state_file.exists()
    again = start_sandbox_server(controlled_clock=False, state_file=str(state_file))
    try:
        graph = httpx.Client(
            base_url=again.url, headers={"Authorization": f"Bearer {account['access_token']}"}
        )
        assert graph.get("/v23.0/me", params={"fields": "username"}).json()["username"] == "kept"
        assert len(graph.get("/v23.0/me/conversations").json()["data"]) == 1
    finally:
        again.stop()


def test_fault_plans_from_settings_apply_after_every_reset() -> None:
    server = start_sandbox_server(fault_plans=[{"kind": "transient", "count": 1}])
    try:
        client = httpx.Client(base_url=server.url)
        for _ in range(2):
            assert client.get("/v23.0/me").json()["error"]["code"] == 2
            assert client.get("/v23.0/me").json()["error"]["code"] == 2500  # no token
            client.post("/_sandbox/reset")
    finally:
        server.stop()
