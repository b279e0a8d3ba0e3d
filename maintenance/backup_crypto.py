"""Signing and (optional) encryption of backup files.

Signature: every backup file gets `<file>.hmac`, an HMAC-SHA256 of the stored bytes made
with BACKUP_HMAC_KEY (by default derived from SECRET_KEY). The key lives in the settings,
never beside the file, so whoever can write the backup storage still cannot make a file
that a restore accepts: a restore refuses any file whose HMAC does not verify.

Encryption at rest (when BACKUP_ENCRYPTION_KEY is set): the gzip stream is cut into chunks,
each sealed with AES-256-GCM. A file is
    MAGIC | 4-byte random file id | chunks
and a chunk is
    4-byte big-endian length | ciphertext+tag
with nonce = file id + 8-byte chunk counter and the "last chunk" flag as associated data,
so chunks cannot be reordered, dropped or cut off without decryption failing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import os
import struct
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.utils.crypto import salted_hmac

MAGIC = b"BOBKENC1"
CHUNK = 1 << 20
_LENGTH = struct.Struct(">I")


class BackupCryptoError(Exception):
    """A backup cannot be decrypted or its key is malformed."""


def hmac_key() -> bytes:
    configured = settings.BACKUP_HMAC_KEY
    if configured:
        return configured.encode()
    return salted_hmac("maintenance.backups.hmac-key", "v1", algorithm="sha256").digest()


def new_signer():
    return hmac.new(hmac_key(), digestmod=hashlib.sha256)


def signature_path(path: Path) -> Path:
    return path.with_name(path.name + ".hmac")


def file_signature(path: Path) -> str:
    signer = new_signer()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            signer.update(block)
    return signer.hexdigest()


def signature_valid(path: Path, expected: str | None = None) -> bool | None:
    """True/False when the file's signature is / is not `expected` (by default the one in
    `<file>.hmac` beside it); None when that sidecar is absent."""
    if expected is None:
        sidecar = signature_path(path)
        if not sidecar.is_file():
            return None
        words = sidecar.read_text().split()
        expected = words[0] if words else ""
    return hmac.compare_digest(expected, file_signature(path))


def encryption_key() -> bytes | None:
    value = settings.BACKUP_ENCRYPTION_KEY
    if not value:
        return None
    return decode_key(value)


def decode_key(value: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(value.encode())
    except (binascii.Error, ValueError) as exc:
        raise BackupCryptoError("BACKUP_ENCRYPTION_KEY is not URL-safe base64") from exc
    if len(key) != 32:
        raise BackupCryptoError("BACKUP_ENCRYPTION_KEY must decode to 32 bytes")
    return key


class EncryptingWriter:
    """A binary file-like object that seals what is written to it, chunk by chunk."""

    def __init__(self, raw, key: bytes):
        self.raw, self.aead, self.file_id = raw, AESGCM(key), os.urandom(4)
        self.counter, self.buffer = 0, bytearray()
        raw.write(MAGIC + self.file_id)

    def _seal(self, data: bytes, last: bool) -> None:
        nonce = self.file_id + self.counter.to_bytes(8, "big")
        sealed = self.aead.encrypt(nonce, data, b"\x01" if last else b"\x00")
        self.raw.write(_LENGTH.pack(len(sealed)) + sealed)
        self.counter += 1

    def write(self, data) -> int:
        self.buffer += data
        while len(self.buffer) > CHUNK:  # keep at least one byte back for the last chunk
            self._seal(bytes(self.buffer[:CHUNK]), last=False)
            del self.buffer[:CHUNK]
        return len(data)

    def close(self) -> None:
        """Seal the last chunk (possibly empty); the underlying file stays open."""
        self._seal(bytes(self.buffer), last=True)
        self.buffer.clear()

    def flush(self) -> None:
        self.raw.flush()


class _DecryptingRaw(io.RawIOBase):
    def __init__(self, raw, key: bytes):
        self.raw, self.aead = raw, AESGCM(key)
        self.file_id = raw.read(4)
        self.counter, self.pending, self.done = 0, b"", False

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()
        super().close()

    def _next_chunk(self) -> None:
        head = self.raw.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            raise BackupCryptoError("the encrypted backup is truncated")
        (length,) = _LENGTH.unpack(head)
        if length > CHUNK + 16:
            raise BackupCryptoError("the encrypted backup is damaged")
        sealed = self.raw.read(length)
        nonce = self.file_id + self.counter.to_bytes(8, "big")
        for last in (False, True):
            try:
                self.pending = self.aead.decrypt(nonce, sealed, b"\x01" if last else b"\x00")
            except InvalidTag:
                continue
            self.counter += 1
            self.done = last
            if last and self.raw.read(1):
                raise BackupCryptoError("the encrypted backup has data after its end")
            return
        raise BackupCryptoError("the backup cannot be decrypted (wrong key or altered file)")

    def readinto(self, buffer) -> int:
        while not self.pending and not self.done:
            self._next_chunk()
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size


def is_encrypted(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def open_stored(path: Path):
    """The gzip stream of a stored backup, decrypted when the file is encrypted."""
    raw = open(path, "rb")  # noqa: SIM115 - closed with the returned reader
    if raw.read(len(MAGIC)) != MAGIC:
        raw.seek(0)
        return raw
    key = encryption_key()
    if key is None:
        raw.close()
        raise BackupCryptoError(f"{path.name} is encrypted and BACKUP_ENCRYPTION_KEY is not set")
    return io.BufferedReader(_DecryptingRaw(raw, key), buffer_size=CHUNK)
