"""ID tokens a well-behaved provider never sends: each must let nobody in. The real provider
(oidc-provider, tests/scenarios/test_sign_in_with_slack.py) only issues good tokens, so these
come from a small provider built from OpenID Connect Core and Discovery: its discovery
document, its keys and a token endpoint answering a token the test crafts."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from bot.web.openid import OpenIDSignIn, SignInFailed

CLIENT = "releasebot-client"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})


class Provider:
    def __init__(self) -> None:
        self.issuer = ""
        self.discovery: dict[str, Any] = {}
        self.id_token = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/jwks", self._keys)
        app.router.add_post("/token", self._token)
        return app

    async def _discovery(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/auth",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                **self.discovery,
            }
        )

    async def _keys(self, _request: web.Request) -> web.Response:
        return web.json_response(KeySet([KEY]).as_dict(private=False))

    async def _token(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {"access_token": "at", "token_type": "Bearer", "id_token": self.id_token}
        )


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    provider = Provider()
    server = TestServer(provider.app(), host="127.0.0.1")
    await server.start_server()
    provider.issuer = str(server.make_url("")).rstrip("/")
    try:
        yield provider
    finally:
        await server.close()


def claims(provider: Provider, sent_nonce: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    good = {
        "iss": provider.issuer,
        "sub": "U0ERIN",
        "aud": CLIENT,
        "exp": now + 300,
        "iat": now,
        "nonce": sent_nonce,
        "https://slack.com/user_id": "U0ERIN",
        "https://slack.com/team_id": "T0RELEASE",
    }
    good.update(changes)
    return {k: v for k, v in good.items() if v is not None}


def unsigned(content: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(content)}."


async def sign_in_with(provider: Provider, make_token) -> Any:
    sign_in = OpenIDSignIn(provider.issuer, CLIENT, "secret")
    _, pending = await sign_in.start("http://127.0.0.1/signin/slack/callback")
    provider.id_token = make_token(pending["nonce"])
    return await sign_in.finish({"code": "c", "state": pending["state"]}, pending)


async def test_a_good_token_names_the_slack_user_and_workspace(provider):
    identity = await sign_in_with(
        provider,
        lambda nonce: jwt.encode({"alg": "RS256", "kid": "k1"}, claims(provider, nonce), KEY),
    )
    assert (identity.user_id, identity.team_id) == ("U0ERIN", "T0RELEASE")


@pytest.mark.parametrize(
    ("case", "changes"),
    [
        ("meant for another app", {"aud": "someone-else", "azp": CLIENT}),
        ("from another issuer", {"iss": "https://evil.example"}),
        ("expired", {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
        ("for another sign-in", {"nonce": "replayed"}),
        ("without a nonce", {"nonce": None}),
    ],
)
async def test_a_token_that_does_not_check_out_lets_nobody_in(provider, case, changes):
    with pytest.raises(SignInFailed, match="ID token did not check out"):
        await sign_in_with(
            provider,
            lambda nonce: jwt.encode(
                {"alg": "RS256", "kid": "k1"}, claims(provider, nonce, **changes), KEY
            ),
        )


async def test_a_token_signed_with_another_key_lets_nobody_in(provider):
    with pytest.raises(SignInFailed, match="ID token did not check out"):
        await sign_in_with(
            provider,
            lambda nonce: jwt.encode(
                {"alg": "RS256", "kid": "k1"}, claims(provider, nonce), OTHER_KEY
            ),
        )


async def test_an_unsigned_token_is_refused_even_if_the_provider_offers_none(provider):
    provider.discovery["id_token_signing_alg_values_supported"] = ["RS256", "none"]
    with pytest.raises(SignInFailed, match="ID token did not check out"):
        await sign_in_with(provider, lambda nonce: unsigned(claims(provider, nonce)))


async def test_a_provider_describing_itself_as_another_issuer_is_not_used(provider):
    provider.discovery["issuer"] = "https://slack.com"
    sign_in = OpenIDSignIn(provider.issuer, CLIENT, "secret")
    with pytest.raises(SignInFailed, match="does not describe itself as"):
        await sign_in.start("http://127.0.0.1/signin/slack/callback")
