"""The login throttle: too many failed sign-ins for an account or from an address, and even
the right password is refused for a while; the answer never tells whether an account exists;
API tokens are not affected."""

from __future__ import annotations

import re
from datetime import timedelta

from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from frontdesk.workspaces.models import LoginFailure, User
from tests.conftest import PASSWORD, token_client

OWNER = "owner@acme.test"


def _client(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


def _login(client: Client, email: str, password: str):
    return client.post("/login/", {"username": email, "password": password})


def _signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def _error(response) -> str:
    found = re.search(r'<p class="error" role="alert"[^>]*>([^<]*)</p>', response.content.decode())
    return found.group(1) if found else ""


def _guess(client: Client, email: str, times: int = 20) -> None:
    for n in range(times):
        _login(client, email, f"guess-{n}")


def test_twenty_wrong_passwords_then_the_right_one_is_refused_for_a_while(owner):
    client = _client("203.0.113.5")
    _guess(client, OWNER)
    refused = _login(client, OWNER, PASSWORD)
    assert refused.status_code == 429
    assert _error(refused) == (
        "Too many failed sign-ins. Try again in 15 minutes, "
        "or reset your password with “Forgot your password?”."
    )
    assert not _signed_in(client)
    # From another address too: the account itself is locked (a spread-out guesser).
    elsewhere = _client("198.51.100.7")
    assert _login(elsewhere, OWNER, PASSWORD).status_code == 429
    # Once the failures leave the 15-minute window, the right password works again.
    LoginFailure.objects.update(at=LoginFailure.objects.first().at - timedelta(minutes=16))
    assert _login(client, OWNER, PASSWORD).status_code == 302
    assert _signed_in(client)


def test_an_unknown_account_gets_the_same_answers(owner):
    known, unknown = _client("203.0.113.5"), _client("203.0.113.6")
    first = (_login(known, OWNER, "nope"), _login(unknown, "nobody@acme.test", "nope"))
    assert (
        _error(first[0]) == _error(first[1]) == "Your email and password did not match. Try again."
    )
    _guess(known, OWNER)
    _guess(unknown, "nobody@acme.test")
    locked = (_login(known, OWNER, PASSWORD), _login(unknown, "nobody@acme.test", PASSWORD))
    assert [r.status_code for r in locked] == [429, 429]
    assert _error(locked[0]) == _error(locked[1]) != ""


def test_another_account_from_the_same_address_is_unaffected(owner, agent):
    client = _client("203.0.113.5")
    _guess(client, OWNER)
    assert _login(client, OWNER, PASSWORD).status_code == 429
    assert _login(client, "agent@acme.test", PASSWORD).status_code == 302
    assert _signed_in(client)


def test_one_address_guessing_many_accounts_is_refused_and_another_address_is_not(owner):
    guesser = _client("203.0.113.9")
    for n in range(50):  # a few guesses per account, many accounts: the address is the key
        _login(guesser, f"person{n // 5}@acme.test", "guess")
    refused = _login(guesser, OWNER, PASSWORD)
    assert refused.status_code == 429 and "Too many failed sign-ins" in _error(refused)
    other = _client("198.51.100.7")
    assert _login(other, OWNER, PASSWORD).status_code == 302
    assert _signed_in(other)


def test_the_api_token_path_is_unaffected(owner):
    api = token_client(owner)
    _guess(_client("203.0.113.5"), OWNER)
    assert _login(_client("203.0.113.5"), OWNER, PASSWORD).status_code == 429
    assert api.get("/api/v1/me").status_code == 200


def test_the_admin_site_is_throttled_too(db):
    User.objects.create_superuser("root@acme.test", PASSWORD)
    client = _client("203.0.113.5")
    for n in range(20):
        client.post("/admin/login/", {"username": "root@acme.test", "password": f"guess-{n}"})
    client.post("/admin/login/", {"username": "root@acme.test", "password": PASSWORD})
    assert client.get("/admin/").status_code == 302  # still asked to log in


def test_a_password_reset_by_email_ends_the_lock(owner):
    client = _client("203.0.113.5")
    _guess(client, OWNER)
    assert _login(client, OWNER, PASSWORD).status_code == 429
    user = owner.user
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    new = "a-brand-new-passphrase"
    reset = _client("198.51.100.7").post(
        f"/password/reset/{uid}/{token}/", {"new_password": new, "new_password2": new}
    )
    assert reset.status_code == 302
    assert _login(client, OWNER, new).status_code == 302
