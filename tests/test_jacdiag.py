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


class TestScaledRows:
    """A block-level sign/factor only when most of the block is wrong (attack13 F17), and
    no ``1/m`` hint: a Jacobian's row or block is no mean over a batch."""

    scales = np.array([1e8, 1.0, 1e-8, 1e-3])

    @pytest.mark.parametrize("row", range(4))
    @pytest.mark.parametrize("c", [-1.0, 3.0, 0.5])
    def test_one_wrong_row_of_any_scale_is_the_row(self, row: int, c: float) -> None:
        n = self.scales[:, None] * N
        a = n.copy()
        a[row] *= c
        d = diag(a, n)
        assert d.kind == "row" and f"output out[{row}]" in d.text, d.text
        assert "1/m" not in d.text and "gradient" not in d.text

    @pytest.mark.parametrize(
        ("c", "words"),
        [
            (3.0, "×3, 3 times too large"),
            (0.25, "×1/4 (0.25), 4 times too small"),
            (-1.0, "×−1, the wrong sign"),
            (-2.5, "×-2.5, wrong sign and off by a constant"),
        ],
    )
    def test_whole_block_factor_in_jacobian_words(self, c: float, words: str) -> None:
        d = diag(c * N)
        assert d.kind in ("sign", "factor") and d.text.startswith("the block is " + words)
        assert "1/m" not in d.text

    @pytest.mark.parametrize(
        ("c", "words"),
        [(1e300, "constant factor"), (1e12, "constant factor"), (1e-20, "zero where")],
    )
    def test_a_huge_factor_is_worded_not_counted(self, c: float, words: str) -> None:
        # a row 1e310 times too large (the ratio overflows to inf) crashed in round()
        a, n = N.copy(), N.copy()
        a[1] *= c
        n[1] *= 1e-10
        d = diag(a, n)
        assert d.kind == "row" and words in d.text and len(d.text) < 120, d.text

    def test_row_factor_has_no_batch_hint(self) -> None:
        a = N.copy()
        a[1] *= 3
        d = diag(a)
        assert d.kind == "row" and d.text.endswith("it is ×3, 3 times too large"), d.text

    @pytest.mark.parametrize("c", [-1.0, 2.0])
    def test_a_sparse_block_off_by_a_factor_is_still_the_block(self, c: float) -> None:
        n = np.diag(self.scales)  # rows of very different scales, mostly zeros
        d = diag(c * n, n)
        assert d.kind == ("sign" if c < 0 else "factor") and d.text.startswith("the block is")
