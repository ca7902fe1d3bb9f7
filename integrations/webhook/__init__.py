"""A deployer for any in-house deploy script: one signed JSON POST per stage and per rollback.

Catalog settings:
  url: https://deploy.internal/hook   required; http or https, no credentials in it
  secret_env: DEPLOY_HOOK_SECRET      required (or secret_file: /run/secrets/deploy-hook):
                                      the HMAC key both sides sign with
  mode: sync                          sync (default): the POST's answer is the result;
                                      callback: the POST only needs a 2xx, and the result
                                      comes later to the `callback_url` in the body:
                                      POST {public_url}/integrations/webhook/{name}/callback
  timeout_s: 10                       per HTTP request
  callback_timeout_s: 1800            a running operation with no final word after this long
                                      fails with "no callback within ..." (30m, 2h also work)
  version_url: https://deploy.internal/version   optional, see current_version()
  health_url: https://deploy.internal/healthz    optional, see health()
  headers: {X-Team: payments}         optional extra headers; never secrets (no Authorization)

The request body (JSON, compact, sorted keys):
  {"event": "step" | "rollback", "operation_id", "idempotency_key", "release_id",
   "service", "environment", "repository",
   "stage": {"index", "label", "action", "percent"} (null for a rollback),
   "version"          the release's new version,
   "previous_version" the version that ran before the release (null when unknown),
   "to_version"       where this request takes the service: a step, `version`; a rollback, the
                      version to return to (null: "the previous one, as you know it"),
   "callback_url"     where to report later (null when the bot has no public URL),
   "sent_at"          ISO 8601, UTC}
signed as bot/core/webhook_signature.py describes (X-Releasebot-Signature-256 over
"v1:{X-Releasebot-Timestamp}:{raw body}"). A resend after a crash or timeout carries the same
X-Releasebot-Delivery (the idempotency key) and operation id: the script must dedupe on it.

Sync answers (2xx): {"state": "succeeded" | "failed" | "running", "detail": "..."}; "running"
(or a bare 202) means the result follows as a callback. 408, 429 and 5xx answers, timeouts and
connection errors are retryable; other answers are not.

Everything the bot learns is kept in the OperationStore, so any replica can poll:
  webhook:{name}:{key}          the operation's state (written by this adapter and by callbacks)
  webhook-started:{name}:{key}  when it was first sent, and what it makes run when it succeeds
  webhook-running:{name}:{service}:{environment}  the version last seen to succeed
"""

from __future__ import annotations

import re

from bot.core.webhook_signature import sign, verify
from integrations.base import BackendContext, SettingsProblem
from integrations.webhook.deployer import WebhookDeployer
from integrations.webhook.settings import WebhookSettings

__all__ = ["WebhookDeployer", "WebhookSettings", "build", "sign", "verify"]

BACKEND_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def build(
    settings: dict, context: BackendContext, backend_name: str | None = None
) -> WebhookDeployer:
    """`backend_name` (default: the context's, i.e. the catalog's) names the callback URL and
    the operation ids, and must match the key of its secret in the callback endpoint's
    mapping."""
    backend_name = backend_name or context.name or "webhook"
    if not BACKEND_NAME.match(backend_name):
        raise SettingsProblem(f"webhook backend name {backend_name!r}: use letters, digits, _.-")
    config = WebhookSettings.from_catalog(settings, context.env)
    if context.operations is None:
        raise SettingsProblem("a webhook backend needs the bot's operation store (its database)")
    if config.mode == "callback" and not context.public_url:
        raise SettingsProblem(
            "a webhook backend in callback mode needs the bot's public URL "
            "(RELEASEBOT_PUBLIC_URL), where deploy scripts send their callbacks"
        )
    return WebhookDeployer(
        backend_name, config, context.operations, context.clock, context.public_url
    )
