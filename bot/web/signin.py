"""Signing in to the web pages: Sign in with Slack (OpenID Connect) when it is configured, and
in local mode a choice among the Slack stand-in's people."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from bot.web.openid import OpenIDSignIn, SignInFailed
from bot.web.sessions import Sessions
from bot.web.templating import page

log = logging.getLogger(__name__)

CALLBACK_PATH = "/signin/slack/callback"


def register_signin(
    app: web.Application,
    sessions: Sessions,
    people: Callable[[], Sequence[tuple[str, str]]],
    *,
    openid: OpenIDSignIn | None = None,
    team: Callable[[], Awaitable[str | None]] | None = None,
    public_url: str = "",
) -> None:
    """`people`: (Slack user ID, name) of those who may pick themselves (local mode).
    `team`: the workspace whose members may sign in with Slack."""
    if openid is not None and not public_url:
        raise ValueError("Sign in with Slack needs the bot's public URL for its callback")
    signin = _SignIn(sessions, people, openid, team, public_url)
    app.router.add_get("/signin", signin.form)
    app.router.add_post("/signin", signin.pick)
    app.router.add_post("/signout", signin.signout)
    app.router.add_get("/signin/slack", signin.to_provider)
    app.router.add_get(CALLBACK_PATH, signin.from_provider)


class _SignIn:
    def __init__(self, sessions, people, openid, team, public_url) -> None:
        self._sessions: Sessions = sessions
        self._people = people
        self._openid: OpenIDSignIn | None = openid
        self._team = team
        self._public_url = public_url.rstrip("/")
        self._secure = public_url.startswith("https://")

    async def form(self, request: web.Request) -> web.Response:
        return self._form(next_path=request.query.get("next", ""))

    async def pick(self, request: web.Request) -> web.Response:
        form = await request.post()
        user = str(form.get("user", ""))
        if user not in {person for person, _ in self._people()}:
            return self._form(error="Pick someone.", status=400)
        response = web.HTTPSeeOther(_local_path(str(form.get("next", ""))))
        self._sessions.sign_in(response, user, secure=self._secure)
        raise response

    async def signout(self, _request: web.Request) -> web.Response:
        response = web.HTTPSeeOther("/signin")
        self._sessions.sign_out(response)
        raise response

    async def to_provider(self, request: web.Request) -> web.Response:
        if self._openid is None:
            raise web.HTTPNotFound(text="Sign in with Slack is not configured on this bot.")
        try:
            url, pending = await self._openid.start(
                self._callback_url(), team=await self._workspace()
            )
        except SignInFailed as exc:
            return self._form(error=str(exc), status=502)
        response = web.HTTPSeeOther(url)
        pending["next"] = _local_path(request.query.get("next", ""))
        self._sessions.begin_sign_in(response, pending, secure=self._secure)
        raise response

    async def from_provider(self, request: web.Request) -> web.Response:
        if self._openid is None:
            raise web.HTTPNotFound(text="Sign in with Slack is not configured on this bot.")
        pending = self._sessions.pending_sign_in(request)
        if pending is None:
            return self._form(
                error="This sign-in took too long or began in another browser; sign in again.",
                status=400,
            )
        try:
            identity = await self._openid.finish(dict(request.query), pending)
        except SignInFailed as exc:
            return self._form(error=str(exc), status=400, pending_done=True)
        workspace = await self._workspace()
        if workspace is None or identity.team_id != workspace:
            log.warning(
                "sign-in refused: %s of workspace %s (this bot serves %s)",
                identity.user_id, identity.team_id, workspace,
            )  # fmt: skip
            return self._form(
                error=f"You signed in to Slack workspace {identity.team_id or '(none)'}; this "
                "releasebot serves another workspace.",
                status=403,
                pending_done=True,
            )
        response = web.HTTPSeeOther(pending.get("next") or "/releases")
        self._sessions.end_sign_in(response)
        self._sessions.sign_in(response, identity.user_id, secure=self._secure)
        raise response

    async def _workspace(self) -> str | None:
        try:
            return await self._team() if self._team is not None else None
        except Exception:
            log.exception("sign-in: could not learn which Slack workspace this bot serves")
            return None

    def _callback_url(self) -> str:
        # From the configured address, never the request's Host header.
        return self._public_url + CALLBACK_PATH

    def _form(
        self, *, next_path: str = "", error: str = "", status: int = 200, pending_done=False
    ) -> web.Response:
        response = page(
            "signin.html",
            status=status,
            people=self._people(),
            slack=self._openid is not None,
            next=next_path,
            error=error,
        )
        if pending_done:
            self._sessions.end_sign_in(response)
        return response


def _local_path(target: str) -> str:
    """Where to go after signing in: only a path on this site, never elsewhere. Whitespace and
    control characters are refused outright, since URL parsers drop them (`/\t/evil` would
    become `//evil`)."""
    if any(c.isspace() or ord(c) < 32 or c == "\\" for c in target):
        return "/releases"
    if target.startswith("/") and not target.startswith("//"):
        return target
    return "/releases"
