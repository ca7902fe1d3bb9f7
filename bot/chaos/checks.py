"""What must hold after any fault, read from what people and auditors would see: Slack (the
stand-in's messages and response_url answers), the database, the audit trail and the deploy
script's log. Each broken promise is one line of `Report.problems`."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from bot.chaos.cluster import Cluster, Sent
from bot.chaos.deployer import read_log
from bot.core.release import State
from bot.slack.chat import METADATA_EVENT

FINAL_WORDS = {
    State.SUCCEEDED: "live",
    State.FAILED: "failed",
    State.ROLLED_BACK: "rolled back",
    State.ABORTED: "aborted",
    State.REJECTED: "rejected",
}


@dataclass
class Report:
    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        lines = [f"== {self.name}: {'ok' if self.ok else 'BROKEN'}"]
        lines += [f"   {name}: {value}" for name, value in self.figures.items()]
        lines += [f"   PROBLEM: {problem}" for problem in self.problems[:20]]
        if len(self.problems) > 20:
            lines.append(f"   ... and {len(self.problems) - 20} more problems")
        return "\n".join(lines)


async def check(cluster: Cluster, sent: list[Sent], report: Report) -> Report:
    """Every promise, after the cluster settled."""
    messages = await cluster.messages()
    releases = await cluster.query("SELECT id, state FROM releases ORDER BY id")
    report.figures["commands sent"] = len(sent)
    report.figures["commands acknowledged"] = sum(1 for s in sent if s.acked)
    report.figures["releases"] = len(releases)
    await _acknowledged_commands(cluster, sent, messages, report)
    _releases_finished(releases, report)
    await _status_messages(cluster, releases, messages, report)
    await _threads(cluster, releases, messages, report)
    _no_duplicate_posts(messages, report)
    await _nothing_given_up(cluster, report)
    await _stages_once(cluster, report)
    await _audit_verifies(cluster, report)
    return report


async def _acknowledged_commands(
    cluster: Cluster, sent: list[Sent], messages: list[dict], report: Report
) -> None:
    """An OK is a promise: every acknowledged command has its decision in the audit trail, and
    the person sees its outcome (the release's status message, or a private answer)."""
    rows = await cluster.query(
        "SELECT details->>'request', release_id, action, outcome FROM audit_events "
        "WHERE details->>'request' LIKE 'command:%%'"
    )
    decided: dict[str, list[tuple]] = defaultdict(list)
    for key, release_id, action, outcome in rows:
        decided[key].append((release_id, action, outcome))
    answered = {
        call["args"].get("_token")
        for call in await cluster.calls("response_url")
        if call["status"] == 200
    }
    posted = {_key(m) for m in messages}
    lost = unanswered = 0
    for command in (s for s in sent if s.acked):
        events = decided.get(command.key)
        if not events:
            lost += 1
            report.problems.append(
                f"acknowledged `{command.command} {command.text}` by {command.user} left no "
                "trace: no audit event"
            )
            continue
        # A command that moved a release is seen in that release's message; any other is
        # answered privately.
        moved = [rid for rid, _, outcome in events if outcome == "ok" and rid is not None]
        seen = f"release-{moved[0]}-status" in posted if moved else command.token in answered
        if not seen:
            unanswered += 1
            report.problems.append(
                f"acknowledged `{command.command} {command.text}` by {command.user}: decided "
                f"({events[0][1]}), but the person never saw an answer"
            )
    report.figures["acknowledged commands lost"] = lost
    report.figures["acknowledged commands unanswered"] = unanswered


def _releases_finished(releases: list[tuple], report: Report) -> None:
    stuck = [(rid, state) for rid, state in releases if State(state).active]
    report.figures["releases stuck"] = len(stuck)
    for rid, state in stuck:
        report.problems.append(f"release #{rid} is stuck in {state}")


async def _status_messages(
    cluster: Cluster, releases: list[tuple], messages: list[dict], report: Report
) -> None:
    """One status message per release, showing its final state."""
    by_key: dict[str, list[dict]] = defaultdict(list)
    for message in messages:
        by_key[_key(message)].append(message)
    not_final = 0
    for rid, state in releases:
        posts = by_key.get(f"release-{rid}-status", [])
        if len(posts) != 1:
            report.problems.append(f"release #{rid} has {len(posts)} status messages, not 1")
            continue
        words = FINAL_WORDS.get(State(state))
        if words and f": {words} (" not in posts[0]["text"]:
            not_final += 1
            report.problems.append(
                f"release #{rid} is {state} but its status message says {posts[0]['text']!r}"
            )
    report.figures["status messages not showing the final state"] = not_final


async def _threads(
    cluster: Cluster, releases: list[tuple], messages: list[dict], report: Report
) -> None:
    """Each thread holds every post owed, once, in the order the bot wrote them."""
    owed: dict[int, list[str]] = defaultdict(list)
    for release_id, key in await cluster.query(
        "SELECT release_id, key FROM outbox WHERE kind = 'thread' ORDER BY id"
    ):
        owed[release_id].append(key)
    threads = {_key(m): [_key(r) for r in m.get("replies", [])] for m in messages}
    incomplete = out_of_order = posts = 0
    for rid, _ in releases:
        posted = [k for k in threads.get(f"release-{rid}-status", []) if k]
        posts += len(posted)
        expected = owed.get(rid, [])
        if sorted(posted) != sorted(expected):
            incomplete += 1
            missing = len(set(expected) - set(posted))
            report.problems.append(
                f"release #{rid}: thread has {len(posted)} posts, {len(expected)} owed "
                f"({missing} missing)"
            )
        elif posted != expected:
            out_of_order += 1
            report.problems.append(f"release #{rid}: thread posts out of order")
    report.figures["thread posts"] = posts
    report.figures["threads incomplete"] = incomplete
    report.figures["threads out of order"] = out_of_order


def _no_duplicate_posts(messages: list[dict], report: Report) -> None:
    keys = Counter(_key(m) for top in messages for m in [top, *top.get("replies", [])] if _key(m))
    duplicates = {key: n for key, n in keys.items() if n > 1}
    report.figures["duplicate posts"] = sum(n - 1 for n in duplicates.values())
    for key, n in duplicates.items():
        report.problems.append(f"{key} was posted {n} times")


async def _nothing_given_up(cluster: Cluster, report: Report) -> None:
    given_up = await cluster.query(
        "SELECT kind, key, last_error FROM outbox WHERE sent_at IS NULL AND due_at IS NULL"
    )
    report.figures["messages given up"] = len(given_up)
    for kind, key, error in given_up[:10]:
        report.problems.append(f"{kind} {key} was given up: {error}")


async def _stages_once(cluster: Cluster, report: Report) -> None:
    """No stage ran twice: the audit trail records each start once, and the deploy script saw
    one idempotency key per stage (a resend of the same key is allowed; a second key is not)."""
    twice = await cluster.query(
        "SELECT release_id, details->>'index', count(*) FROM audit_events "
        "WHERE action = 'stage.started' GROUP BY 1, 2 HAVING count(*) > 1"
    )
    keys: dict[tuple, set[str]] = defaultdict(set)
    for entry in read_log(cluster.deliveries_path):
        if entry.get("event") == "step":
            keys[(entry["release_id"], entry["stage"])].add(entry["key"])
    ran_twice = [stage for stage, seen in keys.items() if len(seen) > 1]
    report.figures["stages run twice"] = len(twice) + len(ran_twice)
    report.figures["deploy calls"] = sum(1 for _ in read_log(cluster.deliveries_path))
    for release_id, stage, count in twice:
        report.problems.append(f"release #{release_id} stage {stage} started {count} times")
    for release_id, stage in ran_twice:
        report.problems.append(f"release #{release_id} stage {stage} ran under two keys")


async def _audit_verifies(cluster: Cluster, report: Report) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "audit",
        "verify",
        "--database-url",
        cluster.database_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    said = output.decode(errors="replace").strip().splitlines()
    report.figures["audit verify"] = said[-1] if said else f"exit {process.returncode}"
    if process.returncode != 0:
        report.problems.append(f"`releasebot audit verify` failed: {' '.join(said)}")


def _key(message: dict[str, Any]) -> str:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != METADATA_EVENT:
        return ""
    return str((metadata.get("event_payload") or {}).get("key", ""))
