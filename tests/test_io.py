"""gradcheck._io: atomic JSON writes and .npz parameter files."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest

from gradcheck import GradcheckError
from gradcheck._io import load_npz, write_atomic, write_json_atomic


class TestWriteJsonAtomic:
    def test_writes_standard_json_with_null_for_non_finite(self, tmp_path: Path) -> None:
        path = tmp_path / "r.json"
        write_json_atomic(path, {"a": float("nan"), "b": [1.5, float("inf")], "c": np.float64(2)})
        text = path.read_text()
        assert "NaN" not in text and "Infinity" not in text
        assert json.loads(text) == {"a": None, "b": [1.5, None], "c": 2.0}

    def test_replaces_an_existing_file_and_leaves_no_temporary(self, tmp_path: Path) -> None:
        path = tmp_path / "r.json"
        path.write_text("old")
        write_json_atomic(path, {"new": True})
        assert json.loads(path.read_text()) == {"new": True}
        assert os.listdir(tmp_path) == ["r.json"]

    def test_unserialisable_data_leaves_the_old_file_and_no_half_file(self, tmp_path: Path) -> None:
        path = tmp_path / "r.json"
        path.write_text('{"old": 1}')
        with pytest.raises(GradcheckError, match="cannot write"):
            write_json_atomic(path, {"bad": object()})
        assert path.read_text() == '{"old": 1}'
        assert os.listdir(tmp_path) == ["r.json"]

    def test_failure_during_the_write_removes_the_temporary(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def broken(src: str, dst: str) -> None:
            raise OSError("disk full")

        monkeypatch.setattr(os, "replace", broken)
        with pytest.raises(GradcheckError, match="disk full"):
            write_json_atomic(tmp_path / "r.json", {"a": 1})
        assert os.listdir(tmp_path) == []

    def test_missing_folder_is_a_clear_error(self, tmp_path: Path) -> None:
        with pytest.raises(GradcheckError, match="does the folder exist"):
            write_json_atomic(tmp_path / "nope" / "r.json", {})


class TestLoadNpz:
    def test_round_trip(self, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        np.savez(path, W1=np.arange(6.0).reshape(2, 3), b1=np.zeros(2))
        arrays = load_npz(path)
        assert sorted(arrays) == ["W1", "b1"]
        np.testing.assert_array_equal(arrays["W1"], np.arange(6.0).reshape(2, 3))

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(GradcheckError, match="does not exist"):
            load_npz(tmp_path / "missing.npz")

    def test_object_arrays_are_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        np.savez(path, W=np.array([{"a": 1}], dtype=object))
        with pytest.raises(GradcheckError, match=r"member 'W' holds Python objects"):
            load_npz(path)

    def test_a_single_npy_array_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "p.npy"
        np.save(path, np.zeros(3))
        with pytest.raises(GradcheckError, match=r"not an \.npz archive"):
            load_npz(path)

    def test_garbage_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        path.write_text("not numpy")
        with pytest.raises(GradcheckError, match=r"np\.savez"):
            load_npz(path)


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class TestWritePermissions:
    """A written file has the mode ``open(path, "w")`` would give it (issue 12 §7)."""

    @pytest.mark.parametrize("mask", [0o022, 0o077, 0o002, 0o027])
    def test_a_new_file_gets_0666_less_the_umask(self, tmp_path: Path, mask: int) -> None:
        with umask(mask):
            write_json_atomic(tmp_path / "r.json", {"a": 1})
            with open(tmp_path / "plain", "w") as handle:  # what a normal write gives
                handle.write("x")
        assert mode(tmp_path / "r.json") == 0o666 & ~mask == mode(tmp_path / "plain")

    @pytest.mark.parametrize("old", [0o644, 0o600, 0o640, 0o664, 0o755, 0o444])
    def test_a_replaced_file_keeps_its_mode(self, tmp_path: Path, old: int) -> None:
        path = tmp_path / "r.json"
        path.write_text("{}")
        path.chmod(old)
        with umask(0o077):  # a umask that would give 0600 to a new file
            write_json_atomic(path, {"new": True})
        assert mode(path) == old
        assert json.loads(path.read_text()) == {"new": True}
        assert os.listdir(tmp_path) == ["r.json"]

    def test_a_symbolic_link_is_followed_like_a_plain_write(self, tmp_path: Path) -> None:
        real, link = tmp_path / "real.json", tmp_path / "link.json"
        real.write_text("{}")
        real.chmod(0o640)
        link.symlink_to(real)
        write_json_atomic(link, {"via": "link"})
        assert link.is_symlink() and json.loads(real.read_text()) == {"via": "link"}
        assert mode(real) == 0o640

    def test_binary_writer_and_its_failure(self, tmp_path: Path) -> None:
        path = tmp_path / "p.bin"
        write_atomic(path, lambda handle: handle.write(b"\x00\x01"))
        assert path.read_bytes() == b"\x00\x01"

        def broken(handle: IO[bytes]) -> None:
            handle.write(b"half")
            raise ValueError("renderer failed")

        with pytest.raises(ValueError, match="renderer failed"):
            write_atomic(path, broken)
        assert path.read_bytes() == b"\x00\x01" and os.listdir(tmp_path) == ["p.bin"]

    @pytest.mark.parametrize("name", ["out", "out.json", "out.png"])
    def test_a_folder_is_refused(self, tmp_path: Path, name: str) -> None:
        folder = tmp_path / name
        folder.mkdir()
        with pytest.raises(GradcheckError, match="it is a folder"):
            write_json_atomic(folder, {"a": 1})
        assert os.listdir(folder) == [] and os.listdir(tmp_path) == [name]


def save_arrays(path: Path, compressed: bool, **arrays: Any) -> None:
    (np.savez_compressed if compressed else np.savez)(path, **arrays)


class TestLoadNpzDtypes:
    @pytest.mark.parametrize("compressed", [False, True])
    @pytest.mark.parametrize(
        "array",
        [
            np.arange(6.0).reshape(2, 3),
            np.arange(6, dtype=np.float32).reshape(3, 2),
            np.arange(4, dtype=np.float16),
            np.asfortranarray(np.arange(12.0).reshape(3, 4)),
            np.arange(5, dtype=">f8"),  # big-endian
            np.array(2.5),  # 0-d
            np.zeros((0, 3)),  # empty
            np.array([1, -2, 3], dtype=np.int64),
            np.array([True, False]),
        ],
        ids=["f64", "f32", "f16", "fortran", "big-endian", "0-d", "empty", "int", "bool"],
    )
    def test_real_arrays_round_trip(
        self, tmp_path: Path, compressed: bool, array: np.ndarray[Any, Any]
    ) -> None:
        path = tmp_path / "p.npz"
        save_arrays(path, compressed, W=array)
        loaded = load_npz(path)["W"]
        assert loaded.dtype == array.dtype and loaded.shape == array.shape
        np.testing.assert_array_equal(loaded, array)
        assert loaded.flags.writeable

    @pytest.mark.parametrize(
        ("array", "message"),
        [
            (np.array(["a", "bc"]), r"member 'S' holds strings \(dtype <U2\)"),
            (np.array([b"a", b"bc"]), r"member 'S' holds strings \(dtype \|S2\)"),
            (np.array([1 + 2j, 3j]), r"member 'S' holds complex numbers \(complex128\)"),
            (np.array([1j], dtype=np.complex64), "will not drop the imaginary part"),
            (np.zeros(2, dtype=[("a", "<f8"), ("b", "<i4")]), r"holds no numbers"),
            (np.array(["2020-01-01"], dtype="datetime64[D]"), r"holds no numbers"),
        ],
        ids=["unicode", "bytes", "complex128", "complex64", "structured", "datetime"],
    )
    @pytest.mark.parametrize("compressed", [False, True])
    def test_non_real_members_are_refused_naming_file_and_member(
        self, tmp_path: Path, array: np.ndarray[Any, Any], message: str, compressed: bool
    ) -> None:
        path = tmp_path / "p.npz"
        save_arrays(path, compressed, W=np.ones(2), S=array)
        with pytest.raises(GradcheckError, match=message) as info:
            load_npz(path)
        assert str(path) in str(info.value)

    def test_a_member_that_is_not_npy(self, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("notes.txt", "hello")
        with pytest.raises(GradcheckError, match=r"member 'notes\.txt' is not a \.npy array"):
            load_npz(path)

    def test_max_bytes(self, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        np.savez(path, W=np.zeros(100))
        assert load_npz(path, max_bytes=800)["W"].shape == (100,)
        with pytest.raises(GradcheckError, match="member 'W' declares shape"):
            load_npz(path, max_bytes=799)
