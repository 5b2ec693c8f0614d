"""``gradcheck._jacdiag``: entry names and one-line diagnoses of a wrong block."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradcheck._jacdiag import Block, diagnose_block, out_label

Array = np.ndarray[Any, Any]
N = np.random.default_rng(0).standard_normal((4, 4)) + 2 * np.eye(4)
BLOCK = Block("out", "W", (4,), (2, 2), "")


def status(a: Array, n: Array) -> Array:
    return np.where(np.isclose(a, n, rtol=1e-9, atol=1e-12), "ok", "wrong").astype(object)


def diag(a: Array, n: Array = N, **kw: Any) -> Any:
    return diagnose_block(BLOCK, a, n, status(a, n), **kw)


def test_labels() -> None:
    assert BLOCK.label(2, 1) == "out[2] / W[0, 1]"
    assert out_label(BLOCK, 3) == "out[3] / W"
    assert Block("h", "b", (), (3,), "jvp: ").name == "jvp: h / b"
    assert Block("h", "b", (), (3,), "").label(0, 2) == "h / b[2]"


@pytest.mark.parametrize(
    ("claimed", "kind", "words"),
    [
        (np.zeros((4, 4)), "zero", "missing block"),
        (-N, "sign", "wrong sign"),
        (3 * N, "factor", "3 times too large"),
        (N.T, "transpose", "transposed"),
        (N[[2, 1, 0, 3]], "swapped", "out[0], out[2]"),
    ],
)
def test_whole_block_patterns(claimed: Array, kind: str, words: str) -> None:
    d = diag(claimed)
    assert d.kind == kind and words in d.text


def test_one_row_and_one_column() -> None:
    row = N.copy()
    row[1] *= -1
    d = diag(row)
    assert d.kind == "row" and "out[1]" in d.text and "sign" in d.text
    col = N.copy()
    col[:, 3] = 0.0
    d = diag(col)
    assert d.kind == "column" and "W[1, 1]" in d.text and "zero" in d.text


def test_scattered_entries_named() -> None:
    a = N.copy()
    a[0, 1] += 1.0
    a[3, 2] -= 1.0
    d = diag(a)
    assert d.kind == "scattered"
    assert d.text.startswith("2 of 16 entries are wrong")
    assert "out[0] / W[0, 1]" in d.text and "out[3] / W[1, 0]" in d.text


def test_swapped_with_another_outputs_block() -> None:
    other = N[::-1].copy()
    d = diag(other, others={"y / W": other})
    assert d.kind == "swapped" and "y / W" in d.text
