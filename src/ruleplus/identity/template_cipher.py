"""Encryption of face templates at rest: AES-256-GCM, the row's identity bound as associated data.

The key comes from ``RULEPLUS_TEMPLATE_KEY`` (32 bytes, base64 or hex) or, failing that, from
``<data dir>/template.key``, created on first use with mode 0600. Blob layout:
``b"T1" | 12-byte nonce | ciphertext+tag`` where the plaintext is the float32 template.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from pathlib import Path

import numpy as np

from ruleplus.config import Settings, load_or_create_key
from ruleplus.errors import ConfigError, IdentityError

__all__ = ["TemplateCipher", "load_template_key"]

_VERSION = b"T1"
KEY_ENV = "RULEPLUS_TEMPLATE_KEY"
KEY_FILE = "template.key"


def _parse_key(text: str) -> bytes:
    text = text.strip()
    for decode in (bytes.fromhex, base64.urlsafe_b64decode, base64.b64decode):
        try:
            key = decode(text)
        except (ValueError, binascii.Error):
            continue
        if len(key) == 32:
            return key
    raise ConfigError("the template key must be 32 bytes, base64 or hex", key=KEY_ENV)


def load_template_key(data_dir: Path | None = None, env: dict[str, str] | None = None) -> bytes:
    """Return the template key from the settings or the key file (created when absent).

    Parameters
    ----------
    data_dir : Path, optional
        Where ``template.key`` lives; defaults to the settings' ``data_dir``.
    env : dict, optional
        Environment to read; defaults to ``os.environ``.
    """
    settings = Settings.load(env=env, data_dir=data_dir)
    if settings.template_key:
        return _parse_key(settings.template_key)
    text = load_or_create_key(
        Path(settings.data_dir) / KEY_FILE,
        lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    )
    return _parse_key(text)


class TemplateCipher:
    """AES-GCM encryption of templates.

    Parameters
    ----------
    key : bytes
        32-byte key.
    """

    def __init__(self, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if len(key) != 32:
            raise ValueError("the template key must be 32 bytes")
        self._aead = AESGCM(key)

    def encrypt(self, template: np.ndarray, aad: bytes) -> bytes:
        """Encrypt a float32 template bound to ``aad`` (tenant, id, subject, model)."""
        nonce = secrets.token_bytes(12)
        plain = np.ascontiguousarray(template, dtype="<f4").tobytes()
        return _VERSION + nonce + self._aead.encrypt(nonce, plain, aad)

    def decrypt(self, blob: bytes, aad: bytes) -> np.ndarray:
        """Decrypt a blob written by :meth:`encrypt` with the same ``aad``."""
        from cryptography.exceptions import InvalidTag

        if len(blob) < 2 + 12 + 16 or blob[:2] != _VERSION:
            raise IdentityError("template_invalid", "unknown template blob format")
        try:
            plain = self._aead.decrypt(blob[2:14], blob[14:], aad)
        except InvalidTag as exc:
            raise IdentityError(
                "template_invalid", "a template cannot be decrypted (wrong key or tampered row)"
            ) from exc
        return np.frombuffer(plain, dtype="<f4").astype(np.float32)
