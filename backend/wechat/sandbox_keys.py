"""RSA keys of the sandbox: the merchant's key pair and the platform's key pair.

In sandbox mode the app and the WeChat emulator run on one machine and share a key
directory. Whoever starts first creates the keys; creation is atomic (write to a
temporary file, then link without overwriting), so two processes starting together
end up with the same keys.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str


def _create_private_key_file(path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        with contextlib.suppress(FileExistsError):  # another process won the race: keep theirs
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def load_key_pair(key_dir: Path, name: str) -> KeyPair:
    path = Path(key_dir) / f"{name}_private.pem"
    if not path.exists():
        _create_private_key_file(path)
    private_pem = path.read_text()
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return KeyPair(private_pem=private_pem, public_pem=public_pem)


def merchant_keys(key_dir: Path) -> KeyPair:
    """The merchant's API key pair: we sign v3 requests, the emulator verifies."""
    return load_key_pair(key_dir, "merchant")


def platform_keys(key_dir: Path) -> KeyPair:
    """WeChat Pay's platform key pair (public-key mode): the emulator signs, we verify."""
    return load_key_pair(key_dir, "platform")
