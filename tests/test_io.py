"""gradcheck._io: atomic JSON writes and .npz parameter files."""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import stat
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest

from gradcheck import GradcheckError
from gradcheck import _io as io_module
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


def npy_member(descr: Any, shape: tuple[int, ...], data: bytes) -> bytes:
    """A ``.npy`` member's bytes whose header declares ``descr`` as written, which
    ``np.save`` would never write for some of them."""
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


class TestRefusalsSayWhatToDo:
    """Each refusal of a member ends with what the user should do or conclude."""

    def test_object_members_are_refused_saying_what_to_save(self, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        np.savez(path, W=np.array([{"a": 1}], dtype=object))
        with pytest.raises(GradcheckError) as info:
            load_npz(path)
        assert str(info.value).endswith(
            "gradcheck never unpickles (allow_pickle=False); save plain numeric arrays"
        )

    def test_complex_members_are_refused_saying_what_to_save(self, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        np.savez(path, W=np.array([1 + 2j]))
        with pytest.raises(GradcheckError) as info:
            load_npz(path)
        assert str(info.value).endswith(
            "will not drop the imaginary part: save x.real (or x.imag) if that is what you mean"
        )

    def test_an_oversized_member_is_called_not_a_parameter_file(self, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        np.savez(path, W=np.zeros(100))
        with pytest.raises(GradcheckError) as info:
            load_npz(path, max_bytes=799)
        message = str(info.value)
        assert "(100 entries, 800 bytes), more than the 799 bytes gradcheck reads" in message
        assert message.endswith("the file is corrupt or not a parameter file")


class TestNumbersWithFieldsAreRefused:
    """A header may declare a real dtype that also has named fields (``(int32,
    {fields})``, a union view): its entries are not plain numbers, and loading it would
    hand the check a structured array."""

    @pytest.mark.parametrize(
        ("base", "field"),
        [("<i4", "<i1"), ("<f8", "<i4"), ("<u2", "|u1"), ("|b1", "|b1")],
        ids=["int32", "float64", "uint16", "bool"],
    )
    def test_refused_naming_the_member(self, tmp_path: Path, base: str, field: str) -> None:
        size = np.dtype(base).itemsize
        fields = {"names": ["a"], "formats": [field], "offsets": [0], "itemsize": size}
        path = tmp_path / "p.npz"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("W.npy", npy_member((base, fields), (3,), bytes(3 * size)))
        with pytest.raises(GradcheckError, match=r"member 'W' holds no numbers \(dtype") as info:
            load_npz(path)
        assert str(path) in str(info.value)


def stored_member(
    path: Path, data: bytes, compression: int = zipfile.ZIP_STORED
) -> zipfile.ZipInfo:
    """Write ``data`` as the archive's only member ``W.npy``; its record in the archive."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr("W.npy", data)
    with zipfile.ZipFile(path) as archive:
        return archive.infolist()[0]


def record_size(path: Path, size: int) -> None:
    """Make the archive record ``size`` as its only member's uncompressed size (in its
    local header and its central directory), as a corrupt or hostile file may."""
    raw = bytearray(path.read_bytes())
    for signature, at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = raw.index(signature) + at
        raw[start : start + 4] = struct.pack("<I", size)
    path.write_bytes(bytes(raw))


class TestRecordedSizes:
    """A member's header, its recorded size and its compressed size must agree."""

    def test_a_header_declaring_more_than_the_data_names_both_sizes(self, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        stored_member(path, npy_member("<f8", (4,), bytes(24)))
        with pytest.raises(GradcheckError) as info:
            load_npz(path)
        assert str(info.value) == (
            f"parameter file {str(path)!r}: member 'W' declares shape (4,) (32 bytes of data) "
            "but the archive records 24 bytes: the file is truncated or corrupt"
        )

    def test_a_stored_member_recording_more_than_it_stores_is_corrupt(self, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        offset = len(npy_member("|u1", (24,), b""))
        stored_member(path, npy_member("|u1", (32,), bytes(24)))
        record_size(path, offset + 32)
        with pytest.raises(GradcheckError) as info:
            load_npz(path)
        assert str(info.value).endswith(
            f"member 'W' records {offset + 32} bytes stored in {offset + 24}: the file is corrupt"
        )

    @pytest.mark.parametrize("beyond", [0, 1])
    def test_a_deflated_member_may_record_1032_times_its_size_plus_4096(
        self, tmp_path: Path, beyond: int
    ) -> None:
        """At the bound the member is read, and found short; one byte past it the
        ratio alone refuses it."""
        path = tmp_path / "p.npz"
        declared = 100_000
        for _ in range(10):  # the header's digits change the compressed size: settle it
            member = npy_member("|u1", (declared + beyond,), bytes(1000))
            info = stored_member(path, member, zipfile.ZIP_DEFLATED)
            offset, bound = len(member) - 1000, 1032 * info.compress_size + 4096
            if offset + declared == bound:
                break
            declared = bound - offset
        assert offset + declared == bound
        record_size(path, bound + beyond)
        with pytest.raises(GradcheckError) as error:
            load_npz(path)
        if beyond:
            assert str(error.value).endswith(
                f"member 'W' records {bound + 1} bytes stored in {info.compress_size}: the "
                "file is corrupt"
            )
        else:
            assert str(error.value).endswith(f"member 'W' is truncated: 1000 of {declared} bytes")

    @pytest.mark.parametrize("compression", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
    def test_bzip2_and_lzma_members_are_not_held_to_deflates_ratio(
        self, tmp_path: Path, compression: int
    ) -> None:
        """Zeros compress far beyond 1032:1 with bzip2 and LZMA: such a file is sound."""
        path = tmp_path / "p.npz"
        buffer = io.BytesIO()
        np.save(buffer, np.zeros(1_000_000))
        info = stored_member(path, buffer.getvalue(), compression)
        assert info.file_size > 1032 * info.compress_size + 4096
        np.testing.assert_array_equal(load_npz(path)["W"], np.zeros(1_000_000))


class TestArchiveMembers:
    def test_a_folder_entry_is_passed_over(self, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(zipfile.ZipInfo("sub/"), b"")
            archive.writestr("W.npy", npy_member("<f8", (2,), np.array([1.0, 2.0]).tobytes()))
        arrays = load_npz(path)
        assert list(arrays) == ["W"]
        np.testing.assert_array_equal(arrays["W"], [1.0, 2.0])

    def test_a_member_appearing_twice_is_named(self, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("W.npy", npy_member("<f8", (1,), bytes(8)))
            with pytest.warns(UserWarning, match="Duplicate name"):
                archive.writestr("W.npy", npy_member("<f8", (1,), bytes(8)))
        with pytest.raises(GradcheckError) as info:
            load_npz(path)
        assert str(info.value) == f"parameter file {str(path)!r}: member 'W' appears twice"

    def test_a_member_that_is_not_npy_says_how_to_save_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("notes.txt", "hello")
        with pytest.raises(GradcheckError) as info:
            load_npz(path)
        assert str(info.value).endswith(
            "member 'notes.txt' is not a .npy array (save the file with np.savez)"
        )

    def test_a_npy_of_format_version_3_is_refused_saying_why(self, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.zeros(2), version=(3, 0))
        stored_member(path, buffer.getvalue())
        with pytest.raises(GradcheckError) as info:
            load_npz(path)
        assert str(info.value).endswith(
            "member 'W' is a .npy of format version 3.0 (a structured dtype); parameters must "
            "be plain arrays of real numbers"
        )


class TestNotAnArchive:
    def test_a_single_npy_array_is_named_as_one(self, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        np.save(path, np.zeros(3))
        path = path.with_suffix(".npz.npy")
        with pytest.raises(GradcheckError) as info:
            load_npz(path)
        assert str(info.value) == (
            f"{str(path)!r} holds one array (.npy), not an .npz archive: save it with np.savez"
        )

    @pytest.mark.parametrize("content", [b"", b"\x93NUMP", b"\x93NUMPZ", b"PK\x03\x04"])
    def test_anything_else_is_called_truncated_corrupt_or_not_an_archive(
        self, tmp_path: Path, content: bytes
    ) -> None:
        path = tmp_path / "p.npz"
        path.write_bytes(content)
        with pytest.raises(GradcheckError) as info:
            load_npz(path)
        message = str(info.value)
        assert message.startswith(f"cannot read parameter file {str(path)!r}: ")
        assert message.endswith(
            "; it is truncated, corrupt or not an .npz archive (save it with np.savez)"
        )


class TestJsonOfNumpyValues:
    def test_numpy_scalars_and_arrays_are_written_as_numbers_and_null(self, tmp_path: Path) -> None:
        path = tmp_path / "r.json"
        data = {
            "bound": np.float64(1.5),
            "count": np.int64(3),
            "nan": np.float32("nan"),
            "values": np.array([[1.0, np.inf], [-np.inf, 2.5]]),
            "flags": np.array([True, False]),
        }
        write_json_atomic(path, data)
        assert json.loads(path.read_text()) == {
            "bound": 1.5,
            "count": 3,
            "nan": None,
            "values": [[1.0, None], [None, 2.5]],
            "flags": [True, False],
        }


class TestTemporaryNames:
    @pytest.mark.parametrize("length", [237, 238, 250, 255])
    def test_a_file_name_up_to_the_length_limit_is_written(
        self, tmp_path: Path, length: int
    ) -> None:
        """The temporary beside it (``.NAME.<12 hex>.tmp``) cuts ``NAME`` to stay within
        255 bytes: a name the file system allows is written, nothing left over (a
        238-to-255-character name failed with "File name too long")."""
        path = tmp_path / ("r" * (length - 5) + ".json")
        write_json_atomic(path, {"a": 1})
        assert json.loads(path.read_text()) == {"a": 1}
        assert [p.name for p in tmp_path.iterdir()] == [path.name]

    def test_a_long_name_of_multibyte_characters_is_cut_at_a_character(
        self, tmp_path: Path
    ) -> None:
        """252 bytes of two-byte characters: the temporary's name is cut between
        characters, never inside one, and stays within 255 bytes."""
        name = "é" * 124 + ".json"
        assert len(name.encode()) == 253
        taken: list[str] = []
        real = io_module._temporary_name

        def spy(n: str) -> str:
            taken.append(real(n))
            return taken[-1]

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(io_module, "_temporary_name", spy)
            write_json_atomic(tmp_path / name, {"a": 1})
        assert json.loads((tmp_path / name).read_text()) == {"a": 1}
        assert len(taken[0].encode()) <= 255
        assert taken[0].startswith(".é") and taken[0].endswith(".tmp")
        assert [p.name for p in tmp_path.iterdir()] == [name]

    def test_a_name_too_long_for_the_file_system_is_refused_naming_the_file(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / ("r" * 256 + ".json")
        with pytest.raises(GradcheckError, match="cannot write") as info:
            write_json_atomic(path, {"a": 1})
        assert "r" * 256 in str(info.value)
        assert list(tmp_path.iterdir()) == []

    def test_a_temporary_name_already_taken_is_passed_over_and_left_alone(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Another writer's temporary (the same random name) is neither reused nor removed."""
        names = iter(["a" * 12, "b" * 12])
        monkeypatch.setattr(secrets, "token_hex", lambda n: next(names))
        taken = tmp_path / f".r.json.{'a' * 12}.tmp"
        taken.write_text("another writer's")
        write_json_atomic(tmp_path / "r.json", {"a": 1})
        assert json.loads((tmp_path / "r.json").read_text()) == {"a": 1}
        assert taken.read_text() == "another writer's"
        assert sorted(p.name for p in tmp_path.iterdir()) == [taken.name, "r.json"]


class TestWriteMessagesAndText:
    """What write_json_atomic and write_atomic write, and the words of each failure."""

    def test_the_json_text_is_indented_by_two_and_ends_with_a_newline(self, tmp_path: Path) -> None:
        path = tmp_path / "r.json"
        write_json_atomic(path, {"a": 1, "b": [1.5, float("nan")]})
        assert path.read_bytes() == b'{\n  "a": 1,\n  "b": [\n    1.5,\n    null\n  ]\n}\n'

    @pytest.mark.parametrize("key", [float("nan"), float("inf"), -float("inf")])
    def test_a_non_finite_key_is_refused_and_nothing_written(
        self, tmp_path: Path, key: float
    ) -> None:
        path = tmp_path / "r.json"
        with pytest.raises(GradcheckError) as info:
            write_json_atomic(path, {key: 1})
        assert str(info.value) == (
            f"cannot write {str(path)!r}: Out of range float values are not JSON compliant: {key!r}"
        )
        assert os.listdir(tmp_path) == []

    def test_unserialisable_data_names_the_file_and_the_type(self, tmp_path: Path) -> None:
        path = tmp_path / "r.json"
        with pytest.raises(GradcheckError) as info:
            write_json_atomic(path, {"bad": object()})
        assert str(info.value) == (
            f"cannot write {str(path)!r}: Object of type object is not JSON serializable"
        )

    @pytest.mark.parametrize(("what", "named"), [("", ""), ("picture", "picture ")])
    def test_a_missing_folder_names_the_file_and_asks_about_the_folder(
        self, tmp_path: Path, what: str, named: str
    ) -> None:
        path = tmp_path / "nope" / "r.png"
        with pytest.raises(GradcheckError) as info:
            write_atomic(path, lambda handle: handle.write(b"x"), what=what)
        assert str(info.value) == (
            f"cannot write {named}{str(path)!r}: No such file or directory (does the folder exist?)"
        )

    def test_a_path_through_a_file_is_refused_with_the_systems_reason(self, tmp_path: Path) -> None:
        (tmp_path / "file.txt").write_text("x")
        path = tmp_path / "file.txt" / "r.json"
        with pytest.raises(GradcheckError) as info:
            write_json_atomic(path, {})
        assert str(info.value) == f"cannot write {str(path)!r}: Not a directory"

    def test_an_os_error_of_the_writer_names_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "p.bin"

        def full(handle: IO[bytes]) -> None:
            raise OSError("disk full")

        with pytest.raises(GradcheckError) as info:
            write_atomic(path, full, what="picture")
        assert str(info.value) == f"cannot write picture {str(path)!r}: disk full"
        assert os.listdir(tmp_path) == []

    def test_the_writers_own_error_reaches_the_user_when_the_temporary_is_gone(
        self, tmp_path: Path
    ) -> None:
        def vanishing(handle: IO[bytes]) -> None:
            for temporary in tmp_path.glob(".*.tmp"):
                temporary.unlink()
            raise ValueError("renderer failed")

        with pytest.raises(ValueError, match="renderer failed"):
            write_atomic(tmp_path / "p.bin", vanishing)
        assert os.listdir(tmp_path) == []


class TestUnreadableParameterFiles:
    def test_a_folder_is_named_with_the_systems_reason(self, tmp_path: Path) -> None:
        with pytest.raises(GradcheckError) as info:
            load_npz(tmp_path)
        assert str(info.value) == (
            f"cannot read parameter file {str(tmp_path)!r}: [Errno 21] Is a directory: "
            f"{str(tmp_path)!r} (save it with np.savez)"
        )

    def test_a_file_that_is_not_a_zip_gives_zipfiles_reason(self, tmp_path: Path) -> None:
        path = tmp_path / "p.npz"
        path.write_bytes(b"")
        with pytest.raises(GradcheckError) as info:
            load_npz(path)
        assert str(info.value) == (
            f"cannot read parameter file {str(path)!r}: File is not a zip file; it is "
            "truncated, corrupt or not an .npz archive (save it with np.savez)"
        )
