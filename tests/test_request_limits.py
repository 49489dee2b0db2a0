"""Oversized request bodies against the live server: refused with 413 before they are read,
nothing stored, and a reply with a file over the attachment limit refused in words.

Real HTTP to ``frontdesk run`` with its default limits (frontdesk/core/limits.py).
"""

from __future__ import annotations

import json
import re
import socket
import time

import httpx
import pytest

from tests.live import OWNER_PASSWORD, base_env, create_token, embedded


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = base_env(tmp_path_factory.mktemp("limits"))
    with embedded(env) as (base, _):
        yield base, env, OWNER_PASSWORD


def raw_request(base: str, head: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(head.encode())
    return sock


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split()[1]), body


def test_a_declared_gigabyte_is_refused_before_a_byte_of_it_is_sent(server):
    base, _, _ = server
    for path in ("/webhooks/unipile/", "/api/v1/channels/1/messages", "/login/"):
        started = time.monotonic()
        sock = raw_request(
            base,
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {1 << 30}\r\n\r\n",
        )
        with sock:
            status, body = read_response(sock)  # nothing of the body was sent
        assert status == 413, (path, body)
        assert time.monotonic() - started < 5
        assert b"This request is too large: the limit here is" in body
        if path != "/login/":
            assert json.loads(body)["detail"].startswith("This request is too large")


def test_a_chunked_body_is_cut_off_at_the_webhook_limit(server):
    """No Content-Length to refuse: the server reads up to the limit (5 MB) and stops."""
    base, _, _ = server
    sock = raw_request(
        base,
        "POST /webhooks/whatsapp/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    chunk = b"[" * 65536
    sent = 0
    with sock:
        sock.settimeout(0.05)
        answer = b""
        while sent < 50 * 1024 * 1024 and not answer:
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.settimeout(10)
        if not answer:
            answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 8 * 1024 * 1024  # stopped near the 5 MB limit, not at 50 MB


def api_channel(server, name: str) -> tuple[httpx.Client, httpx.Response]:
    """The owner's API client and the answer to creating an API channel with it."""
    base, env, _ = server
    token = create_token(env, "owner@example.com")
    api = httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"})
    config = {"callback_url": "https://example.com/hook"}
    created = api.post(
        "/channels", json={"kind": "api", "provider": "api", "name": name, "config": config}
    )
    return api, created


def test_a_body_under_the_limit_still_gets_through(server):
    _, answer = api_channel(server, "Bot")
    assert answer.status_code == 201, answer.text


def login(base: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    client.get("/login/")
    answer = client.post(
        "/login/",
        data={
            "username": "owner@example.com",
            "password": password,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    assert answer.status_code == 302, answer.text
    return client


def test_a_web_reply_with_a_26_mb_file_is_refused_in_words_and_the_text_kept(server):
    base, _, password = server
    api, created = api_channel(server, "Files")
    channel = created.json()
    first = api.post(
        f"/channels/{channel['id']}/messages",
        json={"id": "m-26", "contact": {"handle": "ana"}, "text": "Send me the backup"},
    )
    assert first.status_code == 201, first.text
    conversation = first.json()["conversation_id"]
    web = login(base, password)
    csrf = web.cookies["csrftoken"]
    big = b"%PDF-" + b"x" * (26 * 1024 * 1024)
    form = {"text": "Here it is", "mode": "reply", "csrfmiddlewaretoken": csrf}
    files = {"files": ("backup.pdf", big, "application/pdf")}
    htmx = web.post(
        f"/c/{conversation}/reply", data=form, files=files, headers={"HX-Request": "true"}
    )
    assert htmx.status_code == 422, htmx.text[:300]
    assert "backup.pdf is 26 MB: the limit for it here is 25 MB" in htmx.text
    plain = web.post(f"/c/{conversation}/reply", data=form, files=files)
    assert plain.status_code == 302
    page = web.get(plain.headers["location"]).text
    assert "backup.pdf is 26 MB" in page and ">Here it is</textarea>" in page
    messages = api.get(f"/conversations/{conversation}/messages").json()["items"]
    assert [m["direction"] for m in messages] == ["inbound"]


def test_deeply_nested_json_to_every_webhook_is_answered_without_a_500(server):
    base = server[0]
    nested = b"[" * 500_000 + b"]" * 500_000  # 1 MB, under the webhook limit
    for path, status in (
        ("/webhooks/unipile/", 401),  # no secret: the body is not even parsed
        ("/webhooks/unipile/?token=guess", 401),
        ("/connectors/unipile/notify/?state=x", 400),
        ("/webhooks/whatsapp/", 401),  # no signature
    ):
        answer = httpx.post(f"{base}{path}", content=nested, timeout=30)
        assert answer.status_code == status, (path, answer.text[:200])
    signed = {"X-Hub-Signature-256": "sha256=" + "0" * 64}
    answer = httpx.post(f"{base}/webhooks/whatsapp/", content=nested, headers=signed, timeout=30)
    assert answer.status_code == 400
