"""gradcheck._io: atomic JSON writes and .npz parameter files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from gradcheck import GradcheckError
from gradcheck._io import load_npz, write_json_atomic


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
        with pytest.raises(GradcheckError, match="cannot read"):
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
