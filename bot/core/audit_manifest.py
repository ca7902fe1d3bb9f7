"""What an audit export promises about itself, and the signed checkpoints of the chain head.

A manifest names the export's range and filters, its first and last sequence numbers, the
chain head when it was made (sequence and hash) and the SHA-256 of the exported file, and is
signed with a key kept outside the database. Someone with write access to the database can
rebuild a self-consistent chain, but not the signature: verifying against an older manifest
or checkpoint shows the rewrite at the first sequence number whose hash changed."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Signature:
    algorithm: str  # "hmac-sha256" or "ed25519"
    key_id: str  # a fingerprint of the key, never the key
    value: str  # hex


@dataclass(frozen=True)
class ChainPoint:
    seq: int
    hash: str


@dataclass(frozen=True)
class Manifest:
    format: str
    filters: dict[str, Any]
    first_seq: int | None
    last_seq: int | None
    count: int
    head: ChainPoint  # the whole chain's head when the export was made
    file_name: str
    file_sha256: str
    file_bytes: int
    created_at: str
    signature: Signature | None = None
    manifest_version: int = MANIFEST_VERSION

    def signed_content(self) -> bytes:
        """The bytes the signature covers: everything but the signature, canonical JSON."""
        content = asdict(self)
        content.pop("signature")
        return _canonical(content)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        if data.get("manifest_version") != MANIFEST_VERSION:
            raise ValueError(f"not a version {MANIFEST_VERSION} audit manifest")
        signature = data.get("signature")
        return cls(
            **{
                **data,
                "head": ChainPoint(**data["head"]),
                "signature": Signature(**signature) if signature else None,
            }
        )


@dataclass(frozen=True)
class Checkpoint:
    """The chain head at a moment, signed: written at intervals and on every export."""

    seq: int
    hash: str
    signed_at: str
    signature: Signature = field(default_factory=lambda: Signature("", "", ""))

    def signed_content(self) -> bytes:
        return _canonical({"seq": self.seq, "hash": self.hash, "signed_at": self.signed_at})


def _canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
