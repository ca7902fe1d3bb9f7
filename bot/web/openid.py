"""Sign in with Slack: OpenID Connect's authorization code flow, done by authlib. Slack is the
default issuer; any provider that sends Slack's claims (or a plain `sub`) works the same way.

The provider is found by discovery. PKCE is used when the provider offers S256, the client
authenticates as the provider says it can, and the ID token's signature, issuer, audience,
expiry, nonce and at_hash are all checked before anyone is let in."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

# authlib, joserfc and httpx2 are imported where they are used: `serve` without Sign in with
# Slack never loads them (a tenth of a second of its start).

log = logging.getLogger(__name__)

SLACK_ISSUER = "https://slack.com"
SLACK_USER_CLAIM = "https://slack.com/user_id"
SLACK_TEAM_CLAIM = "https://slack.com/team_id"
SCOPES = "openid profile email"
TIMEOUT_S = 10.0
# Signed with the provider's published public keys only: never "none", never a shared secret.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                      "ES512", "EdDSA")  # fmt: skip


class SignInFailed(Exception):
    """Why a sign-in did not go through, in words for the person trying."""


@dataclass(frozen=True)
class Identity:
    user_id: str
    team_id: str | None


@functools.cache
def _openid_app_class() -> type:
    from authlib.integrations.base_client import BaseApp
    from authlib.integrations.base_client.async_app import AsyncOAuth2Mixin
    from authlib.integrations.base_client.async_openid import AsyncOpenIDMixin
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    class _OpenIDApp(AsyncOAuth2Mixin, AsyncOpenIDMixin, BaseApp):
        client_cls = AsyncOAuth2Client

    return _OpenIDApp


class OpenIDSignIn:
    def __init__(self, issuer: str, client_id: str, client_secret: str) -> None:
        self.issuer = issuer
        self._client_id = client_id
        self._app = _openid_app_class()(
            framework=None,
            client_id=client_id,
            client_secret=client_secret,
            server_metadata_url=f"{issuer.rstrip('/')}/.well-known/openid-configuration",
            client_kwargs={"scope": SCOPES, "timeout": TIMEOUT_S},
        )

    async def start(self, redirect_uri: str, *, team: str | None = None) -> tuple[str, dict]:
        """The provider's authorization URL, and what its answer must match later (to be kept
        by the browser in a signed cookie). `team` preselects Slack's workspace."""
        import httpx2

        await self._discover()
        extra = {"team": team} if team and self.issuer == SLACK_ISSUER else {}
        try:
            found = await self._app.create_authorization_url(redirect_uri, **extra)
        except (httpx2.HTTPError, RuntimeError) as exc:
            raise self._unreachable(exc) from exc
        pending = {
            "state": found["state"],
            "nonce": found["nonce"],
            "code_verifier": found.get("code_verifier"),
            "redirect_uri": redirect_uri,
        }
        return found["url"], pending

    async def finish(self, answer: dict[str, str], pending: dict[str, Any]) -> Identity:
        """Checks the provider's answer against `pending`, trades the code for tokens and
        returns who signed in."""
        import httpx2
        from authlib.integrations.base_client import OAuthError
        from joserfc.errors import JoseError

        if not answer.get("state") or answer.get("state") != pending.get("state"):
            raise SignInFailed("This sign-in answer does not belong to this browser.")
        if error := answer.get("error"):
            if error == "access_denied":
                raise SignInFailed("Sign-in was cancelled at Slack.")
            words = answer.get("error_description") or error
            raise SignInFailed(f"Slack refused the sign-in: {words}.")
        metadata = await self._discover()
        if "iss" in answer and answer["iss"] != metadata["issuer"]:
            raise SignInFailed("This sign-in answer came from another provider.")
        if not answer.get("code"):
            raise SignInFailed("The provider's answer carried no code.")
        params = {"code": answer["code"]}
        if pending.get("code_verifier"):
            params["code_verifier"] = pending["code_verifier"]
        try:
            token = await self._app.fetch_access_token(
                redirect_uri=pending["redirect_uri"], **params
            )
            if "id_token" not in token:
                raise SignInFailed("The provider sent no ID token; is `openid` a granted scope?")
            claims = await self._app.parse_id_token(
                token,
                nonce=pending.get("nonce"),
                claims_options={
                    "iss": {"essential": True, "value": self.issuer},
                    "aud": {"essential": True, "value": self._client_id},
                },
            )
        except OAuthError as exc:
            log.warning("sign-in: the token request failed: %s", exc)
            raise SignInFailed(f"The provider refused the sign-in code ({exc.error}).") from exc
        except JoseError as exc:
            log.warning("sign-in: the ID token did not check out: %r", exc)
            raise SignInFailed(f"The provider's ID token did not check out ({exc}).") from exc
        except httpx2.HTTPError as exc:
            raise self._unreachable(exc) from exc
        user = claims.get(SLACK_USER_CLAIM) or claims.get("sub")
        return Identity(str(user), claims.get(SLACK_TEAM_CLAIM))

    async def _discover(self) -> dict[str, Any]:
        import httpx2

        try:
            metadata = await self._app.load_server_metadata()
        except (httpx2.HTTPError, ValueError) as exc:
            raise self._unreachable(exc) from exc
        if metadata.get("issuer") != self.issuer:
            log.warning(
                "sign-in: discovery at %s names issuer %r", self.issuer, metadata.get("issuer")
            )
            raise SignInFailed(f"{self.issuer} does not describe itself as {self.issuer}.")
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        metadata["id_token_signing_alg_values_supported"] = [
            alg for alg in offered if alg in SIGNING_ALGORITHMS
        ] or ["RS256"]
        kwargs = self._app.client_kwargs
        if "S256" in metadata.get("code_challenge_methods_supported", []):
            kwargs["code_challenge_method"] = "S256"
        # OpenID Connect Discovery: a provider that names no method supports Basic.
        methods = metadata.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
        kwargs["token_endpoint_auth_method"] = (
            "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
        )
        return metadata

    def _unreachable(self, exc: Exception) -> SignInFailed:
        log.warning("sign-in: %s did not answer: %r", self.issuer, exc)
        return SignInFailed(f"Could not reach {self.issuer} to sign you in; try again shortly.")
