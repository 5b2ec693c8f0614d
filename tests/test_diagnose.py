"""Diagnosis of wrong gradients: each mistake is recognised, and only it."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck._diagnose import CONJUGATED, FIT, diagnose, scaled

RNG = np.random.default_rng(3)
TRUE = RNG.standard_normal((4, 3))


class TestDiagnose:
    @pytest.mark.parametrize(
        ("factor", "text"),
        [(2.0, "×2 —"), (4.0, "4/m where 1/m"), (0.25, "×1/4"), (1.7, "×1.7 —")],
    )
    def test_factor(self, factor: float, text: str) -> None:
        d = diagnose(factor * TRUE, TRUE)
        assert d.kind == "factor" and d.factor == pytest.approx(factor)
        assert text in d.text

    def test_sign(self) -> None:
        d = diagnose(-TRUE, TRUE)
        assert d.kind == "sign" and d.factor == pytest.approx(-1.0)

    def test_zero(self) -> None:
        assert diagnose(np.zeros_like(TRUE), TRUE).kind == "zero"

    def test_unused_when_the_cost_never_moved(self) -> None:
        d = diagnose(TRUE, np.zeros_like(TRUE))
        assert d.kind == "unused" and "does the cost use it?" in d.text

    def test_both_zero_is_not_unused(self) -> None:
        assert diagnose(np.zeros_like(TRUE), np.zeros_like(TRUE)).kind != "unused"

    def test_square_transpose(self) -> None:
        sq = RNG.standard_normal((3, 3))
        assert diagnose(sq.T, sq).kind == "transpose"

    def test_reshaped_transpose(self) -> None:
        assert diagnose(TRUE.T.reshape(TRUE.shape), TRUE).kind == "transpose"

    def test_swapped(self) -> None:
        other = RNG.standard_normal((4, 3))
        d = diagnose(other, TRUE, {"b2": other})
        assert d.kind == "swapped" and "'b2'" in d.text

    def test_scattered_is_not_called_a_factor(self) -> None:
        wrong = TRUE * (1 + 0.05 * RNG.standard_normal(TRUE.shape))
        assert diagnose(wrong, TRUE).kind == "scattered"


class TestEveryKindByKindAndText:
    """Each diagnosis on a crafted case: its kind and its exact sentence."""

    def test_unused(self) -> None:
        d = diagnose(TRUE, np.zeros_like(TRUE))
        assert (d.kind, d.factor) == ("unused", 0.0)
        assert d.text == (
            "the cost does not change with this parameter (its finite differences are "
            "exactly 0): does the cost use it? If not, its gradient is 0"
        )

    @pytest.mark.parametrize("scale", [0.0, 1e-4])
    def test_zero(self, scale: float) -> None:
        d = diagnose(scale * TRUE, TRUE)
        assert (d.kind, d.factor) == ("zero", 0.0)
        assert d.text == "the gradient is zero where it should not be (missing?)"

    @pytest.mark.parametrize("c", [-1.0, -1.0005, -0.9995])
    def test_sign_is_only_the_sign_near_minus_one(self, c: float) -> None:
        d = diagnose(c * TRUE, TRUE)
        assert (d.kind, d.factor) == ("sign", -1.0)
        assert d.text == "×−1 — the gradient has the wrong sign"

    @pytest.mark.parametrize(("c", "shown"), [(-2.0, "-2"), (-0.5, "-0.5"), (-1.01, "-1.01")])
    def test_sign_and_factor(self, c: float, shown: str) -> None:
        d = diagnose(c * TRUE, TRUE)
        assert d.kind == "sign" and d.factor == pytest.approx(c)
        assert d.text == f"×{shown} — wrong sign and off by a factor"

    @pytest.mark.parametrize(
        ("c", "text"),
        [
            (2.0, "×2 — the gradient is 2 times too large (a doubled term?)"),
            (3.0, "×3 — the gradient is 3 times too large (3/m where 1/m was meant?)"),
            (0.5, "×1/2 (0.5) — the gradient is 2 times too small (an extra 1/m?)"),
            (1.7, "×1.7 — the gradient is off by a constant factor"),
            (1.003, "×1.003 — the gradient is off by a constant factor"),
        ],
    )
    def test_factor(self, c: float, text: str) -> None:
        d = diagnose(c * TRUE, TRUE)
        assert d.kind == "factor" and d.factor == pytest.approx(c)
        assert d.text == text

    def test_transpose_reshaped(self) -> None:
        d = diagnose(TRUE.T.reshape(TRUE.shape), TRUE)
        assert (d.kind, d.factor) == ("transpose", None)
        assert d.text == "the gradient is transposed (reshaped from its .T)"

    def test_transpose_square(self) -> None:
        sq = RNG.standard_normal((4, 4))
        d = diagnose(sq.T, sq)
        assert (d.kind, d.factor) == ("transpose", None)
        assert d.text == "the gradient is the transpose of the right one"

    def test_swapped(self) -> None:
        other = RNG.standard_normal(TRUE.shape)
        d = diagnose(other, TRUE, {"b1": np.ones(3), "W2": other}, name="W1")
        assert (d.kind, d.factor) == ("swapped", None)
        assert d.text == "this is the gradient of 'W2': swapped?"

    def test_scattered(self) -> None:
        wrong = TRUE * (1 + 0.05 * np.arange(1, 13).reshape(TRUE.shape))
        wrong[1, 1] = TRUE[1, 1]
        d = diagnose(wrong, TRUE, name="W")
        assert (d.kind, d.factor) == ("scattered", None)
        assert d.text == (
            "11 of 12 entries are wrong, with no simple pattern: "
            "W[0, 0], W[0, 1], W[0, 2], W[1, 0], W[1, 2], …"
        )


class TestNoFactorOfOne:
    """A factor within FIT of 1 is no factor; a right-as-a-whole gradient names its
    wrong entries instead of a pattern."""

    @pytest.mark.parametrize("seed", range(4))
    @pytest.mark.parametrize("error", [1e-5, 1e-3, 0.05])
    def test_one_wrong_entry(self, seed: int, error: float) -> None:
        rng = np.random.default_rng(seed)
        n = rng.standard_normal((6, 5))
        a = n.copy()
        i, j = int(rng.integers(6)), int(rng.integers(5))
        a[i, j] += error * np.abs(n).max()
        status = np.where(a == n, "ok", "wrong")
        d = diagnose(a, n, status=status, name="W")
        assert d.kind == "scattered"
        assert d.text == f"1 of 30 entries is wrong, with no simple pattern: W[{i}, {j}]"

    @pytest.mark.parametrize("c", [1.0, 1.0002, 0.9995, 1.0009])
    def test_uniform_factor_within_fit_is_not_a_factor(self, c: float) -> None:
        d = diagnose(c * TRUE, TRUE, status=np.full(TRUE.shape, "wrong"), name="W")
        assert d.kind == "scattered" and "12 of 12 entries are wrong" in d.text

    @pytest.mark.parametrize("c", [1.0009, 0.9991])
    def test_factor_within_fit_plus_noise_is_not_a_factor(self, c: float) -> None:
        # c·n fits a to within FIT while n alone does not (a residual ⟂ n): still no
        # factor, since c is within FIT of 1.
        r = RNG.standard_normal(TRUE.shape)
        r -= np.vdot(r, TRUE) / np.vdot(TRUE, TRUE) * TRUE
        a = c * TRUE + 6e-4 * np.linalg.norm(TRUE) * r / np.linalg.norm(r)
        d = diagnose(a, TRUE, status=np.full(TRUE.shape, "wrong"))
        assert d.kind == "scattered" and d.text.startswith("12 of 12 entries are wrong")

    def test_symmetric_gradient_with_one_wrong_entry_is_not_a_transpose(self) -> None:
        s = RNG.standard_normal((5, 5))
        n = s + s.T
        a = n.copy()
        a[1, 3] *= 1.0001
        d = diagnose(a, n, status=np.where(a == n, "ok", "wrong"), name="S")
        assert d.kind == "scattered" and d.text.endswith(": S[1, 3]")

    def test_another_parameter_with_the_same_gradient_is_not_a_swap(self) -> None:
        a = TRUE.copy()
        a[0, 0] *= 1.0001
        d = diagnose(a, TRUE, {"V": TRUE.copy()}, status=np.where(a == TRUE, "ok", "wrong"))
        assert d.kind == "scattered" and d.text.endswith(": [0, 0]")

    def test_a_scalar_is_named_bare(self) -> None:
        d = diagnose(np.array(1.0), np.array(-3.0), status=np.array("wrong"), name="s")
        assert d.kind == "sign" and d.factor == pytest.approx(-1 / 3)


class TestCountsUseTheStatus:
    """The diagnosis counts only ``wrong`` entries, as the table does; kinks and
    unresolved entries are named apart and left out of the fit."""

    def test_kinks_and_unresolved_are_not_differences(self) -> None:
        n = np.ones(20)
        a = n.copy()
        a[:12] = 0.0  # 8 kinks (numerical 0.5 against analytic 0) and 4 wrong
        n[:8] = 0.5
        status = np.array(["nonsmooth"] * 8 + ["wrong"] * 4 + ["uncertain"] * 2 + ["ok"] * 6)
        d = diagnose(a, n, status=status, name="x")
        assert d.kind == "scattered"
        assert d.text == (
            "4 of 20 entries are wrong (8 more sit at kinks and 2 more could not be "
            "resolved, not counted), with no simple pattern: x[8], x[9], x[10], x[11]"
        )

    @pytest.mark.parametrize("kinks", [1, 5, 9])
    def test_a_factor_fits_the_judged_entries(self, kinks: int) -> None:
        n = np.linspace(1.0, 2.0, 12)
        a = 2 * n
        a[:kinks], n[:kinks] = 0.0, 0.7  # the kinks fit no factor
        status = np.array(["nonsmooth"] * kinks + ["wrong"] * (12 - kinks))
        d = diagnose(a, n, status=status)
        assert d.kind == "factor" and d.factor == pytest.approx(2.0)

    def test_the_default_status_compares_to_one_in_a_million(self) -> None:
        a = TRUE.copy()
        a[2, 1] *= 1 + 1e-4
        a[0, 2] *= 1 + 1e-8  # within 1e-6: not counted
        d = diagnose(a, TRUE, name="W")
        assert d.text == "1 of 12 entries is wrong, with no simple pattern: W[2, 1]"

    def test_names_at_most_five(self) -> None:
        n = np.arange(1.0, 9.0)
        a = n * np.array([1, 1.5, 1, 0.2, 3, 1, -1, 4])
        d = diagnose(a, n, status=np.where(a == n, "ok", "wrong"), name="b")
        assert d.text == (
            "5 of 8 entries are wrong, with no simple pattern: b[1], b[3], b[4], b[6], b[7]"
        )
        a[0] = 9.0
        d = diagnose(a, n, status=np.where(a == n, "ok", "wrong"), name="b")
        assert d.text.endswith(": b[0], b[1], b[3], b[4], b[6], …")


class TestFitAtAnyScaleAndAtItsEdges:
    """The fit rule is relative (any gradient scale, finite-difference noise allowed),
    names a whole factor only within FIT of it, and works on what was judged."""

    @pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
    def test_a_doubled_gradient_is_named_at_any_scale_despite_noise(self, scale: float) -> None:
        true = scale * TRUE
        noisy = true * (1 + 1e-5 * np.random.default_rng(5).standard_normal(TRUE.shape))
        d = diagnose(2 * true, noisy)
        assert d.kind == "factor" and d.factor == pytest.approx(2.0, rel=1e-4)
        assert d.text == "×2 — the gradient is 2 times too large (a doubled term?)"

    @pytest.mark.parametrize(
        ("c", "text"),
        [
            (3.002, "×3 — the gradient is 3 times too large (3/m where 1/m was meant?)"),
            (1 / 3.002, "×1/3 (0.3331) — the gradient is 3 times too small (an extra 1/m?)"),
            (0.3, "×0.3 — the gradient is off by a constant factor"),
            (3.5, "×3.5 — the gradient is off by a constant factor"),
        ],
    )
    def test_a_whole_factor_is_named_within_fit_of_it_only(self, c: float, text: str) -> None:
        d = diagnose(c * TRUE, TRUE)
        assert d.kind == "factor" and d.factor == pytest.approx(c)
        assert d.text == text

    def test_an_error_of_exactly_fit_is_right_as_a_whole(self) -> None:
        # ‖a − n‖ = 1 = FIT · ‖a‖ exactly: the rule is "≤ FIT", so no factor ×1.001
        d = diagnose(np.array([1000.0]), np.array([999.0]), name="w")
        assert d.kind == "scattered"
        assert d.text == "1 of 1 entries is wrong, with no simple pattern: w[0]"

    def test_nothing_judged_names_no_entries(self) -> None:
        status = np.array(["nonsmooth", "uncertain", "nonsmooth"])
        d = diagnose(2 * np.ones(3), np.ones(3), status=status, name="w")
        assert (d.kind, d.factor) == ("scattered", None)
        assert d.text == (
            "0 of 3 entries are wrong (2 more sit at kinks and 1 more could not be "
            "resolved, not counted), with no simple pattern"
        )

    def test_a_float16_numeric_gradient_is_fitted_in_float64(self) -> None:
        numeric = np.full(100, 1000.0, dtype=np.float16)  # Σ n² overflows float16
        d = diagnose(2 * numeric.astype(np.float64), numeric)
        assert d.kind == "factor" and d.factor == pytest.approx(2.0)


class TestDefaultStatusAndInputs:
    """Without a status, an entry is wrong unless it agrees to 1e-6 relative (with an
    absolute floor of 1e-9 of the gradient's norm); inputs of any float dtype are
    fitted in float64."""

    def test_one_wrong_entry_by_default_is_named_not_a_factor(self) -> None:
        a = TRUE.copy()
        a[2, 1] *= 1.5
        d = diagnose(a, TRUE, name="W")
        assert (d.kind, d.factor) == ("scattered", None)
        assert d.text == "1 of 12 entries is wrong, with no simple pattern: W[2, 1]"

    @pytest.mark.parametrize("scale", [1e-9, 1.0, 1e9])
    def test_a_few_parts_in_a_million_are_wrong_at_any_scale(self, scale: float) -> None:
        a = scale * TRUE
        a[0, 2] *= 1 + 3e-6
        d = diagnose(a, scale * TRUE, name="W")
        assert d.text == "1 of 12 entries is wrong, with no simple pattern: W[0, 2]"

    def test_an_entry_that_should_be_zero_has_a_floor_of_1e_minus_9_of_the_norm(self) -> None:
        n = np.array([0.0, 1e3])
        norm = float(np.linalg.norm(n))
        under = diagnose(np.array([0.9995e-9 * norm, 1e3]), n, name="w")
        over = diagnose(np.array([1.01e-9 * norm, 1e3]), n, name="w")
        assert under.text == "0 of 2 entries are wrong, with no simple pattern"
        assert over.text == "1 of 2 entries is wrong, with no simple pattern: w[0]"

    def test_a_flat_status_fits_a_matrix(self) -> None:
        status = np.full(TRUE.size, "wrong")
        status[:4] = "nonsmooth"
        d = diagnose(2 * TRUE, TRUE, status=status)
        assert d.kind == "factor" and d.factor == pytest.approx(2.0)

    def test_a_float16_analytic_gradient_is_fitted_in_float64(self) -> None:
        analytic = np.full(100, 2000.0, dtype=np.float16)  # Σ a² overflows float16
        d = diagnose(analytic, np.full(100, 1000.0))
        assert d.kind == "factor" and d.factor == pytest.approx(2.0)

    def test_a_large_float16_gradient_of_another_parameter_is_no_swap(self) -> None:
        other = np.full(TRUE.shape, 1000.0, dtype=np.float16)  # Σ o² overflows float16
        d = diagnose(TRUE * (1 + 0.1 * np.arange(12).reshape(4, 3)), TRUE, {"h": other})
        assert d.kind == "scattered"


class TestZeroIsRelative:
    """A zero gradient means at most FIT of the true gradient's norm, at any scale; two zero
    gradients are no mistake of that kind."""

    @pytest.mark.parametrize("scale", [1e-6, 1e-3, 1.0])
    def test_zero_at_any_scale(self, scale: float) -> None:
        d = diagnose(np.zeros_like(TRUE), scale * TRUE)
        assert (d.kind, d.factor) == ("zero", 0.0)

    def test_exactly_fit_of_the_true_gradient_is_zero(self) -> None:
        d = diagnose(np.array([1.0]), np.array([1000.0]))  # ‖a‖ = FIT · ‖n‖ exactly
        assert (d.kind, d.factor) == ("zero", 0.0)

    def test_two_zero_gradients_are_not_a_missing_gradient(self) -> None:
        d = diagnose(np.zeros_like(TRUE), np.zeros_like(TRUE), name="W")
        assert (d.kind, d.factor) == ("scattered", None)
        assert d.text == "0 of 12 entries are wrong, with no simple pattern"


def _pair(z: np.ndarray) -> np.ndarray:
    """A complex array's real view as the complex adapters pass it: (..., 2)."""
    return np.stack([z.real, z.imag], axis=-1)


class TestComplexPatterns:
    """A complex parameter's real views (``pair=True``): a conjugated, transposed or
    conjugate-transposed gradient is named as such, with its sentence, at any scale; the
    real-valued transposes do not apply; unjudged entries do not spoil a fit."""

    Z = RNG.standard_normal((3, 3)) + 1j * RNG.standard_normal((3, 3))
    Z_WIDE = RNG.standard_normal((2, 3)) + 1j * RNG.standard_normal((2, 3))

    @pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
    def test_conjugate(self, scale: float) -> None:
        z = scale * self.Z
        d = diagnose(_pair(z.conj()), _pair(z), pair=True)
        assert (d.kind, d.factor, d.text) == ("conjugate", None, CONJUGATED)

    def test_conjugate_of_a_non_square_matrix_and_a_vector(self) -> None:
        for z in (self.Z_WIDE, self.Z[0]):
            d = diagnose(_pair(z.conj()), _pair(z), pair=True)
            assert (d.kind, d.text) == ("conjugate", CONJUGATED)

    @pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
    def test_transpose(self, scale: float) -> None:
        z = scale * self.Z
        d = diagnose(_pair(z.T), _pair(z), pair=True)
        assert (d.kind, d.factor) == ("transpose", None)
        assert d.text == "the gradient is the transpose of the right one"

    @pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
    def test_conjugate_transpose(self, scale: float) -> None:
        z = scale * self.Z
        d = diagnose(_pair(z.conj().T), _pair(z), pair=True)
        assert (d.kind, d.factor) == ("conjugate", None)
        assert d.text == (
            "conjugated? — the gradient is the conjugate transpose (.H) of the right "
            "one: a transpose where .T was meant, or the other complex_convention"
        )

    def test_a_transposed_non_square_matrix_is_scattered(self) -> None:
        # (2, 3) → (3, 2) reshaped back: no complex transpose pattern for a non-square
        # matrix, and the real views' reshaped transpose does not apply to pairs.
        z = self.Z_WIDE
        d = diagnose(_pair(z.T.reshape(z.shape)), _pair(z), pair=True)
        assert d.kind == "scattered"

    def test_the_real_transpose_of_the_views_is_not_a_complex_pattern(self) -> None:
        # The (3, 2) real view of a 3-vector, transposed then reshaped back: a real
        # transpose of the views, which means nothing for a complex parameter.
        z = RNG.standard_normal(3) + 1j * RNG.standard_normal(3)
        n = _pair(z)
        d = diagnose(n.T.reshape(n.shape), n, pair=True)
        assert d.kind == "scattered"

    def test_a_negated_imaginary_part_with_a_wrong_real_part_is_scattered(self) -> None:
        z = self.Z
        wrong = _pair(z.conj())
        wrong[..., 0] *= 1.5  # conjugated, and the real part off: no single pattern
        d = diagnose(wrong, _pair(z), pair=True)
        assert d.kind == "scattered"

    @pytest.mark.parametrize("make", ["conj", "T", "H"])
    def test_unjudged_entries_do_not_spoil_the_fit(self, make: str) -> None:
        z = self.Z
        a = _pair({"conj": z.conj(), "T": z.T, "H": z.conj().T}[make])
        status = np.full(a.shape, "wrong", dtype=object)
        a[1, 1, 0] = 1e3  # garbage where the comparison could not judge (on the
        status[1, 1, 0] = "uncertain"  # diagonal: a transpose leaves it in place)
        d = diagnose(a, _pair(z), status=status, pair=True)
        expected = {"conj": "conjugate", "T": "transpose", "H": "conjugate"}[make]
        assert d.kind == expected


class TestComplexEntriesAreNamedByPart:
    """The wrong entries of a complex parameter's real views are named by complex index
    and part, ``z[0, 1] (imag)``, never by the views' own index."""

    Z = RNG.standard_normal((2, 3)) + 1j * RNG.standard_normal((2, 3))

    def test_one_wrong_imaginary_part(self) -> None:
        n = _pair(self.Z)
        a = n.copy()
        a[0, 1, 1] *= 3
        d = diagnose(a, n, name="z", pair=True)
        assert (d.kind, d.factor) == ("scattered", None)
        assert d.text == "1 of 12 entries is wrong, with no simple pattern: z[0, 1] (imag)"

    def test_a_real_and_an_imaginary_part(self) -> None:
        n = _pair(self.Z)
        a = n.copy()
        a[0, 1, 1] *= 3
        a[1, 2, 0] += 1
        d = diagnose(a, n, name="z", pair=True)
        assert d.text == (
            "2 of 12 entries are wrong, with no simple pattern: z[0, 1] (imag), z[1, 2] (real)"
        )

    def test_a_complex_vector(self) -> None:
        n = _pair(self.Z[1])
        a = n.copy()
        a[2, 0] = -7.0
        d = diagnose(a, n, name="v", pair=True)
        assert d.text.endswith(": v[2] (real)")


class TestAFitIsRelativeToTheLargerGradient:
    """``a`` fits ``b`` when ‖a − b‖ ≤ FIT · max(‖a‖, ‖b‖): a gradient just inside FIT of a
    larger gradient of another parameter is that gradient, one just outside is not."""

    def test_just_inside_of_a_larger_other_gradient_is_a_swap(self) -> None:
        other = RNG.standard_normal((4, 3))
        a = other * (1 - FIT * (1 - FIT / 2))  # ‖a − o‖ just under FIT·‖o‖, over FIT·‖a‖
        d = diagnose(a, TRUE, {"b": other})
        assert (d.kind, d.text) == ("swapped", "this is the gradient of 'b': swapped?")

    def test_just_outside_is_no_swap(self) -> None:
        other = RNG.standard_normal((4, 3))
        a = other * (1 - FIT * (1 + FIT))
        assert diagnose(a, TRUE, {"b": other}).kind == "scattered"


class TestFactorWhereTheDotProductsOverflow:
    """At 1e200 the least-squares factor's dot products overflow; the factor is then
    found from the gradients scaled by their norm, with no warning."""

    @pytest.mark.parametrize(("factor", "kind"), [(2.0, "factor"), (-1.0, "sign"), (-3.0, "sign")])
    def test_factor_at_1e200(self, factor: float, kind: str) -> None:
        big = 1e200 * TRUE
        d = diagnose(factor * big, big)
        assert d.kind == kind and d.factor == pytest.approx(factor, rel=1e-12)


class TestTransposeFitsTheJudgedEntries:
    """core22 brief (suspected defect): the transpose checks index ``a.T`` and ``n`` with
    the same, untransposed mask. That is right: the mask marks the entries whose
    *numerical* value could be judged (at a kink or unresolved, ``n`` there is no
    derivative), and ``a.T[i, j]`` is an analytic value, known everywhere; a transposed
    mask would fit the kinks' numbers and miss the pattern."""

    @staticmethod
    def _kinked(true: np.ndarray, where: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        n, status = true.copy(), np.full(true.shape, "wrong", dtype=object)
        for i, j in where:  # the averaged slopes across a kink: no derivative
            n[i, j], status[i, j] = 7.5 + i - j, "nonsmooth"
        return n, status

    @pytest.mark.parametrize("bad", ["nonsmooth", "uncertain"])
    def test_a_square_transpose_with_unjudged_entries(self, bad: str) -> None:
        true = RNG.standard_normal((4, 4))
        n, status = self._kinked(true, [(0, 1), (2, 3), (3, 0)])
        status[status == "nonsmooth"] = bad
        d = diagnose(true.T, n, status=status, name="W")
        assert (d.kind, d.text) == ("transpose", "the gradient is the transpose of the right one")

    def test_a_reshaped_transpose_with_unjudged_entries(self) -> None:
        true = RNG.standard_normal((3, 5))
        n, status = self._kinked(true, [(0, 4), (1, 0), (2, 2)])
        d = diagnose(true.T.reshape(true.shape), n, status=status, name="W")
        assert d.text == "the gradient is transposed (reshaped from its .T)"

    def test_a_transposed_mask_would_not_fit(self) -> None:
        # the same case with the mask transposed fits the kinks' numbers: no transpose
        true = RNG.standard_normal((4, 4))
        n, status = self._kinked(true, [(0, 1), (2, 3), (3, 0)])
        assert diagnose(true.T, n, status=status.T).kind != "transpose"

    def test_a_complex_transpose_with_unjudged_entries(self) -> None:
        true = RNG.standard_normal((3, 3, 2))  # a complex 3×3 as real views
        n = true.copy()
        status = np.full(true.shape, "wrong", dtype=object)
        n[0, 2], status[0, 2] = (9.0, -9.0), "nonsmooth"
        d = diagnose(true.transpose(1, 0, 2), n, status=status, pair=True)
        assert d.kind == "transpose"


class TestAFactorBeyondFloat64:
    """A factor past float64's range (1e154 against 1e-155: c = 1e309) overflows the
    least-squares quotient; with the wrong sign it is still named, with no warning."""

    @pytest.mark.parametrize("size", [100, 400])
    def test_the_wrong_sign_is_named(self, size: int) -> None:
        numeric = np.full(size, 1e-155)
        d = diagnose(np.full(size, -1e154), numeric)
        assert d.kind == "sign" and d.factor is not None and d.factor < -1e308


class TestAHugeFactorIsWordedNotCounted:
    """A gradient 1e309 times too large (the factor overflows to inf) or 3e6 times
    too large is diagnosed as a factor in readable words, never rounded to an integer:
    ``round(inf)`` raised OverflowError and a 1e305 factor printed 300 digits."""

    @pytest.mark.parametrize(("claimed", "true"), [(1e154, 1e-155), (1e150, 1e-155), (3e6, 1.0)])
    def test_factor_words(self, claimed: float, true: float) -> None:
        d = diagnose(np.full(100, claimed), np.full(100, true))
        assert d.kind == "factor"
        assert "constant factor" in d.text and len(d.text) < 80

    def test_through_check(self) -> None:
        import gradcheck

        x = np.linspace(0.5, 1.5, 100)
        report = gradcheck.check(
            lambda p: 1e-155 * float(np.sum(p)), x, lambda p: np.full_like(p, 1e154)
        )
        assert report.status == "failed"
        assert "the gradient is off by a constant factor" in str(report)

    @pytest.mark.parametrize(("factor", "words"), [(3.0, "×3 —"), (1 / 4, "×1/4 (0.25)")])
    def test_small_integers_still_named(self, factor: float, words: str) -> None:
        d = diagnose(factor * np.full(10, 1.5), np.full(10, 1.5))
        assert words in d.text


class TestScaled:
    """One sign/factor text for the entrywise and the directional diagnoses."""

    @pytest.mark.parametrize(
        ("c", "kind", "factor", "text"),
        [
            (-1.0, "sign", -1.0, "×−1 — the gradient has the wrong sign"),
            (-2.5, "sign", -2.5, "×-2.5 — wrong sign and off by a factor"),
            (2.0, "factor", 2.0, "×2 — the gradient is 2 times too large (a doubled term?)"),
            (0.25, "factor", 0.25, "×1/4 (0.25) — the gradient is 4 times too small"),
        ],
    )
    def test_words(self, c: float, kind: str, factor: float, text: str) -> None:
        d = scaled(c)
        assert (d.kind, d.factor) == (kind, factor)
        assert d.text.startswith(text)

    @pytest.mark.parametrize("c", [-1.0, -2.5, 3.0, 0.5])
    def test_diagnose_says_the_same(self, c: float) -> None:
        d = diagnose(c * TRUE, TRUE)
        assert d.text == scaled(d.factor).text and d.kind == scaled(c).kind
