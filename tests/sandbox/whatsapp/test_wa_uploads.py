"""The Resumable Upload API: a session on the app, the bytes at offset 0, the file handle a
media template header names as its sample; mistakes answer Graph's error envelope."""

from __future__ import annotations

from typing import Any

from .support import WA, expect_error

PDF = b"%PDF-1.4 receipt"


def open_session(wa: WA, **params: Any) -> Any:
    query = {"file_name": "receipt.pdf", "file_length": len(PDF), "file_type": "application/pdf"}
    return wa.post(f"/{wa.sandbox.app_id}/uploads", params={**query, **params})


def send_bytes(wa: WA, upload_id: str, data: bytes, offset: str = "0") -> Any:
    headers = {"Authorization": f"OAuth {wa.token}", "file_offset": offset}
    return wa.post(f"/{upload_id}", content=data, headers=headers)


def document_template(handle: str) -> dict[str, Any]:
    return {
        "name": "receipt",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": [handle]}},
            {"type": "BODY", "text": "Here is your receipt."},
        ],
    }


def test_upload_gives_a_handle_that_a_document_header_takes(wa: WA) -> None:
    opened = open_session(wa)
    assert opened.status_code == 200, opened.text
    upload_id = opened.json()["id"]
    assert upload_id.startswith("upload:")
    assert wa.get(f"/{upload_id}").json() == {"id": upload_id, "file_offset": 0}

    sent = send_bytes(wa, upload_id, PDF)
    assert sent.status_code == 200, sent.text
    handle = sent.json()["h"]
    assert handle.startswith("4::")
    assert wa.get(f"/{upload_id}").json() == {"id": upload_id, "file_offset": len(PDF)}

    created = wa.post(f"/{wa.waba_id}/message_templates", json=document_template(handle))
    assert created.status_code == 200, created.text
    assert created.json()["status"] == "PENDING"


def test_mistakes_answer_graph_errors(wa: WA) -> None:
    expect_error(open_session(wa, file_type="image/gif"), 100)
    expect_error(open_session(wa, file_length="0"), 100)
    expect_error(open_session(wa, file_length=str(101 * 1024 * 1024)), 100)
    upload_id = open_session(wa).json()["id"]
    expect_error(send_bytes(wa, upload_id, PDF[:-1]), 100)  # shorter than file_length
    expect_error(send_bytes(wa, upload_id, PDF, offset="3"), 100)
    expect_error(send_bytes(wa, upload_id, b"GIF89a-not-a-pdf"[: len(PDF)]), 100)
    expect_error(wa.get("/upload:999999"), 100)
    assert wa.get(f"/{upload_id}").json()["file_offset"] == 0

    refused = wa.post(
        f"/{wa.waba_id}/message_templates", json=document_template("4::YXBwbGljYXRpb24vcGRm:nope")
    )
    error = expect_error(refused, 100)
    assert error["error_subcode"] == 2388047
