"""Built programs kept on disk, so a solution compiles once across runs (`orps judge` twice).

A build is the binary the sandbox's compiler produced (it only ever runs inside the sandbox
again). It is filed under a hash of what made it: the backend, its image, the compiler the local
backend sees (path, size and time: an upgraded toolchain builds anew), the compile command and
the source. The directory is $ORPS_BUILD_CACHE, else the user's cache directory (orps/builds);
ORPS_BUILD_CACHE=off turns it off. Failures to read or write are ignored: it is a cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

MAX_ENTRIES = 256


def directory() -> Path | None:
    value = os.environ.get("ORPS_BUILD_CACHE")
    if value == "off":
        return None
    if value:
        return Path(value).expanduser()
    from platformdirs import user_cache_dir
    return Path(user_cache_dir("orps")) / "builds"


def toolchain(backend: str, image: str | None, compiler: str) -> str:
    """What the binary depends on besides the command and the source."""
    if backend == "local":
        path = shutil.which(compiler)
        try:
            st = os.stat(path) if path else None
        except OSError:
            st = None
        return f"local:{path}:{st.st_size if st else 0}:{st.st_mtime_ns if st else 0}"
    return f"{backend}:{image}"


def _path(key: str, where: str) -> Path | None:
    root = directory()
    if root is None:
        return None
    return root / (hashlib.sha256(f"{where}\x00{key}".encode()).hexdigest() + ".b64")


def load(key: str, where: str) -> str | None:
    path = _path(key, where)
    if path is None:
        return None
    try:
        data = path.read_text(encoding="ascii")
        os.utime(path)  # recently used: kept longest
        return data or None
    except (OSError, UnicodeDecodeError):
        return None


def store(key: str, where: str, binary_b64: str) -> None:
    path = _path(key, where)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(binary_b64, encoding="ascii")
        tmp.replace(path)
        entries = sorted(path.parent.glob("*.b64"), key=lambda p: p.stat().st_mtime)
        for old in entries[:-MAX_ENTRIES]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
