"""The catalog block of an argo-rollouts backend, read and checked.

Catalog settings (`backends: NAME: {type: argo-rollouts, settings: {...}}`):
  api_url: https://k8s.example.com:6443   required
  namespace: default                      where the Rollouts live
  namespaces: {production: checkout-prod} per environment, over `namespace`
  rollout: "{service}"                    the Rollout's name
  container: (the first one)              the container whose image tag is the version
  image: (that container's repository)    e.g. registry.example.com/{service}
  token_env / token_file                  a Bearer token (a service account's)
  ca_file                                 CA bundle for the API server's certificate
  insecure_skip_tls_verify: false
  timeout_s: 10
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.ports import Target
from integrations.argo_rollouts.models import image_tag
from integrations.base import SettingsProblem, reject_unknown, required, text_setting

NAME = "argo-rollouts"
KNOWN_SETTINGS = frozenset(
    {
        "api_url",
        "namespace",
        "namespaces",
        "rollout",
        "container",
        "image",
        "token_env",
        "token_file",
        "ca_file",
        "insecure_skip_tls_verify",
        "timeout_s",
    }
)


@dataclass(frozen=True)
class ArgoSettings:
    api_url: str
    namespace: str = "default"
    namespaces: Mapping[str, str] = field(default_factory=dict)
    rollout: str = "{service}"
    container: str | None = None
    image: str | None = None
    timeout_s: float = 10.0

    @classmethod
    def parse(cls, settings: Mapping[str, Any]) -> ArgoSettings:
        """SettingsProblem when the catalog's settings cannot work."""
        reject_unknown(settings, KNOWN_SETTINGS, NAME)
        return cls(
            api_url=_api_url(settings),
            namespace=_name(settings, "namespace", "default"),
            namespaces=_namespaces(settings.get("namespaces")),
            rollout=_name(settings, "rollout", "{service}"),
            container=_optional_name(settings, "container"),
            image=_repository(settings.get("image")),
            timeout_s=_timeout(settings.get("timeout_s", 10)),
        )

    def namespace_for(self, target: Target) -> str:
        return self.namespaces.get(target.environment, self.namespace)

    def rollout_for(self, target: Target) -> str:
        return self.rollout.replace("{service}", target.service)

    def repository_for(self, target: Target) -> str | None:
        return self.image.replace("{service}", target.service) if self.image else None

    def all_namespaces(self) -> list[str]:
        return sorted({self.namespace, *self.namespaces.values()})


def _api_url(settings: Mapping[str, Any]) -> str:
    url = str(required(settings, "api_url", NAME))
    if not url.startswith(("https://", "http://")):
        raise SettingsProblem(
            f"argo-rollouts `api_url` must start with https:// (or http:// for a local "
            f"kubectl proxy), not {url!r}"
        )
    return url


def _name(settings: Mapping[str, Any], key: str, default: str) -> str:
    return text_setting(settings, key, default, NAME)


def _optional_name(settings: Mapping[str, Any], key: str) -> str | None:
    return _name(settings, key, "") if settings.get(key) is not None else None


def _namespaces(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(env, str) and isinstance(ns, str) and ns.strip() for env, ns in value.items()
    ):
        raise SettingsProblem(
            "argo-rollouts `namespaces` maps environments to namespaces, e.g. "
            "{staging: checkout-staging, production: checkout-prod}"
        )
    return {env: ns.strip() for env, ns in value.items()}


def _repository(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SettingsProblem("argo-rollouts `image` must be a non-empty string")
    if image_tag(value) is not None or "@" in value:
        raise SettingsProblem(
            f"argo-rollouts `image` is a repository without a tag (the tag is the version), "
            f"not {value!r}"
        )
    return value.strip()


def _timeout(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise SettingsProblem("argo-rollouts `timeout_s` must be a positive number of seconds")
    return float(value)


def tls(settings: Mapping[str, Any]) -> ssl.SSLContext | bool | None:
    """aiohttp's `ssl`: False skips verification, a context trusts `ca_file`, None the system."""
    insecure = settings.get("insecure_skip_tls_verify", False)
    if not isinstance(insecure, bool):
        raise SettingsProblem("argo-rollouts `insecure_skip_tls_verify` must be true or false")
    ca_file = settings.get("ca_file")
    if insecure and ca_file:
        raise SettingsProblem(
            "argo-rollouts: set `ca_file` or `insecure_skip_tls_verify`, not both"
        )
    if insecure:
        return False
    if not ca_file:
        return None
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except OSError as exc:  # ssl.SSLError is an OSError too
        reason = exc.strerror or type(exc).__name__
        raise SettingsProblem(
            f"argo-rollouts ca_file {ca_file}: cannot load it ({reason})"
        ) from exc
