"""A member's picture: uploaded in the profile (checked by its bytes: a JPEG, PNG, GIF or
WebP of at most 2 MB), shown beside their name, and served only to members of their
workspace."""

from __future__ import annotations

import base64

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.fixtures import session_client as web

# a 1x1 PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def upload(client: Client, name: str, data: bytes, content_type: str = "image/png"):
    return client.post(
        "/settings/profile/",
        {"action": "picture", "picture": SimpleUploadedFile(name, data, content_type)},
    )


def test_a_picture_is_shown_to_the_team_and_to_nobody_else(owner, agent, rival, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    me = web(owner)
    assert upload(me, "me.png", PNG).status_code == 302
    owner.user.refresh_from_db()
    url = f"/members/{owner.user_id}/picture"
    assert f'src="{url}?v=' in me.get("/").text  # the sidebar

    seen = web(agent).get(url)
    assert seen.status_code == 200 and seen["Content-Type"] == "image/png"
    assert b"".join(seen.streaming_content) == PNG
    assert web(rival).get(url).status_code == 404  # another workspace
    assert Client().get(url).status_code == 302  # not signed in: to the login page

    me.post("/settings/profile/", {"action": "remove_picture"})
    assert web(agent).get(url).status_code == 404
    assert not list((tmp_path / "members").iterdir())  # the file went with it


def test_what_is_not_a_picture_is_refused_in_words(owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    me = web(owner)
    page = upload(me, "evil.png", b"<svg onload=alert(1)>", "image/png")
    assert page.status_code == 400 and "That file is not a picture" in page.text
    page = upload(me, "huge.png", PNG + b"\0" * (2 * 1024 * 1024))
    assert page.status_code == 400 and "at most 2 MB" in page.text
    owner.user.refresh_from_db()
    assert not owner.user.avatar
