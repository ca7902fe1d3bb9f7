"""The sign-in cookies: signed, expiring, and useless once edited or swapped."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from bot.web.sessions import COOKIE, LIFETIME_S, PENDING_COOKIE, PENDING_LIFETIME_S, Sessions


def cookie_of(sessions: Sessions, user: str) -> str:
    response = web.Response()
    sessions.sign_in(response, user, secure=True)
    morsel = response.cookies[COOKIE]
    assert morsel["httponly"] and morsel["secure"] and morsel["samesite"] == "Lax"
    return morsel.value


def reader(value: str, name: str = COOKIE):
    return make_mocked_request("GET", "/", headers={"Cookie": f"{name}={value}"})


def test_a_signed_cookie_names_its_user_until_it_expires():
    now = [1_000_000.0]
    sessions = Sessions(b"k" * 32, now=lambda: now[0])
    value = cookie_of(sessions, "U0ERIN")
    assert sessions.user(reader(value)) == "U0ERIN"
    now[0] += LIFETIME_S + 1
    assert sessions.user(reader(value)) is None


def test_an_edited_or_foreign_cookie_signs_nobody_in():
    sessions = Sessions(b"k" * 32)
    value = cookie_of(sessions, "U0ALICE")
    payload, mac = value.rsplit(".", 1)
    import base64

    forged = base64.urlsafe_b64encode(b'{"user": "U0ERIN", "expires": 9999999999}').decode()
    assert sessions.user(reader(f"{forged}.{mac}")) is None
    assert Sessions(b"x" * 32).user(reader(value)) is None
    assert sessions.user(reader("garbage")) is None


def test_a_pending_sign_in_keeps_its_state_for_ten_minutes_and_is_no_session():
    now = [1_000_000.0]
    sessions = Sessions(b"k" * 32, now=lambda: now[0])
    response = web.Response()
    pending = {"state": "s1", "nonce": "n1", "code_verifier": "v1", "next": "/audit"}
    sessions.begin_sign_in(response, pending, secure=False)
    value = response.cookies[PENDING_COOKIE].value
    assert sessions.pending_sign_in(reader(value, PENDING_COOKIE)) == pending
    # Signed for its own name: presented as the session cookie, it signs nobody in.
    assert sessions.user(reader(value)) is None
    now[0] += PENDING_LIFETIME_S + 1
    assert sessions.pending_sign_in(reader(value, PENDING_COOKIE)) is None
