"""Accounts: the control API's WABA + number + token, phone number fields, access errors."""

from __future__ import annotations

from typing import Any

import pytest

from meta_sandbox.testing import Sandbox

from .support import WA, assert_shape, expect_error, fixture, payload_of


def test_create_account_returns_ids_number_and_token(sandbox: Sandbox) -> None:
    response = sandbox.client.post(
        "/_sandbox/whatsapp/accounts",
        json={"business_name": "Jaspers Market", "phone_number": "15555555555"},
    )
    assert response.status_code == 200
    account = response.json()
    assert account["display_phone_number"] == "+1 555-555-5555"
    assert account["phone_number"] == "15555555555"
    assert account["verified_name"] == "Jaspers Market"
    assert {"whatsapp_business_messaging", "whatsapp_business_management"} <= set(account["scopes"])
    assert account["access_token"].startswith("EAA")
    again = sandbox.client.post("/_sandbox/whatsapp/accounts", json={"phone_number": "15555555555"})
    assert again.status_code == 422

    second = sandbox.client.post(
        "/_sandbox/whatsapp/accounts", json={"waba_id": account["waba_id"]}
    ).json()
    assert second["waba_id"] == account["waba_id"]
    headers = {"Authorization": f"Bearer {account['access_token']}"}
    listed = sandbox.client.get(f"/v23.0/{account['waba_id']}/phone_numbers", headers=headers)
    assert [p["id"] for p in listed.json()["data"]] == [
        account["phone_number_id"],
        second["phone_number_id"],
    ]
    assert listed.json()["data"][0]["platform_type"] == "CLOUD_API"


def test_phone_number_fields(wa: WA) -> None:
    default = wa.get(f"/{wa.phone_id}")
    assert default.status_code == 200
    assert_shape(default.json(), fixture("phone_number_default"))
    assert default.json() == {
        "id": wa.phone_id,
        "display_phone_number": wa.account["display_phone_number"],
        "verified_name": "Sandbox Shop",
        "quality_rating": "GREEN",
    }
    unversioned = wa.sandbox.client.get(f"/{wa.phone_id}", headers=wa.headers)
    assert unversioned.json() == default.json()
    chosen = wa.get(
        f"/{wa.phone_id}",
        params={"fields": "messaging_limit_tier,name_status,code_verification_status,throughput"},
    ).json()
    assert chosen == {
        "messaging_limit_tier": "TIER_250",
        "name_status": "APPROVED",
        "code_verification_status": "VERIFIED",
        "throughput": {"level": "STANDARD"},
        "id": wa.phone_id,
    }
    error = expect_error(wa.get(f"/{wa.phone_id}", params={"fields": "balance"}), 100)
    assert "nonexisting field (balance)" in error["message"]


def test_waba_fields(wa: WA) -> None:
    body = wa.get(f"/{wa.waba_id}").json()
    assert set(body) == {"id", "name", "timezone_id", "message_template_namespace"}
    assert body["name"] == "Sandbox Shop"


def test_quality_rating_and_messaging_limit(wa: WA) -> None:
    result = wa.patch_number(quality_rating="RED")
    assert result["quality_rating"] == "RED"
    flagged = wa.wait_change(lambda c: c["field"] == "phone_number_quality_update")
    assert flagged["value"] == {
        "display_phone_number": wa.number,
        "event": "FLAGGED",
        "current_limit": "TIER_250",
    }
    assert isinstance(payload_of(flagged)["entry"][0]["time"], int)
    wa.patch_number(messaging_limit_tier="TIER_1K")
    upgraded = wa.wait_change(
        lambda c: c["field"] == "phone_number_quality_update" and c["value"]["event"] == "UPGRADE"
    )
    assert upgraded["value"]["current_limit"] == "TIER_1K"
    fields = wa.get(
        f"/{wa.phone_id}", params={"fields": "quality_rating,messaging_limit_tier"}
    ).json()
    assert fields["quality_rating"] == "RED"
    assert fields["messaging_limit_tier"] == "TIER_1K"
    for bad in ({"quality_rating": "PURPLE"}, {"messaging_limit_tier": "TIER_7"}):
        response = wa.sandbox.client.patch(
            f"/_sandbox/whatsapp/phone_numbers/{wa.phone_id}", json=bad
        )
        assert response.status_code == 422


def scoped_token(sandbox: Sandbox, wa: WA, scopes: list[str]) -> dict[str, str]:
    response = sandbox.client.post(
        "/_sandbox/tokens",
        json={"subject_id": wa.account["system_user_id"], "kind": "system_user", "scopes": scopes},
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/{phone}/messages", {"messaging_product": "whatsapp", "to": "16505551234"}),
        ("GET", "/{waba}/message_templates", None),
        ("POST", "/{waba}/subscribed_apps", None),
        ("GET", "/{waba}/phone_numbers", None),
    ],
)
def test_permissions(
    sandbox: Sandbox, wa: WA, method: str, path: str, body: dict[str, Any] | None
) -> None:
    url = "/v23.0" + path.format(phone=wa.phone_id, waba=wa.waba_id)
    needed = "whatsapp_business_messaging" if "messages" in path else "whatsapp_business_management"
    other = (
        "whatsapp_business_management"
        if needed == "whatsapp_business_messaging"
        else "whatsapp_business_messaging"
    )
    headers = scoped_token(sandbox, wa, [other])
    response = sandbox.client.request(method, url, json=body, headers=headers)
    expect_error(response, 10, status=403)

    stranger = WA(sandbox, subscribe=False, business_name="Someone Else")
    response = sandbox.client.request(method, url, json=body, headers=stranger.headers)
    error = expect_error(response, 200, status=403)
    assert_shape(
        response.json(),
        {
            **fixture("phone_number_error_403"),
            "error": {
                **fixture("phone_number_error_403")["error"],
                "is_transient": False,
                "error_user_title": "Permission Denied",
                "error_user_msg": "x",
            },
        },
    )
    assert error["error_subcode"] == 1349174


def test_token_errors(sandbox: Sandbox, wa: WA) -> None:
    bad = sandbox.client.get(
        f"/v23.0/{wa.phone_id}", headers={"Authorization": "Bearer EAAnotatoken"}
    )
    error = expect_error(bad, 190)
    assert_shape(
        {"error": {k: v for k, v in error.items() if k != "error_subcode"}},
        {
            "error": {
                k: v for k, v in fixture("graph_error")["error"].items() if k != "error_subcode"
            }
        },
    )
    sandbox.client.post(f"/_sandbox/tokens/{wa.token}/expire").raise_for_status()
    expired = expect_error(wa.get(f"/{wa.phone_id}"), 190)
    assert expired["error_subcode"] == 463


def test_unknown_ids_answer_graph_errors(wa: WA) -> None:
    error = expect_error(wa.get("/1234567890"), 100)
    assert error["error_subcode"] == 33
    # A phone number is not a WABA: its templates edge does not exist.
    error = expect_error(wa.get(f"/{wa.phone_id}/message_templates"), 100)
    assert error["error_subcode"] == 33


def test_reset_forgets_whatsapp_objects(sandbox: Sandbox) -> None:
    wa = WA(sandbox, subscribe=False)
    wa.persona()
    assert wa.control("POST", "/reset") == {"success": True}
    assert wa.control("GET", "/personas") == {"data": []}
    expect_error(wa.get(f"/{wa.phone_id}"), 100)

    wa = WA(sandbox, subscribe=False)
    sandbox.client.post("/_sandbox/reset").raise_for_status()
    expect_error(wa.get(f"/{wa.phone_id}"), 100)  # the number is gone with the core state
    assert wa.control("GET", "/personas") == {"data": []}
