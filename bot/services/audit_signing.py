"""Signing audit manifests and checkpoints with a key from the environment, never from the
database: an HMAC key (shared secret) or an Ed25519 key pair (auditors verify with the public
key alone).

  RELEASEBOT_AUDIT_HMAC_KEY / RELEASEBOT_AUDIT_HMAC_KEY_FILE       sign and verify
  RELEASEBOT_AUDIT_ED25519_KEY_FILE          PEM private key: sign and verify
  RELEASEBOT_AUDIT_ED25519_PUBLIC_KEY_FILE   PEM public key: verify only
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bot.core.audit_manifest import Signature


class SigningKeyProblem(ValueError):
    pass


class Signer(Protocol):
    algorithm: str
    key_id: str

    def sign(self, content: bytes) -> Signature: ...

    def verify(self, content: bytes, signature: Signature) -> str | None:
        """None when the signature holds, else why not."""


class HmacSigner:
    algorithm = "hmac-sha256"

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise SigningKeyProblem("the audit HMAC key must be at least 16 bytes")
        self._key = key
        self.key_id = hashlib.sha256(b"releasebot-audit-key:" + key).hexdigest()[:16]

    def sign(self, content: bytes) -> Signature:
        value = hmac.new(self._key, content, hashlib.sha256).hexdigest()
        return Signature(self.algorithm, self.key_id, value)

    def verify(self, content: bytes, signature: Signature) -> str | None:
        if (problem := _same_key(self, signature)) is not None:
            return problem
        expected = self.sign(content).value
        if not hmac.compare_digest(expected.encode(), signature.value.encode()):
            return "signature mismatch: the signed content was changed"
        return None


class Ed25519Signer:
    algorithm = "ed25519"

    def __init__(self, public: Ed25519PublicKey, private: Ed25519PrivateKey | None = None):
        self._public = public
        self._private = private
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    def sign(self, content: bytes) -> Signature:
        if self._private is None:
            raise SigningKeyProblem("only a public key is configured: it verifies, not signs")
        return Signature(self.algorithm, self.key_id, self._private.sign(content).hex())

    def verify(self, content: bytes, signature: Signature) -> str | None:
        if (problem := _same_key(self, signature)) is not None:
            return problem
        try:
            self._public.verify(bytes.fromhex(signature.value), content)
        except (InvalidSignature, ValueError):
            return "signature mismatch: the signed content was changed"
        return None


def _same_key(signer: Signer, signature: Signature) -> str | None:
    if signature.algorithm != signer.algorithm or signature.key_id != signer.key_id:
        return (
            f"signature mismatch: signed with {signature.algorithm} key {signature.key_id}, "
            f"but the configured key is {signer.algorithm} {signer.key_id}"
        )
    return None


def signer_from_environment(env: Mapping[str, str]) -> Signer | None:
    if key := env.get("RELEASEBOT_AUDIT_HMAC_KEY"):
        return HmacSigner(key.encode())
    if path := env.get("RELEASEBOT_AUDIT_HMAC_KEY_FILE"):
        return HmacSigner(_read(path).strip())
    if path := env.get("RELEASEBOT_AUDIT_ED25519_KEY_FILE"):
        private = serialization.load_pem_private_key(_read(path), password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise SigningKeyProblem(f"{path} is not an Ed25519 private key")
        return Ed25519Signer(private.public_key(), private)
    if path := env.get("RELEASEBOT_AUDIT_ED25519_PUBLIC_KEY_FILE"):
        public = serialization.load_pem_public_key(_read(path))
        if not isinstance(public, Ed25519PublicKey):
            raise SigningKeyProblem(f"{path} is not an Ed25519 public key")
        return Ed25519Signer(public)
    return None


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SigningKeyProblem(f"cannot read the audit key {path}: {exc.strerror}") from exc
