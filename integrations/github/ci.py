"""The CI gate on GitHub: commit statuses and check runs for the ref being shipped.

Every reported check must pass (ignored ones aside), and every required check must have
reported: a required check that has not shown up yet keeps the gate pending, not green."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.core.ports import CheckState, CiCheck, CiStatus, IntegrationError, Target
from integrations.github.api import GitHubApi, ref_path, repo_path
from integrations.github.settings import GitHubSettings

FAILED_CONCLUSIONS = {"failure", "timed_out", "cancelled", "action_required", "startup_failure"}


class GitHubCI:
    def __init__(self, api: GitHubApi, settings: GitHubSettings) -> None:
        self._api = api
        self._settings = settings
        self._builds_started: set[tuple[str, str]] = set()

    async def resolve_version(self, target: Target, ref: str | None) -> str:
        """A named ref ships under the name it was given once GitHub knows it; no ref ships
        the default branch's head commit."""
        wanted = ref or self._settings.default_branch
        commit = await self._commit(target, wanted)
        return ref if ref else str(commit["sha"])

    async def status(self, target: Target, version: str, since: str | None = None) -> CiStatus:
        base = f"{repo_path(target.repository)}/commits/{ref_path(version)}"
        combined = (await self._api.get(f"{base}/status", {"per_page": 100})).body or {}
        runs = await self._api.pages(f"{base}/check-runs", "check_runs", {"filter": "latest"})
        checks = _merge(
            (_from_status(s) for s in combined.get("statuses") or []),
            (_from_check_run(r) for r in _newest_per_name(runs)),
        )
        checks = [c for c in checks if c.name not in self._settings.ignored_checks]
        reported = {c.name for c in checks}
        checks += [
            CiCheck(name, "pending")
            for name in self._settings.required_for(target.service)
            if name not in reported
        ]
        authors, committed_at = await self._authors(target, version, since)
        verdict = _verdict(checks)
        if not reported and self._settings.build_workflow and not _is_sha(version):
            checks.append(await self._start_build(target, version))
        return CiStatus(
            verdict,
            tuple(checks),
            retry_in_s=self._settings.poll_seconds,
            authors=authors,
            committed_at=committed_at,
        )

    async def _start_build(self, target: Target, version: str) -> CiCheck:
        """Nothing has reported on this version: run the build workflow for it, once per bot
        process (another replica or a restart may start it once more)."""
        workflow = str(self._settings.build_workflow)
        name = f"{workflow} (started by releasebot)"
        if (target.repository, version) in self._builds_started:
            return CiCheck(name, "pending")
        path = f"{repo_path(target.repository)}/actions/workflows/{ref_path(workflow)}/dispatches"
        response = await self._api.post(
            path, {"ref": version, "return_run_details": True}, expect=(200, 204)
        )
        self._builds_started.add((target.repository, version))
        url = response.body.get("html_url", "") if isinstance(response.body, dict) else ""
        return CiCheck(name, "pending", url)

    async def _commit(self, target: Target, ref: str) -> dict[str, Any]:
        path = f"{repo_path(target.repository)}/commits/{ref_path(ref)}"
        try:
            return (await self._api.get(path)).body or {}
        except IntegrationError as exc:
            if exc.status in (404, 422):
                raise IntegrationError(
                    f"{target.repository} has no commit, branch or tag named {ref!r}",
                    retryable=False,
                ) from exc
            raise

    async def _authors(
        self, target: Target, version: str, since: str | None
    ) -> tuple[tuple[str, ...], datetime | None]:
        """Who wrote the commits shipped, and when the oldest was committed: every commit
        since the running version when GitHub can compare the two, else the shipped one."""
        commits: list[dict[str, Any]] = []
        if since and since != version:
            path = f"{repo_path(target.repository)}/compare/{ref_path(since)}...{ref_path(version)}"
            try:
                commits = (await self._api.get(path, {"per_page": 100})).body.get("commits") or []
            except IntegrationError as exc:
                if exc.retryable:
                    raise
        if not commits:
            commits = [await self._commit(target, version)]
        names: list[str] = []
        for commit in commits:
            for name in _author_names(commit):
                if name not in names:
                    names.append(name)
        dates = [d for d in map(_commit_date, commits) if d is not None]
        return tuple(names), min(dates) if dates else None


def _commit_date(commit: dict[str, Any]) -> datetime | None:
    text = ((commit.get("commit") or {}).get("committer") or {}).get("date")
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def _is_sha(version: str) -> bool:
    """workflow_dispatch runs on a branch or a tag, never on a bare commit."""
    return len(version) >= 7 and all(c in "0123456789abcdef" for c in version.lower())


def _author_names(commit: dict[str, Any]) -> Iterable[str]:
    for role in ("author", "committer"):
        account = commit.get(role) or {}
        if account.get("login") and not str(account["login"]).endswith("[bot]"):
            yield str(account["login"])
    email = ((commit.get("commit") or {}).get("author") or {}).get("email")
    if email:
        yield str(email)


def _from_status(status: dict[str, Any]) -> CiCheck:
    state: CheckState = {"success": "success", "pending": "pending"}.get(
        status.get("state", ""), "failure"
    )
    return CiCheck(str(status.get("context") or "status"), state, status.get("target_url") or "")


def _from_check_run(run: dict[str, Any]) -> CiCheck:
    url = run.get("html_url") or run.get("details_url") or ""
    if run.get("status") != "completed":
        return CiCheck(str(run["name"]), "pending", url)
    conclusion = run.get("conclusion") or ""
    state: CheckState
    if conclusion in FAILED_CONCLUSIONS:
        state = "failure"
    elif conclusion in ("neutral", "skipped"):
        state = conclusion
    else:
        state = "success" if conclusion == "success" else "failure"
    return CiCheck(str(run["name"]), state, url)


def _newest_per_name(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    newest: dict[str, dict[str, Any]] = {}
    for run in runs:
        seen = newest.get(run["name"])
        if seen is None or int(run.get("id", 0)) > int(seen.get("id", 0)):
            newest[run["name"]] = run
    return list(newest.values())


def _merge(*sources: Iterable[CiCheck]) -> list[CiCheck]:
    """One entry per name; a status context and a check run of the same name: the worse."""
    rank = {"failure": 0, "pending": 1, "neutral": 2, "skipped": 2, "success": 3}
    merged: dict[str, CiCheck] = {}
    for source in sources:
        for check in source:
            seen = merged.get(check.name)
            if seen is None or rank[check.state] < rank[seen.state]:
                merged[check.name] = check
    return sorted(merged.values(), key=lambda c: c.name)


def _verdict(checks: list[CiCheck]) -> str:
    if any(c.state == "failure" for c in checks):
        return "failed"
    if not checks or any(c.state == "pending" for c in checks):
        return "pending"
    return "passed"
