"""POST /slack/events: verify Slack's signature (401 and nothing written when it is wrong or
stale), check that the body is one bolt can read (400 and nothing written when it is not:
not UTF-8, or a `payload` / JSON body that is not a JSON object), then hand the request to
bolt, which acks within Slack's 3 seconds. What a readable body must hold is the listeners'
business (bot/slack/payloads.py)."""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import Clock as SignatureClock
from slack_sdk.signature import SignatureVerifier

from bot.core.ports import Clock
from bot.web.metrics import Metrics

log = logging.getLogger(__name__)


class _VerifierClock(SignatureClock):
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock.now().timestamp()


def slack_events_handler(bolt: AsyncApp, signing_secret: str, clock: Clock, metrics: Metrics):
    verifier = SignatureVerifier(signing_secret, clock=_VerifierClock(clock))

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            text = body.decode("utf-8")  # Slack's bodies are; the verifier decodes them too
        except UnicodeDecodeError:
            metrics.slack_requests.labels("malformed").inc()
            return web.json_response({"error": "the body is not UTF-8"}, status=400)
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not _valid(verifier, body, timestamp, signature):
            metrics.slack_requests.labels("bad_signature").inc()
            log.warning("rejected a request with a bad or stale Slack signature")
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            if not isinstance(parse_body(text, request.headers.get("Content-Type")), dict):
                raise ValueError("not a JSON object")
            bolt_request = AsyncBoltRequest(
                body=text, query=request.query_string, headers=dict(request.headers)
            )
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            metrics.slack_requests.labels("malformed").inc()
            log.warning("refused a signed request bolt cannot read: %s", type(exc).__name__)
            return web.json_response(
                {"error": "the body is not a Slack request (form fields or a JSON object)"},
                status=400,
            )
        metrics.slack_requests.labels("accepted").inc()
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    return handle


def _valid(verifier: SignatureVerifier, body: bytes, timestamp: str, signature: str) -> bool:
    """A timestamp is ASCII digits (`²` is a digit to str.isdigit, not to int); a signature is
    ASCII (hmac.compare_digest raises on anything else)."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    if not signature or not signature.isascii():
        return False
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
