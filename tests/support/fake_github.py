"""A stateful stand-in for the part of GitHub's REST API the bot uses, for tests that need CI
to turn red or green and deployments to accumulate (Prism answers the same examples always).

Every answer starts from the example in GitHub's own OpenAPI description (npm
@octokit/openapi), with the state the test set written over it, and is validated against the
operation's response schema before it is sent; request bodies are validated against the
operation's request schema. So this fake cannot drift from what GitHub documents."""

from __future__ import annotations

import copy
import functools
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from aiohttp import web

from tests.support.harness import free_port
from tests.support.peer_processes import GITHUB_SPEC, ROOT
from tests.support.peers import missing


@functools.cache
def _spec() -> dict[str, Any]:
    return json.loads(GITHUB_SPEC.read_text())


def _operation(path: str, method: str) -> dict[str, Any]:
    return _spec()["paths"][path][method]


def example(path: str, method: str, status: int) -> Any:
    content = _operation(path, method)["responses"][str(status)]["content"]["application/json"]
    if "examples" in content:
        return copy.deepcopy(next(iter(content["examples"].values()))["value"])
    return copy.deepcopy(content["example"])


def _json_schema(schema: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` in JSON Schema's words."""
    if isinstance(schema, list):
        return [_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {k: _json_schema(v) for k, v in schema.items() if k not in ("nullable", "example")}
    if schema.get("nullable"):
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


def validate_response(path: str, method: str, status: int, body: Any) -> None:
    content = _operation(path, method)["responses"][str(status)]["content"]["application/json"]
    jsonschema.validate(body, _json_schema(content["schema"]))


def validate_request(path: str, method: str, body: Any) -> None:
    schema = _operation(path, method)["requestBody"]["content"]["application/json"]["schema"]
    jsonschema.validate(body, _json_schema(schema))


@dataclass
class Commit:
    sha: str
    author: str = "octocat"


@dataclass
class FakeGitHub:
    token: str = "ghp_fake"
    default_branch: str = "main"
    refs: dict[str, Commit] = field(default_factory=dict)  # branch/tag/sha -> commit
    check_runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by sha
    deployments: list[dict[str, Any]] = field(default_factory=list)
    statuses: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)  # workflow runs by id

    def __post_init__(self) -> None:
        self._ids = itertools.count(1000)
        self._runner: web.AppRunner | None = None
        self.url = ""

    # What tests set

    def commit(self, ref: str, author: str = "octocat") -> Commit:
        sha = self.refs[ref].sha if ref in self.refs else f"{next(self._ids):040x}"
        self.refs[ref] = self.refs[sha] = Commit(sha, author)
        return self.refs[ref]

    def check(self, ref: str, name: str, conclusion: str | None, status: str = "completed"):
        sha = self.commit(ref).sha if ref not in self.refs else self.refs[ref].sha
        runs = self.check_runs.setdefault(sha, [])
        runs[:] = [run for run in runs if run["name"] != name]
        runs.append({"name": name, "status": status, "conclusion": conclusion})

    # Serving

    async def start(self) -> FakeGitHub:
        if not GITHUB_SPEC.exists():  # its answers come from GitHub's own description
            missing(f"{GITHUB_SPEC.relative_to(ROOT)} not found: run `npm ci --ignore-scripts`")
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    ROUTES = [
        ("get", r"/rate_limit", "/rate_limit", "_rate_limit"),
        ("get", r"/repos/[^/]+/[^/]+/commits/(?P<ref>[^/]+)/status",
         "/repos/{owner}/{repo}/commits/{ref}/status", "_combined_status"),
        ("get", r"/repos/[^/]+/[^/]+/commits/(?P<ref>[^/]+)/check-runs",
         "/repos/{owner}/{repo}/commits/{ref}/check-runs", "_list_check_runs"),
        ("get", r"/repos/[^/]+/[^/]+/commits/(?P<ref>[^/]+)",
         "/repos/{owner}/{repo}/commits/{ref}", "_get_commit"),
        ("get", r"/repos/[^/]+/[^/]+/compare/(?P<base>[^/]+?)\.\.\.(?P<head>[^/]+)",
         "/repos/{owner}/{repo}/compare/{basehead}", "_compare"),
        ("get", r"/repos/[^/]+/[^/]+/deployments",
         "/repos/{owner}/{repo}/deployments", "_list_deployments"),
        ("post", r"/repos/[^/]+/[^/]+/deployments",
         "/repos/{owner}/{repo}/deployments", "_create_deployment"),
        ("get", r"/repos/[^/]+/[^/]+/deployments/(?P<id>\d+)/statuses",
         "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", "_list_statuses"),
        ("post", r"/repos/[^/]+/[^/]+/deployments/(?P<id>\d+)/statuses",
         "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", "_create_status"),
        ("post", r"/repos/[^/]+/[^/]+/actions/workflows/(?P<workflow>[^/]+)/dispatches",
         "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", "_dispatch"),
        ("get", r"/repos/[^/]+/[^/]+/actions/runs/(?P<id>\d+)",
         "/repos/{owner}/{repo}/actions/runs/{run_id}", "_get_run"),
    ]  # fmt: skip

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path_qs))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"message": "Bad credentials"}, status=401)
        for method, pattern, spec_path, handler in self.ROUTES:
            match = re.fullmatch(pattern, request.path)
            if match and request.method.lower() == method:
                body = await request.json() if request.can_read_body else None
                if method == "post":
                    validate_request(spec_path, method, body)
                status, answer = getattr(self, handler)(match, request.query, body)
                if status < 300:
                    validate_response(spec_path, method, status, answer)
                return web.json_response(answer, status=status)
        return web.json_response({"message": "Not Found"}, status=404)

    def _commit_or_404(self, ref: str) -> Commit | None:
        return self.refs.get(ref)

    def _rate_limit(self, match, query, body):
        return 200, example("/rate_limit", "get", 200)

    def _get_commit(self, match, query, body):
        commit = self._commit_or_404(match["ref"])
        if commit is None:
            return 404, {"message": "No commit found for SHA: " + match["ref"]}
        return 200, self._commit_json(commit, "/repos/{owner}/{repo}/commits/{ref}")

    def _commit_json(self, commit: Commit, spec_path: str) -> dict[str, Any]:
        answer = example(spec_path, "get", 200)
        answer["sha"] = commit.sha
        answer["author"]["login"] = commit.author
        answer["committer"]["login"] = commit.author
        answer["commit"]["author"]["email"] = f"{commit.author}@example.com"
        answer["files"] = []  # the spec's example file lacks its own required contents_url
        return answer

    def _combined_status(self, match, query, body):
        commit = self._commit_or_404(match["ref"])
        if commit is None:
            return 404, {"message": "Not Found"}
        answer = example("/repos/{owner}/{repo}/commits/{ref}/status", "get", 200)
        answer.update(sha=commit.sha, statuses=[], total_count=0, state="pending")
        return 200, answer

    def _list_check_runs(self, match, query, body):
        commit = self._commit_or_404(match["ref"])
        runs = self.check_runs.get(commit.sha, []) if commit else []
        template = example("/repos/{owner}/{repo}/commits/{ref}/check-runs", "get", 200)
        model = template["check_runs"][0]
        listed = []
        for number, run in enumerate(runs, start=1):
            item = copy.deepcopy(model)
            item.update(id=number, head_sha=commit.sha, **run)
            item["completed_at"] = item["completed_at"] if run["status"] == "completed" else None
            listed.append(item)
        return 200, {"total_count": len(listed), "check_runs": listed}

    def _compare(self, match, query, body):
        base, head = self.refs.get(match["base"]), self.refs.get(match["head"])
        if base is None or head is None:
            return 404, {"message": "Not Found"}
        answer = example("/repos/{owner}/{repo}/compare/{basehead}", "get", 200)
        answer["commits"] = [self._commit_json(head, "/repos/{owner}/{repo}/commits/{ref}")]
        answer["commits"][0] = {
            k: v for k, v in answer["commits"][0].items() if k not in ("stats", "files")
        }
        return 200, answer

    def _list_deployments(self, match, query, body):
        found = [
            d
            for d in reversed(self.deployments)
            if query.get("environment") in (None, d["environment"])
            and query.get("ref") in (None, d["ref"])
        ]
        return 200, found

    def _create_deployment(self, match, query, body):
        deployment = example("/repos/{owner}/{repo}/deployments", "post", 201)
        deployment.update(
            id=next(self._ids),
            ref=body["ref"],
            sha=self.commit(body["ref"]).sha,
            environment=body.get("environment", "production"),
            payload=body.get("payload", {}),
            description=body.get("description"),
            production_environment=body.get("production_environment", False),
        )
        self.deployments.append(deployment)
        return 201, deployment

    def _list_statuses(self, match, query, body):
        statuses = list(reversed(self.statuses.get(int(match["id"]), [])))
        return 200, statuses[: int(query.get("per_page", 30))]

    def _create_status(self, match, query, body):
        deployment_id = int(match["id"])
        if not any(d["id"] == deployment_id for d in self.deployments):
            return 404, {"message": "Not Found"}
        spec_path = "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"
        status = example(spec_path, "post", 201)
        status.update(
            id=next(self._ids),
            state=body["state"],
            description=body.get("description", ""),
            environment=body.get("environment", ""),
        )
        self.statuses.setdefault(deployment_id, []).append(status)
        return 201, status

    def _dispatch(self, match, query, body):
        spec_path = "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"
        run_id = next(self._ids)
        self.runs[run_id] = {
            "workflow": match["workflow"],
            "ref": body["ref"],
            "inputs": body.get("inputs", {}),
            "status": "queued",
            "conclusion": None,
        }
        if not body.get("return_run_details"):
            return 204, None
        answer = example(spec_path, "post", 200)
        answer["workflow_run_id"] = run_id
        return 200, answer

    def _get_run(self, match, query, body):
        run = self.runs.get(int(match["id"]))
        if run is None:
            return 404, {"message": "Not Found"}
        answer = example("/repos/{owner}/{repo}/actions/runs/{run_id}", "get", 200)
        answer.update(id=int(match["id"]), status=run["status"], conclusion=run["conclusion"])
        return 200, answer

    def finish_runs(self, conclusion: str = "success") -> list[dict[str, Any]]:
        """Every queued workflow run completes; returns the runs that did."""
        finished = []
        for run in self.runs.values():
            if run["status"] != "completed":
                run.update(status="completed", conclusion=conclusion)
                finished.append(run)
        return finished

    def deployed(self, environment: str, ref: str) -> None:
        """A deployment of `ref` to `environment` that succeeded, as a workflow records it."""
        _, deployment = self._create_deployment(
            None, {}, {"ref": ref, "environment": environment, "payload": {}}
        )
        self._create_status({"id": str(deployment["id"])}, {}, {"state": "success"})

    def states_of(self, release_id: int) -> list[str]:
        """The deployment statuses recorded for one release, oldest first."""
        for deployment in self.deployments:
            if deployment["payload"].get("releasebot_release_id") == release_id:
                return [s["state"] for s in self.statuses.get(deployment["id"], [])]
        return []
