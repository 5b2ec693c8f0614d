"""Files: atomic JSON reports and ``.npz`` parameter overrides.

A report file is either complete or absent: :func:`write_json_atomic` writes to a
temporary file in the target's own directory (the same file system, so the final
:func:`os.replace` is atomic on POSIX and Windows) and removes it if anything fails.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_json_atomic(folder / "r.json", {"status": "passed"})
>>> (folder / "r.json").read_text()
'{\\n  "status": "passed"\\n}\\n'
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from gradcheck._errors import GradcheckError

__all__ = ["load_npz", "write_json_atomic"]


def _finite(data: Any) -> Any:
    """``data`` with every non-finite float replaced by ``None``."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(v) for v in data]
    if isinstance(data, np.generic):
        return _finite(data.item())
    if isinstance(data, np.ndarray):
        return _finite(data.tolist())
    return data


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as indented JSON to ``path``, atomically.

    Args:
        path: the destination; its directory must exist.
        data: JSON-ready data; non-finite floats (NaN, ±inf) are written as ``null``,
            so that the file is standard JSON any parser reads.

    Raises:
        GradcheckError: the directory is missing or not writable, or ``data`` is not
            JSON-serialisable; no file (whole or partial) is left behind.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        text = json.dumps(_finite(data), indent=2, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise GradcheckError(f"cannot write {str(target)!r}: {exc}") from exc
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise GradcheckError(
            f"cannot write {str(target)!r}: {exc.strerror or exc} (does the folder exist?)"
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise GradcheckError(f"cannot write {str(target)!r}: {exc}") from exc
        raise


def load_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray[Any, Any]]:
    """The arrays of an ``.npz`` file, by name (never unpickles objects).

    Raises:
        GradcheckError: the file is missing, not an ``.npz`` archive, or holds
            object arrays (which would need pickle).
    """
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise GradcheckError(f"{str(path)!r} holds one array, not an .npz archive")
        with archive:
            return {name: np.array(archive[name]) for name in archive.files}
    except GradcheckError:
        raise
    except FileNotFoundError as exc:
        raise GradcheckError(f"parameter file {str(path)!r} does not exist") from exc
    except (OSError, ValueError) as exc:
        raise GradcheckError(
            f"cannot read parameter file {str(path)!r}: {exc} (save it with np.savez)"
        ) from exc
