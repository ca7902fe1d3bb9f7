"""The catalogs tests run against, by name: one constant per file."""

from __future__ import annotations

from pathlib import Path

SUPPORT = Path(__file__).resolve().parent
REPO = SUPPORT.parents[1]
EXAMPLE_CATALOG = REPO / "bot" / "app" / "releasebot.example.yaml"  # what serve ships with
SCENARIO_CATALOG = SUPPORT / "scenario_catalog.yaml"  # short steps, every strategy
POLICY_CATALOG = SUPPORT / "policy_catalog.yaml"  # approvals, freezes, locks, groups
