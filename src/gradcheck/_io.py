"""Files: atomic writes (JSON reports, pictures) and ``.npz`` parameter overrides.

A file written here is either complete or absent: :func:`write_atomic` writes to a
temporary file in the target's own directory (the same file system, so the final
:func:`os.replace` is atomic on POSIX and Windows) and removes it if anything fails,
``KeyboardInterrupt`` included. The file gets the permissions a plain ``open(path, "w")``
would give: a new file ``0o666`` less the umask, a replaced file keeps its mode.

:func:`load_npz` reads an ``.npz`` archive member by member and never unpickles: each
member's ``.npy`` header is read and checked (real numbers only, a sane size that agrees
with the archive's own record of the member) before any memory is set aside for it.

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
import secrets
import stat
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

from gradcheck._errors import GradcheckError

__all__ = ["MAX_NPZ_BYTES", "load_npz", "write_atomic", "write_json_atomic"]

#: Largest array an ``.npz`` member may declare (16 GiB). A finite-difference check
#: evaluates the cost at least twice per checked entry, so a parameter this large is
#: already beyond what a check works on in memory; a header declaring more is corrupt
#: or hostile (2**40 float64 entries would be 8 TiB) and is refused before allocating.
MAX_NPZ_BYTES = 2**34
#: DEFLATE cannot expand data by more than about 1032:1 (zlib's technical details: a
#: 258-byte match costs at least 2 bits), so a deflated member whose recorded size is
#: larger than this times its compressed size is corrupt. The slack covers tiny members.
_DEFLATE_RATIO, _DEFLATE_SLACK = 1032, 4096
_REAL_KINDS = "biuf"  # bool, signed and unsigned integers, floats


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


def _destination(path: str | os.PathLike[str]) -> Path:
    """Where writing ``path`` lands: a symbolic link's target, as a plain write would."""
    target = Path(path)
    try:
        if target.is_symlink():
            target = Path(os.path.realpath(target))
        folder = target.is_dir()
    except OSError as exc:  # a name too long for the file system, a folder denied
        raise GradcheckError(
            f"cannot write {os.fspath(path)!r}: {exc.strerror or exc}; give a shorter "
            "name or a folder you can read"
        ) from exc
    if folder:
        raise GradcheckError(
            f"cannot write {os.fspath(path)!r}: it is a folder; give a file name in it"
        )
    return target


#: The longest file name most file systems allow, in bytes (ext4, APFS, NTFS: 255).
NAME_MAX = 255
#: What the temporary adds to the target's name: ``.`` + ``.<12 hex>.tmp``.
_ADDED = 18


def _temporary_name(name: str) -> str:
    """``.NAME.<12 hex>.tmp``, with ``NAME`` cut (at a character boundary) so that the
    whole stays within :data:`NAME_MAX` bytes: a target name that is itself allowed
    must not fail because of its temporary's (a 240-character name did, with "File
    name too long" about the user's own file).

    >>> len(_temporary_name("r" * 255).encode())
    255
    """
    room = NAME_MAX - _ADDED
    stem = os.fsencode(name)[:room].decode(sys.getfilesystemencoding(), "ignore")
    return f".{stem}.{secrets.token_hex(6)}.tmp"


def _temporary(target: Path) -> tuple[int, str]:
    """Create a new temporary file beside ``target``; ``0o666`` less the umask, as ``open``."""
    folder = target.parent
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = str(folder / _temporary_name(target.name))
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue


def write_atomic(
    path: str | os.PathLike[str], write: Callable[[IO[bytes]], object], *, what: str = ""
) -> None:
    """Write a file atomically: ``write(handle)`` fills a temporary, renamed onto ``path``.

    A new file gets ``0o666`` less the umask (what ``open(path, "w")`` gives); an
    existing file keeps its permission bits. A symbolic link is followed, as by ``open``.

    Args:
        path: the destination; its folder must exist.
        write: writes the content to a binary handle.
        what: a word for messages (``"picture"``).

    Raises:
        GradcheckError: ``path`` is a folder, or its folder is missing or not writable;
            no file (whole or partial) is left behind and an old file is unchanged.
            Anything ``write`` raises propagates, after the same clean-up.
    """
    name = f"{what} {os.fspath(path)!r}" if what else repr(os.fspath(path))
    target = _destination(path)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise GradcheckError(f"cannot write {name}: {exc.strerror or exc}") from exc
    try:
        fd, tmp = _temporary(target)
    except OSError as exc:
        raise GradcheckError(
            f"cannot write {name}: {exc.strerror or exc} (does the folder exist?)"
        ) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise GradcheckError(f"cannot write {name}: {exc}") from exc
        raise


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as indented JSON to ``path``, atomically (see :func:`write_atomic`).

    Args:
        path: the destination; its directory must exist.
        data: JSON-ready data; non-finite floats (NaN, ±inf) are written as ``null``,
            so that the file is standard JSON any parser reads.

    Raises:
        GradcheckError: the directory is missing or not writable, ``path`` is a folder,
            or ``data`` is not JSON-serialisable; no file (whole or partial) is left behind.
    """
    try:
        text = json.dumps(_finite(data), indent=2, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise GradcheckError(f"cannot write {os.fspath(path)!r}: {exc}") from exc
    write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))


class _Header(NamedTuple):
    """What a member's ``.npy`` header declares."""

    shape: tuple[int, ...]
    fortran: bool
    dtype: np.dtype[Any]
    offset: int  # where the data starts in the member


def _npy_header(handle: IO[bytes], where: str) -> _Header:
    """Read a ``.npy`` header from ``handle`` (version 1.0 or 2.0)."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
    else:
        raise GradcheckError(
            f"{where} is a .npy of format version {version[0]}.{version[1]} (a structured "
            "dtype); parameters must be plain arrays of real numbers"
        )
    return _Header(tuple(int(n) for n in shape), bool(fortran), dtype, handle.tell())


def _check_header(header: _Header, info: zipfile.ZipInfo, where: str, max_bytes: int) -> int:
    """The member's data size in bytes, once its dtype and size are sane."""
    dtype = header.dtype
    if dtype.hasobject:
        raise GradcheckError(
            f"{where} holds Python objects (dtype {dtype}), which would need pickle: "
            "gradcheck never unpickles (allow_pickle=False); save plain numeric arrays"
        )
    if dtype.kind == "c":
        raise GradcheckError(
            f"{where} holds complex numbers ({dtype}); gradcheck checks real parameters and "
            "will not drop the imaginary part: save x.real (or x.imag) if that is what you mean"
        )
    if dtype.kind not in _REAL_KINDS or dtype.fields is not None or dtype.subdtype:
        kind = "strings" if dtype.kind in "US" else "no numbers"
        raise GradcheckError(
            f"{where} holds {kind} (dtype {dtype}); parameters must be arrays of real numbers"
        )
    count = math.prod(header.shape)
    nbytes = count * dtype.itemsize
    if nbytes > max_bytes:
        raise GradcheckError(
            f"{where} declares shape {header.shape} ({count} entries, {nbytes} bytes), more "
            f"than the {max_bytes} bytes gradcheck reads; the file is corrupt or not a "
            "parameter file"
        )
    if header.offset + nbytes != info.file_size:
        raise GradcheckError(
            f"{where} declares shape {header.shape} ({nbytes} bytes of data) but the archive "
            f"records {info.file_size - header.offset} bytes: the file is truncated or corrupt"
        )
    deflated = info.compress_type == zipfile.ZIP_DEFLATED
    bound = info.compress_size * _DEFLATE_RATIO + _DEFLATE_SLACK if deflated else None
    if (bound is not None and info.file_size > bound) or (
        info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size
    ):
        raise GradcheckError(
            f"{where} records {info.file_size} bytes stored in {info.compress_size}: the "
            "file is corrupt"
        )
    return nbytes


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, max_bytes: int
) -> np.ndarray[Any, Any]:
    """One member's array, its header checked before its data is read."""
    try:
        with archive.open(info) as handle:
            header = _npy_header(handle, where)
            nbytes = _check_header(header, info, where, max_bytes)
            data = handle.read(nbytes)
            handle.read(1)  # reach the end, where zipfile checks the CRC
    except GradcheckError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise GradcheckError(f"{where} cannot be read ({exc}): the file is corrupt") from exc
    if len(data) != nbytes:
        raise GradcheckError(f"{where} is truncated: {len(data)} of {nbytes} bytes")
    flat: np.ndarray[Any, Any] = np.frombuffer(data, dtype=header.dtype)
    if header.fortran:
        flat = flat.reshape(header.shape[::-1]).transpose()
    array: np.ndarray[Any, Any] = flat.reshape(header.shape).copy()
    return array


def _members(archive: zipfile.ZipFile, file: str) -> list[tuple[str, zipfile.ZipInfo]]:
    """The archive's arrays by name (``W1.npy`` is ``W1``), refusing anything else."""
    members: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        if info.is_dir():
            continue
        if not info.filename.endswith(".npy"):
            raise GradcheckError(
                f"parameter file {file!r}: member {info.filename!r} is not a .npy array "
                "(save the file with np.savez)"
            )
        name = info.filename[: -len(".npy")]
        if name in members:
            raise GradcheckError(f"parameter file {file!r}: member {name!r} appears twice")
        members[name] = info
    return list(members.items())


def load_npz(
    path: str | os.PathLike[str], *, max_bytes: int = MAX_NPZ_BYTES
) -> dict[str, np.ndarray[Any, Any]]:
    """The arrays of an ``.npz`` file, by name (never unpickles objects).

    Each member's header is checked before its data is read: its dtype must be real
    numbers (bool, integer or float), its size at most ``max_bytes`` and equal to the
    size the archive records for it.

    Raises:
        GradcheckError: the file is missing, not an ``.npz`` archive, truncated or
            corrupt, or a member holds objects (which would need pickle), strings,
            complex numbers, or declares more than ``max_bytes``; the message names
            the file and the member.
    """
    file = os.fspath(path)
    where = f"parameter file {file!r}"
    try:
        with zipfile.ZipFile(file) as archive:
            return {
                name: _read_member(archive, info, f"{where}: member {name!r}", max_bytes)
                for name, info in _members(archive, file)
            }
    except GradcheckError:
        raise
    except FileNotFoundError as exc:
        raise GradcheckError(f"parameter file {file!r} does not exist") from exc
    except zipfile.BadZipFile as exc:
        raise GradcheckError(_not_an_archive(file, exc)) from exc
    except (OSError, ValueError, EOFError, zlib.error) as exc:
        raise GradcheckError(
            f"cannot read parameter file {file!r}: {exc} (save it with np.savez)"
        ) from exc


def _not_an_archive(file: str, exc: Exception) -> str:
    """Why ``file`` could not be opened as a zip archive, in words."""
    try:
        with open(file, "rb") as handle:
            magic = handle.read(6)
    except OSError:  # pragma: no cover - it was readable a moment ago
        magic = b""
    if magic == b"\x93NUMPY":
        return f"{file!r} holds one array (.npy), not an .npz archive: save it with np.savez"
    return (
        f"cannot read parameter file {file!r}: {exc}; it is truncated, corrupt or not an "
        ".npz archive (save it with np.savez)"
    )
