"""The catalog a chaos cluster (bot/chaos/cluster.py) runs: numbered services, the users who
may deploy them, and the chaos deploy script or the simulated backend behind them."""

from __future__ import annotations

from typing import Any

from bot.chaos.deployer import SECRET_ENV

DEPLOYERS = ("U0ALICE", "U0BOB", "U0FRANK")
ONCALL = "U0CAROL"


def catalog(
    services: int,
    deployer_url: str,
    *,
    deployer: str = "deploy-script",
    bake: str = "1s",
    simulated: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`services` services with one environment each, deployed by the chaos deploy script
    (or `deployer="sim"`: the simulated backend, timed by `simulated` settings such as
    step_seconds): canary 10% -> 50% -> 100% with a `bake`, CI green after a second."""
    return {
        "version": 1,
        "environments": {"staging": {"order": 1, "approvals": 0}},
        "roles": {
            "deployer": list(DEPLOYERS),
            "oncall": [ONCALL],
            "admin": ["U0DAVE"],
            "auditor": ["U0ERIN"],
        },
        "backends": {
            "sim": {"type": "simulated", "settings": {"ci_seconds": 1, **(simulated or {})}},
            "deploy-script": {
                "type": "webhook",
                "settings": {
                    "url": deployer_url,
                    "secret_env": SECRET_ENV,
                    "mode": "sync",
                    "timeout_s": 5,
                },
            },
        },
        "services": {
            service_name(n): {
                "repository": f"acme/{service_name(n)}",
                "environments": ["staging"],
                "canary": {"steps": [10, 50, 100], "bake": bake},
                "backends": {
                    "ci": "sim",
                    "deployer": deployer,
                    "monitor": "sim",
                    "flags": "sim",
                },
            }
            for n in range(services)
        },
    }


def service_name(n: int) -> str:
    return f"svc{n:03d}"
