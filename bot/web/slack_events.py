"""POST /slack/events: verify Slack's signature (401 and nothing written when it is wrong or
stale), then hand the request to bolt, which acks within Slack's 3 seconds."""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
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
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not _valid(verifier, body, timestamp, signature):
            metrics.slack_requests.labels("bad_signature").inc()
            log.warning("rejected a request with a bad or stale Slack signature")
            return web.json_response({"error": "invalid signature"}, status=401)
        metrics.slack_requests.labels("accepted").inc()
        bolt_request = AsyncBoltRequest(
            body=body.decode("utf-8"), query=request.query_string, headers=dict(request.headers)
        )
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    return handle


def _valid(verifier: SignatureVerifier, body: bytes, timestamp: str, signature: str) -> bool:
    if not timestamp.isdigit() or not signature:
        return False
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
