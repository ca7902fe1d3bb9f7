"""GitHub's REST API, as far as the bot uses it: typed paths, pagination, retries on reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from integrations.base import Http, Response, with_retries
from integrations.github.settings import NAME, GitHubSettings

API_VERSION = "2022-11-28"
PAGE = 100


class GitHubApi:
    def __init__(self, settings: GitHubSettings) -> None:
        self.http = Http(
            settings.api_url,
            name=NAME,
            headers={
                "Accept": "application/vnd.github+json, application/json",
                "Authorization": f"Bearer {settings.token}",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "releasebot",
            },
            timeout_s=settings.timeout_s,
        )

    async def get(
        self, path: str, params: Mapping[str, Any] | None = None, expect=(200,)
    ) -> Response:
        return await with_retries(
            lambda: self.http.request("GET", path, params=params, expect=expect)
        )

    async def post(self, path: str, body: Any, expect=(200, 201, 202, 204)) -> Response:
        """Not retried: a POST that reached GitHub but whose answer was lost would repeat."""
        return await self.http.request("POST", path, json_body=body, expect=expect)

    async def pages(self, path: str, items: str, params: Mapping[str, Any] | None = None):
        """Every item of a paginated list answered as {total_count, <items>: [...]}."""
        collected: list[dict[str, Any]] = []
        page = 1
        while True:
            response = await self.get(path, {**(params or {}), "per_page": PAGE, "page": page})
            batch = (response.body or {}).get(items) or []
            collected.extend(batch)
            total = (response.body or {}).get("total_count", 0)
            if len(batch) < PAGE or len(collected) >= total:
                return collected
            page += 1


def repo_path(repository: str) -> str:
    owner, name = repository.split("/", 1)
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def ref_path(ref: str) -> str:
    return quote(ref, safe="")
