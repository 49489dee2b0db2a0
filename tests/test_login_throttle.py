"""The login throttle: too many failed sign-ins for an account from an address, from an
address, or for an account from many addresses, and even the right password is refused
there for a while; one address can never lock the real user out; the answer never tells
whether an account exists; API tokens are not affected."""

from __future__ import annotations

import re
from datetime import timedelta

from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from frontdesk.workspaces.models import LoginFailure, User
from tests.fixtures import PASSWORD, token_client

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
    # Once the failures leave the 15-minute window, the right password works again.
    LoginFailure.objects.update(at=LoginFailure.objects.first().at - timedelta(minutes=16))
    assert _login(client, OWNER, PASSWORD).status_code == 302
    assert _signed_in(client)


def test_one_address_can_never_lock_the_real_user_out(owner):
    guesser, real = _client("203.0.113.5"), _client("198.51.100.7")
    for _ in range(3):  # three windows of a guesser who never stops
        _guess(guesser, OWNER, times=60)
        assert _login(guesser, OWNER, PASSWORD).status_code == 429
        # the real user, signing in from their own address, is not affected
        assert _login(real, OWNER, PASSWORD).status_code == 302
        assert _signed_in(real)
        real.logout()
        # refused tries are not counted: the guesser's failures stay at the limit
        assert LoginFailure.objects.filter(email=OWNER).count() == 10
        LoginFailure.objects.update(at=LoginFailure.objects.first().at - timedelta(minutes=16))


def test_guessing_spread_over_many_addresses_locks_the_account_for_a_while(owner):
    for n in range(10):  # ten addresses, ten guesses each: the account-wide limit (100)
        _guess(_client(f"203.0.113.{n + 1}"), OWNER, times=10)
    fresh = _client("198.51.100.7")
    refused = _login(fresh, OWNER, PASSWORD)
    assert refused.status_code == 429 and "Too many failed sign-ins" in _error(refused)
    LoginFailure.objects.update(at=LoginFailure.objects.first().at - timedelta(minutes=16))
    assert _login(fresh, OWNER, PASSWORD).status_code == 302


def test_hopping_addresses_inside_one_ipv6_network_gives_no_fresh_tries(owner):
    for n in range(10):
        _login(_client(f"2001:db8:1:2::{n + 1:x}"), OWNER, "guess")
    assert _login(_client("2001:db8:1:2::ff"), OWNER, PASSWORD).status_code == 429
    assert _login(_client("2001:db8:1:3::1"), OWNER, PASSWORD).status_code == 302


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
