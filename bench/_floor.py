"""The bare floor for signed webhooks: the essential work and nothing else.

An ASGI app served by uvicorn with as many worker processes as ``frontdesk run`` starts web
processes: read the body, check its ``X-Hub-Signature-256`` (HMAC-SHA256 with the app
secret), parse the JSON, insert one row into SQLite (WAL, ``synchronous=NORMAL``, one
transaction, idempotent on the message id) and answer 200. ``bench/whatsapp_webhooks.py``
prints its figure beside the app's, from the same run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3

SECRET = os.environ.get("FLOOR_APP_SECRET", "bench-app-secret").encode()
DB_PATH = os.environ.get("FLOOR_DB", "floor.sqlite3")
_db: sqlite3.Connection | None = None


def create(path: str) -> None:
    """The table, in WAL mode: made once, before the workers start (they would race)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS message (id INTEGER PRIMARY KEY, provider_id TEXT UNIQUE,"
        " sender TEXT, text TEXT)"
    )
    conn.commit()
    conn.close()


def db() -> sqlite3.Connection:
    global _db
    if _db is None:
        _db = sqlite3.connect(DB_PATH, isolation_level=None, timeout=30)
        _db.execute("PRAGMA synchronous=NORMAL")
    return _db


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    body = b""
    while True:
        event = await receive()
        body += event.get("body", b"")
        if not event.get("more_body"):
            break
    given = dict(scope["headers"]).get(b"x-hub-signature-256", b"").decode().lower()
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    status = 401
    if hmac.compare_digest(expected, given):
        value = json.loads(body)["entry"][0]["changes"][0]["value"]
        message = value["messages"][0]
        conn = db()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT OR IGNORE INTO message (provider_id, sender, text) VALUES (?, ?, ?)",
            (message["id"], message["from"], message["text"]["body"]),
        )
        conn.execute("COMMIT")
        status = 200
    answer = b'{"ok": true}'
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(answer)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer})
