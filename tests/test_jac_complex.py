"""``check_jacobian`` with complex parameters and outputs (issue 14), on real views."""

from __future__ import annotations

import doctest
import random
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pytest

import gradcheck
from gradcheck import GradcheckError, Report, check_jacobian
from gradcheck import _jac_complex as jc

Array = np.ndarray[Any, Any]

RNG = np.random.default_rng(7)
A = RNG.standard_normal((3, 2)) + 1j * RNG.standard_normal((3, 2))
S = RNG.standard_normal((2, 2)) + 1j * RNG.standard_normal((2, 2))  # square: transposes
Z = np.array([0.4 - 0.3j, -0.7 + 0.5j])
X = np.array([0.3, -1.1, 0.8])


def _lin(p: Array) -> Array:
    return A @ p


def _sq(p: Array) -> Array:
    return S @ p


def _ok(report: Report) -> None:
    assert report.status == "passed", (report.messages, report.failed_parameters)


# Holomorphic functions: their complex derivative f′ and the three forms (torch's vjp
# is w·conj(f′), jax's w·f′).
HOLOMORPHIC: dict[str, tuple[Callable[[Array], Array], Callable[[Array], Array]]] = {
    "A@z": (_lin, lambda p: A),
    "sin z": (np.sin, lambda p: np.diag(np.cos(p))),
    "z²": (lambda p: p**2, lambda p: np.diag(2 * p)),
}


class TestHolomorphic:
    @pytest.mark.parametrize("name", sorted(HOLOMORPHIC))
    def test_every_form_passes(self, name: str) -> None:
        f, d = HOLOMORPHIC[name]
        _ok(check_jacobian(f, Z, d))
        _ok(check_jacobian(f, Z, d(Z)))
        _ok(check_jacobian(f, Z, jvp=lambda p, v: d(p) @ v))
        _ok(check_jacobian(f, Z, vjp=lambda p, w: np.conj(d(p)).T @ w))
        _ok(check_jacobian(f, Z, vjp=lambda p, w: d(p).T @ w, complex_convention="plain"))
        both = check_jacobian(
            f, Z, d, jvp=lambda p, v: d(p) @ v, vjp=lambda p, w: np.conj(d(p)).T @ w
        )
        assert both.status == "passed"

    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_complex64_is_checked_as_float32_pairs(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        z = (rng.standard_normal(4) + 1j * rng.standard_normal(4)).astype(np.complex64)
        r = check_jacobian(lambda p: p**2, z, lambda p: np.diag(2 * p))
        _ok(r)
        wrong = check_jacobian(lambda p: p**2, z, lambda p: np.diag(2.02 * p))
        assert wrong.status == "failed"  # a 1% error is far above float32 round-off

    def test_pytree_params_and_outputs(self) -> None:
        params = {"z": Z.copy(), "x": X.copy()}

        def f(p: Any) -> Any:
            return {"c": p["z"] * p["x"][0], "r": np.sum(p["x"] ** 2)}

        def jvp(p: Any, t: Any) -> Any:
            c = t["z"] * p["x"][0] + p["z"] * t["x"][0]
            return {"c": c, "r": np.sum(2 * p["x"] * t["x"])}

        def vjp(p: Any, w: Any) -> Any:  # torch: the adjoint for Re Σ conj(w)·f
            gx = np.zeros(3, dtype=complex)
            gx[0] = np.sum(w["c"] * np.conj(p["z"]))
            gx += 2 * p["x"] * w["r"]
            return {"z": w["c"] * p["x"][0], "x": gx}  # x: the real part is taken

        _ok(check_jacobian(f, params, jvp=jvp, vjp=vjp))


class TestNotHolomorphic:
    """conj z, |z|², Re z · z: no complex derivative, but jvp and vjp describe them."""

    CASES: ClassVar[dict[str, tuple[Any, Any, Any]]] = {
        "conj z": (np.conj, lambda p, v: np.conj(v), lambda p, w: np.conj(w)),
        "|z|²": (
            lambda p: (np.abs(p) ** 2).astype(complex),
            lambda p, v: 2 * np.real(np.conj(p) * v) + 0j,
            lambda p, w: 2 * p * np.real(w),
        ),
        "Re z · z": (
            lambda p: np.real(p) * p,
            lambda p, v: np.real(v) * p + np.real(p) * v,
            # L = Re Σ conj(w)(x·z): ∂L/∂x = Re(conj(w)(z + x)), ∂L/∂y = Re(conj(w)·i·x)
            lambda p, w: (
                np.real(np.conj(w) * (p + np.real(p))) + 1j * np.real(np.conj(w) * 1j * np.real(p))
            ),
        ),
    }

    @pytest.mark.parametrize("name", sorted(CASES))
    def test_jvp_and_vjp_pass(self, name: str) -> None:
        f, jvp, vjp = self.CASES[name]
        _ok(check_jacobian(f, Z, jvp=jvp))
        _ok(check_jacobian(f, Z, vjp=vjp))
        _ok(check_jacobian(f, Z, jvp=jvp, vjp=vjp))

    @pytest.mark.parametrize("name", sorted(CASES))
    def test_the_plain_convention_is_the_conjugate_of_the_vjp(self, name: str) -> None:
        f, _, vjp = self.CASES[name]
        # jax's vjp(w) is the conjugate of torch's vjp(conj w) (both give one real L)
        plain = lambda p, w: np.conj(vjp(p, np.conj(w)))  # noqa: E731
        _ok(check_jacobian(f, Z, vjp=plain, complex_convention="plain"))
        w = np.array([0.3 - 1.2j, 0.8 + 0.1j])
        same = np.allclose(plain(Z, w), vjp(Z, w))  # conj z: its own conjugate map
        assert (name == "conj z") == same
        assert check_jacobian(f, Z, vjp=plain).status == ("passed" if same else "failed")


class TestJacobianOfNotHolomorphic:
    """A complex jacobian= cannot describe conj z, |z|², Re z · z: the check fails and
    says why, whatever matrix is given (here each function's ∂f/∂z)."""

    CASES: ClassVar[dict[str, tuple[Any, Any]]] = {
        "conj z": (np.conj, lambda p: np.zeros((2, 2))),
        "|z|²": (lambda p: np.abs(p) ** 2 + 0j, lambda p: np.diag(np.conj(p))),
        "Re z · z": (lambda p: np.real(p) * p, lambda p: np.diag(np.real(p) + p / 2)),
    }

    @pytest.mark.parametrize("name", sorted(CASES))
    def test_named_not_holomorphic(self, name: str) -> None:
        f, d = self.CASES[name]
        r = check_jacobian(f, Z, d)
        assert r.status == "failed"
        diagnosis = r.parameters["out / x"].diagnosis
        assert diagnosis is not None and diagnosis.kind == "not_holomorphic"
        assert "not holomorphic" in diagnosis.text and "jvp=" in diagnosis.text
        assert any("Cauchy–Riemann" in m for m in r.messages)

    @pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
    def test_a_real_valued_output_in_complex_dtype(self, dtype: Any) -> None:
        # |z|² in a complex dtype: its imaginary part never moves, and in complex64
        # the entrywise check leaves those rows unresolved; the ∂f/∂z̄ part decides
        z = Z.astype(dtype)
        f = lambda p: (np.abs(p) ** 2).astype(dtype)  # noqa: E731
        r = check_jacobian(f, z, lambda p: np.diag(2 * np.conj(p)))
        assert _kind(r)[0] == "not_holomorphic"

    def test_several_forms_name_the_jacobian_block(self) -> None:
        r = check_jacobian(np.conj, Z, np.eye(2), jvp=lambda p, v: np.conj(v))
        # the jvp is right: its block passes, and it disagrees with the jacobian
        assert r.failed_parameters == ["jacobian: out / x", "consistency: jacobian vs jvp"]
        assert r.parameters["jacobian: out / x"].diagnosis.kind == "not_holomorphic"  # type: ignore[union-attr]

    @pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
    def test_a_wrong_holomorphic_jacobian_is_not_called_so(self, scale: float) -> None:
        z = Z * scale
        r = check_jacobian(lambda p: p**2, z, lambda p: np.diag(2.5 * p))
        d = r.parameters["out / x"].diagnosis
        assert r.status == "failed" and d is not None and d.kind == "factor"
        assert not any("holomorphic" in m for m in r.messages)

    def test_the_measurement_is_counted(self) -> None:
        calls = []

        def f(p: Array) -> Array:
            calls.append(1)
            return np.conj(p)

        r = check_jacobian(f, Z, np.eye(2))
        assert r.evaluations == len(calls)


class TestRealToComplex:
    """exp(i x): real parameters, complex outputs; the Jacobian is i·exp(i x)."""

    def test_every_form_passes(self) -> None:
        f = lambda p: np.exp(1j * p)  # noqa: E731
        d = lambda p: np.diag(1j * np.exp(1j * p))  # noqa: E731
        _ok(check_jacobian(f, X, d))
        _ok(check_jacobian(f, X, jvp=lambda p, v: 1j * np.exp(1j * p) * v))
        # torch: a real input's gradient is Re(w·conj(f′)); the vjp may return it complex
        _ok(check_jacobian(f, X, vjp=lambda p, w: w * np.conj(1j * np.exp(1j * p))))
        _ok(
            check_jacobian(
                f, X, vjp=lambda p, w: w * 1j * np.exp(1j * p), complex_convention="plain"
            )
        )

    def test_a_dropped_imaginary_part_fails(self) -> None:
        real_part = lambda p: np.diag(np.real(1j * np.exp(1j * p))) + 0j  # noqa: E731
        r = check_jacobian(lambda p: np.exp(1j * p), X, real_part)
        assert r.status == "failed"
        assert all(e.parameter.startswith("out[") for e in r.worst)
        assert "(imag)" in r.worst[0].parameter


class TestNames:
    def test_entries_are_named_by_index_and_part(self) -> None:
        wrong = A.copy()
        wrong[2, 0] += 0.5j
        r = check_jacobian(_lin, Z, wrong)
        assert r.status == "failed"
        labels = {e.label() for e in r.worst if e.status == "wrong"}
        assert labels == {"out[2] (real) / x[0] (imag)", "out[2] (imag) / x[0] (real)"}
        p = r.parameters["out / x"]
        assert p.shape == (3, 2)
        assert p.errors is not None and p.errors.shape == (3, 2)
        assert np.argmax(p.errors) == np.ravel_multi_index((2, 0), (3, 2))
        assert p.size == 24  # real components: 3·2 complex entries, each 2 × 2
        assert r.options["complex_convention"] == "conjugate"

    def test_a_scalar_output_is_named_by_part(self) -> None:
        r = check_jacobian(lambda p: np.sum(p**2), Z, lambda p: 2.5 * p)
        assert r.status == "failed"
        assert r.worst[0].label().startswith(("out (real) / x[", "out (imag) / x["))

    def test_evaluations_count_the_first_one(self) -> None:
        calls = []

        def f(p: Array) -> Array:
            calls.append(1)
            return p**2

        r = check_jacobian(f, Z, lambda p: np.diag(2 * p))
        assert r.evaluations == len(calls)
        calls.clear()
        r = check_jacobian(lambda p: f(p) + 0j, Z.real.copy(), lambda p: np.diag(2 * p) + 0j)
        assert r.evaluations == len(calls)


def _kind(report: Report, block: str = "out / x") -> tuple[str, str]:
    d = report.parameters[block].diagnosis
    assert report.status == "failed" and d is not None, report.messages
    return d.kind, d.text


class TestPlantedBugs:
    """Each classic complex bug, planted in each form, is named."""

    def test_a_missing_conj(self) -> None:
        forms: dict[str, dict[str, Any]] = {
            "jacobian": {"jacobian": np.conj(S)},
            "jvp": {"jvp": lambda p, v: np.conj(S) @ v},
            "vjp": {"vjp": lambda p, w: S.T @ w},  # torch wants S.H @ w
            "vjp plain": {"vjp": lambda p, w: np.conj(S).T @ w, "complex_convention": "plain"},
        }
        for name, form in forms.items():
            kind, text = _kind(check_jacobian(_sq, Z, **form))
            assert kind == "conjugate" and text.startswith("conjugated?"), name
            assert "complex_convention" in text

    def test_real_to_complex_missing_conj(self) -> None:
        f = lambda p: np.exp(1j * p)  # noqa: E731
        right = lambda p: 1j * np.exp(1j * p)  # noqa: E731
        assert _kind(check_jacobian(f, X, lambda p: np.diag(np.conj(right(p)))))[0] == "conjugate"
        vjp = lambda p, w: w * right(p)  # noqa: E731
        assert _kind(check_jacobian(f, X, vjp=vjp))[0] == "conjugate"

    def test_transposed_and_conjugate_transposed(self) -> None:
        kind, text = _kind(check_jacobian(_sq, Z, S.T))
        assert kind == "transpose" and "Jᵀ" in text
        kind, text = _kind(check_jacobian(_sq, Z, np.conj(S).T))
        assert kind == "conjugate" and ".H" in text
        kind, text = _kind(check_jacobian(_sq, Z, vjp=lambda p, w: S @ w))  # .T forgotten
        assert kind == "conjugate" and ".H" in text

    @pytest.mark.parametrize("c", [2.0, 1j, -1.0])
    def test_one_wrong_entry_is_named_once(self, c: complex) -> None:
        wrong = S.copy()
        wrong[1, 0] *= c
        kind, text = _kind(check_jacobian(_sq, Z, wrong))
        assert kind == "scattered"
        want = {2.0: "×2 ", 1j: "×1i ", -1.0: "×-1 "}[c]
        assert text == f"one complex entry is wrong: out[1] / x[0], {want}the right value"

    def test_sign_and_factor_read_as_on_real_views(self) -> None:
        assert _kind(check_jacobian(_sq, Z, -S))[0] == "sign"
        kind, text = _kind(check_jacobian(_sq, Z, jvp=lambda p, v: 2 * S @ v))
        assert kind == "factor" and "×2" in text

    def test_a_right_complex_factor_is_no_pattern_of_its_own(self) -> None:
        # i·J is neither conj, transpose nor .H: the entries are named
        kind, _ = _kind(check_jacobian(_sq, Z, 1j * S))
        assert kind not in ("conjugate", "transpose")


class TestDirectional:
    N = 5000

    def _z(self) -> Array:
        rng = np.random.default_rng(3)
        return rng.standard_normal(self.N) + 1j * rng.standard_normal(self.N)

    def test_right_forms_pass(self) -> None:
        z = self._z()
        r = check_jacobian(
            lambda p: p**2,
            z,
            vjp=lambda p, w: w * np.conj(2 * p),
            jvp=lambda p, v: 2 * p * v,
        )
        assert r.mode == "directional"
        _ok(r)
        assert r.parameters["vjp: uᵀout / x"].shape == (self.N,)

    def test_a_wrong_output_is_found_and_named_by_part(self) -> None:
        z = self._z()

        def vjp(p: Array, w: Array) -> Array:
            g = w * np.conj(2 * p)
            g[1234] *= 2
            return g

        r = check_jacobian(lambda p: p**2, z, vjp=vjp)
        assert r.status == "failed"
        assert any("out[1234] (real)" in m for m in r.messages), r.messages

    def test_a_wrong_jvp_output_is_named_by_part(self) -> None:
        z = self._z()

        def jvp(p: Array, v: Array) -> Array:
            t = 2 * p * v
            t[777] = np.conj(t[777])
            return t

        r = check_jacobian(lambda p: p**2, z, jvp=jvp)
        assert r.status == "failed"
        labels = {e.label() for e in r.worst if e.status == "wrong"}
        assert labels == {"out[777] (imag)"}, labels

    def test_non_holomorphic_jvp_passes(self) -> None:
        z = self._z()
        _ok(check_jacobian(np.conj, z, jvp=lambda p, v: np.conj(v), mode="directional"))


class TestFrameworkConventions:
    """What torch and jax return for a complex-valued f, by experiment: torch.func.vjp
    is the "conjugate" convention, jax.vjp the "plain" one; both jvps are the R-linear
    map. f mixes holomorphic and non-holomorphic outputs."""

    @staticmethod
    def _f(lib: Any, z: Any) -> Any:
        return lib.stack([z[0] * z[1], lib.sin(z[0]) + lib.conj(z[1]) * z[0], z[0] * lib.abs(z[1])])

    def test_torch(self) -> None:
        torch = pytest.importorskip("torch")

        def f(p: Array) -> Array:
            return self._f(torch, torch.from_numpy(p)).numpy()

        def vjp(p: Array, w: Array) -> Any:
            _, pull = torch.func.vjp(lambda t: self._f(torch, t), torch.from_numpy(p))
            return pull(torch.from_numpy(w))[0]

        def jvp(p: Array, v: Array) -> Any:
            fn = lambda t: self._f(torch, t)  # noqa: E731
            with warnings.catch_warnings():
                # torch's first forward-AD call loads its JVP decompositions through the
                # deprecated torch.jit.script: torch's own warning, not this code's.
                warnings.simplefilter("ignore", DeprecationWarning)
                return torch.func.jvp(fn, (torch.from_numpy(p),), (torch.from_numpy(v),))[1]

        _ok(check_jacobian(f, Z, vjp=vjp, jvp=jvp))
        assert check_jacobian(f, Z, vjp=vjp, complex_convention="plain").status == "failed"

    def test_jax(self) -> None:
        jax = pytest.importorskip("jax")
        jnp = pytest.importorskip("jax.numpy")
        with jax.enable_x64(True):

            def f(p: Array) -> Array:
                return np.asarray(self._f(jnp, jnp.asarray(p)))

            def vjp(p: Array, w: Array) -> Any:
                _, pull = jax.vjp(lambda t: self._f(jnp, t), jnp.asarray(p))
                return np.asarray(pull(jnp.asarray(w))[0])

            def jvp(p: Array, v: Array) -> Any:
                fn = lambda t: self._f(jnp, t)  # noqa: E731
                return np.asarray(jax.jvp(fn, (jnp.asarray(p),), (jnp.asarray(v),))[1])

            assert f(Z).dtype == np.complex128
            _ok(check_jacobian(f, Z, vjp=vjp, jvp=jvp, complex_convention="plain"))
            assert check_jacobian(f, Z, vjp=vjp).status == "failed"

    def test_jax_jacfwd_holomorphic_is_the_complex_jacobian(self) -> None:
        jax = pytest.importorskip("jax")
        jnp = pytest.importorskip("jax.numpy")
        with jax.enable_x64(True):
            g = lambda t: jnp.stack([t[0] * t[1], jnp.sin(t[0]) * t[1] ** 2])  # noqa: E731
            jac = lambda p: np.asarray(jax.jacfwd(g, holomorphic=True)(jnp.asarray(p)))  # noqa: E731
            _ok(check_jacobian(lambda p: np.asarray(g(jnp.asarray(p))), Z, jac))

    def test_torch_and_jax_vjps_are_conjugates(self) -> None:
        torch = pytest.importorskip("torch")
        jax = pytest.importorskip("jax")
        jnp = pytest.importorskip("jax.numpy")
        w = np.array([0.3 + 1j, -0.2 - 0.5j, 1.1 + 0.1j])
        _, pull = torch.func.vjp(lambda t: self._f(torch, t), torch.from_numpy(Z))
        t = pull(torch.from_numpy(w))[0].numpy()
        with jax.enable_x64(True):
            _, jpull = jax.vjp(lambda t: self._f(jnp, t), jnp.asarray(Z))
            j = np.asarray(jpull(jnp.asarray(np.conj(w)))[0])
        np.testing.assert_allclose(t, np.conj(j), rtol=1e-12)


class TestBadInput:
    def test_the_complex_step_is_refused_with_its_reason(self) -> None:
        for params, f in ((Z, _lin), (X, lambda p: np.exp(1j * p))):
            with pytest.raises(GradcheckError, match="imaginary axis"):
                check_jacobian(f, params, jvp=lambda p, v: v, method="complex")

    def test_a_bad_convention_is_named(self) -> None:
        with pytest.raises(GradcheckError, match="complex_convention='torch'"):
            check_jacobian(_lin, Z, A, complex_convention="torch")

    def test_a_real_output_of_a_complex_parameter_has_no_complex_jacobian(self) -> None:
        with pytest.raises(GradcheckError, match=r"no complex derivative.*vjp="):
            check_jacobian(lambda p: np.abs(p) ** 2, Z, np.diag(2 * np.conj(Z)))

    def test_a_complex_jacobian_of_a_real_block_is_refused(self) -> None:
        def f(p: Array) -> Any:
            return {"c": np.exp(1j * p), "r": p**2}

        jac = {"c": np.diag(1j * np.exp(1j * X)), "r": np.diag(2 * X) + 1j}
        with pytest.raises(GradcheckError, match="output 'r' and parameter 'x', which are both"):
            check_jacobian(f, X, jac)

    def test_a_complex_tangent_of_a_real_output_is_refused(self) -> None:
        with pytest.raises(GradcheckError, match=r"jvp.*complex values for 'out'.*real"):
            check_jacobian(lambda p: np.abs(p), Z, jvp=lambda p, v: v)

    def test_a_wrong_shape_is_named_in_complex_shapes(self) -> None:
        with pytest.raises(GradcheckError, match=r"jvp.*shape \(2,\).*'out' has shape \(3,\)"):
            check_jacobian(_lin, Z, jvp=lambda p, v: v)
        with pytest.raises(GradcheckError, match=r"jacobian has shape \(2, 3\).*\(3, 2\)"):
            check_jacobian(_lin, Z, A.T)

    def test_an_output_that_turns_complex_is_refused(self) -> None:
        def f(p: Array) -> Array:
            return np.abs(p) if np.array_equal(p, Z) else np.abs(p) + 0j

        with pytest.raises(GradcheckError, match="give an output one dtype"):
            check_jacobian(f, Z, jvp=lambda p, v: np.real(np.conj(p) * v) / np.abs(p))

    def test_a_non_finite_complex_parameter_is_named(self) -> None:
        with pytest.raises(
            GradcheckError, match=r"parameter 'x' has a non-finite value at index \(1,\)"
        ):
            check_jacobian(_lin, np.array([1j, np.nan]), A)


class TestUserDataUnchanged:
    def test_arrays_and_rng_are_bit_identical(self) -> None:
        z, jac = Z.copy(), A.copy()
        np.random.seed(5)
        random.seed(5)
        before = (np.random.get_state()[1].tobytes(), random.getstate())

        def f(p: Array) -> Array:
            p *= 1.0  # a cost that writes into its argument sees a private copy
            return A @ p + 0 * np.random.standard_normal()

        for mode in ("full", "directional"):
            check_jacobian(f, z, jac, vjp=lambda p, w: np.conj(A).T @ w, mode=mode)
        assert z.tobytes() == Z.tobytes() and jac.tobytes() == A.tobytes()
        assert (np.random.get_state()[1].tobytes(), random.getstate()) == before


def test_module_examples() -> None:
    for module in (jc, gradcheck._jac_realviews):
        assert doctest.testmod(module).failed == 0


def test_a_complex_torch_tensor_is_sent_to_the_adapter() -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(GradcheckError, match="torch"):
        check_jacobian(lambda p: p * 2, torch.tensor(Z), np.eye(2) * 2)
