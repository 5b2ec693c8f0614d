"""Complex parameters in ``gradcheck.check`` (``gradcheck._complex``, issue 14).

A real cost ``J`` of ``z = x + iy``: the default convention's gradient is
``∂J/∂x + i ∂J/∂y`` (torch's ``.grad``), ``complex_convention="plain"``'s is its
conjugate (``jax.grad``). Each cost below comes with its gradient in the default
convention, derived by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

import gradcheck
from gradcheck import GradcheckError, Report

Array = np.ndarray[Any, Any]
RNG = np.random.default_rng(14)
Z = np.array([0.7 - 0.4j, -1.2 + 0.9j, 0.3 + 1.1j, 2.0 - 0.5j])
W = np.array([0.5 - 1.5j, 1.0 + 0.25j, -0.75 + 0.5j, 0.2 - 0.3j])
A = RNG.normal(size=(3, 3)) + 1j * RNG.normal(size=(3, 3))
M = RNG.normal(size=(3, 3)) + 1j * RNG.normal(size=(3, 3))


def _abs2(z: Array) -> Any:
    return np.sum(np.abs(z) ** 2)


def _abs2_grad(z: Array) -> Array:
    return 2 * z


def _re_dot(z: Array) -> Any:
    """Re(Σ z·w̄) = Σ x·Re w + y·Im w."""
    return np.real(np.sum(z * np.conj(W[: z.size].astype(z.dtype))))


def _re_dot_grad(z: Array) -> Array:
    return W[: z.size].astype(z.dtype)


def _matrix(z: Array) -> Any:
    """‖A Z‖²_F of a complex matrix Z."""
    return np.sum(np.abs(A.astype(z.dtype) @ z) ** 2)


def _matrix_grad(z: Array) -> Array:
    a = A.astype(z.dtype)
    return 2 * a.conj().T @ (a @ z)


def _log_mod(z: Array) -> Any:
    """log|1 + z²| = Re log(1 + z²): the gradient of Re f is conj(f′)."""
    return np.sum(np.log(np.abs(1 + z**2)))


def _log_mod_grad(z: Array) -> Array:
    return np.conj(2 * z / (1 + z**2))


COSTS: dict[str, tuple[Callable[[Array], Any], Callable[[Array], Array], Array]] = {
    "|z|^2": (_abs2, _abs2_grad, Z),
    "Re(z conj(w))": (_re_dot, _re_dot_grad, Z),
    "||AZ||^2": (_matrix, _matrix_grad, M),
    "log|1+z^2|": (_log_mod, _log_mod_grad, Z),
}


def _in(convention: str, g: Array) -> Array:
    """A default-convention gradient written in ``convention``."""
    return g if convention == "conjugate" else np.conj(g)


class TestCorrectGradientsPass:
    @pytest.mark.parametrize("name", list(COSTS))
    @pytest.mark.parametrize("convention", ["conjugate", "plain"])
    @pytest.mark.parametrize("dtype", ["complex128", "complex64"])
    def test_passes(self, name: str, convention: str, dtype: str) -> None:
        cost, grad, z0 = COSTS[name]
        z = z0.astype(dtype)
        report = gradcheck.check(
            cost, z, lambda p: _in(convention, grad(p)), complex_convention=convention
        )
        assert report.passed, report
        p = report.parameters["x"]
        assert (p.dtype, p.shape, p.size, p.checked) == (dtype, z.shape, 2 * z.size, 2 * z.size)
        assert report.options["complex_convention"] == convention

    @pytest.mark.parametrize("name", list(COSTS))
    def test_array_gradient_passes(self, name: str) -> None:
        cost, grad, z0 = COSTS[name]
        assert gradcheck.check(cost, z0, grad(z0.copy())).passed

    @pytest.mark.parametrize("mode", ["full", "sample", "directional"])
    def test_every_mode_with_real_and_complex_leaves(self, mode: str) -> None:
        params = {"z": M.copy(), "b": np.array([0.5, -1.0, 2.0]), "w": [Z.copy()]}

        def cost(p: Any) -> float:
            return float(_matrix(p["z"]) + np.sum(p["b"] ** 2 * np.abs(p["w"][0][:3])))

        def grad(p: Any) -> Any:
            w = p["w"][0]
            gw = np.zeros_like(w)
            gw[:3] = p["b"] ** 2 * w[:3] / np.abs(w[:3])
            return {"z": _matrix_grad(p["z"]), "b": 2 * p["b"] * np.abs(w[:3]), "w": [gw]}

        report = gradcheck.check(
            cost, params, grad, mode=mode, sample=4 if mode == "sample" else None
        )
        assert report.passed, report
        assert report.mode == mode
        assert report.parameters["b"].dtype == "float64"
        assert report.parameters["w.0"].dtype == "complex128"

    def test_a_scalar_complex_parameter(self) -> None:
        z = np.complex128(1.5 - 0.5j)
        assert gradcheck.check(lambda p: float(abs(p) ** 2), z, 2 * z).passed

    @pytest.mark.parametrize("pool", [False, True])
    def test_batched_and_executor(self, pool: bool) -> None:
        def batched(stacked: Array) -> Array:
            return np.sum(np.abs(stacked) ** 2, axis=-1)

        if pool:
            with ThreadPoolExecutor(2) as ex:
                report = gradcheck.check(_abs2, Z, 2 * Z, executor=ex)
        else:
            report = gradcheck.check(_abs2, Z, 2 * Z, batched=batched)
        assert report.passed, report


class TestWrongGradientsFail:
    @pytest.mark.parametrize("name", list(COSTS))
    @pytest.mark.parametrize("mode", ["full", "directional"])
    def test_times_two(self, name: str, mode: str) -> None:
        cost, grad, z0 = COSTS[name]
        report = gradcheck.check(cost, z0, lambda p: 2 * grad(p), mode=mode)
        assert report.status == "failed"
        if mode == "full":
            d = report.parameters["x"].diagnosis
            assert d is not None and (d.kind, d.factor) == ("factor", pytest.approx(2.0, 1e-3))

    @pytest.mark.parametrize("name", ["Re(z conj(w))", "||AZ||^2", "log|1+z^2|"])
    @pytest.mark.parametrize("dtype", ["complex128", "complex64"])
    def test_missing_conj_is_named_conjugated(self, name: str, dtype: str) -> None:
        cost, grad, z0 = COSTS[name]
        report = gradcheck.check(cost, z0.astype(dtype), lambda p: np.conj(grad(p)))
        assert report.status == "failed"
        d = report.parameters["x"].diagnosis
        assert d is not None and d.kind == "conjugate"
        assert "conjugated?" in d.text and "conjugated?" in str(report)

    def test_only_imaginary_parts_are_wrong_and_named_by_part(self) -> None:
        report = gradcheck.check(_re_dot, Z, np.conj(W))
        wrong = [e.label() for e in report.worst if e.status == "wrong"]
        assert wrong and all(label.endswith("(imag)") for label in wrong)
        assert {e.part for e in report.worst} <= {"real", "imag"}

    @pytest.mark.parametrize(("given", "option"), [("conjugate", "plain"), ("plain", "conjugate")])
    def test_convention_mismatch_names_the_option(self, given: str, option: str) -> None:
        report = gradcheck.check(
            _log_mod, Z, lambda p: _in(given, _log_mod_grad(p)), complex_convention=option
        )
        assert report.status == "failed"
        d = report.parameters["x"].diagnosis
        assert d is not None and d.kind == "conjugate"
        assert "complex_convention" in d.text

    def test_conjugate_transpose_is_named(self) -> None:
        report = gradcheck.check(_matrix, M, lambda p: _matrix_grad(p).conj().T)
        d = report.parameters["x"].diagnosis
        assert report.status == "failed" and d is not None
        assert d.kind == "conjugate" and "conjugate transpose" in d.text

    def test_transpose_of_a_complex_matrix_is_named(self) -> None:
        report = gradcheck.check(_matrix, M, lambda p: _matrix_grad(p).T)
        d = report.parameters["x"].diagnosis
        assert d is not None and d.kind == "transpose"

    def test_one_wrong_entry_is_named_by_index_and_part(self) -> None:
        g = _matrix_grad(M.copy())
        g[1, 2] += 0.5j
        report = gradcheck.check(_matrix, M, g)
        d = report.parameters["x"].diagnosis
        assert d is not None and d.kind == "scattered" and "x[1, 2] (imag)" in d.text
        assert report.worst[0].label() == "x[1, 2] (imag)"

    def test_directional_pins_the_complex_entry(self) -> None:
        g = _matrix_grad(M.copy())
        g[2, 0] *= 1.5
        report = gradcheck.check(_matrix, M, g, mode="directional")
        assert report.status == "failed"
        assert "x[2, 0] (real)" in report.localisation["pinned"]

    def test_a_scalar_parameter_names_its_part(self) -> None:
        z = np.complex128(1.5 - 0.5j)
        report = gradcheck.check(lambda p: float(abs(p) ** 2), z, 2 * z + 1j)
        assert report.worst[0].label() == "x (imag)"


class TestFrameworkConventions:
    """The two conventions are the frameworks' own, by experiment."""

    def test_torch_grad_is_the_default_convention(self) -> None:
        torch = pytest.importorskip("torch")
        t = torch.tensor(M, requires_grad=True)
        a = torch.tensor(A)
        torch.sum(torch.abs(a @ t) ** 2).backward()
        g = t.grad.numpy()
        assert gradcheck.check(_matrix, M, g).passed
        report = gradcheck.check(_matrix, M, g, complex_convention="plain")
        assert report.parameters["x"].diagnosis.kind == "conjugate"  # type: ignore[union-attr]

    def test_jax_grad_is_the_plain_convention(self) -> None:
        jax = pytest.importorskip("jax")
        jnp = pytest.importorskip("jax.numpy")
        z = Z.astype(np.complex64)  # jax's default precision: no global x64 switch
        g = np.asarray(jax.grad(lambda z: jnp.sum(jnp.log(jnp.abs(1 + z**2))))(z))
        assert g.dtype == np.complex64
        assert gradcheck.check(_log_mod, z, g, complex_convention="plain").passed
        report = gradcheck.check(_log_mod, z, g)
        assert report.parameters["x"].diagnosis.kind == "conjugate"  # type: ignore[union-attr]


class TestUserDataUnchanged:
    def test_arrays_are_bit_identical(self) -> None:
        params = {"z": M.copy(), "x": np.array([1.0, 2.0]), "c": Z.astype(np.complex64)}
        before = {k: v.copy() for k, v in params.items()}
        g = {"z": _matrix_grad(M.copy()), "x": np.zeros(2), "c": np.zeros(4, np.complex64)}
        g_before = {k: v.copy() for k, v in g.items()}

        def cost(p: Any) -> float:
            return float(_matrix(p["z"]) + 0 * np.sum(p["x"]) + 0 * np.sum(np.abs(p["c"])))

        for mode in ("full", "directional"):
            gradcheck.check(cost, params, g, mode=mode)
        for k in params:
            assert params[k].dtype == before[k].dtype
            assert params[k].tobytes() == before[k].tobytes()
            assert g[k].tobytes() == g_before[k].tobytes()

    def test_unchanged_when_the_cost_raises(self) -> None:
        z = Z.copy()
        calls = iter(range(100))

        def cost(p: Array) -> float:
            if next(calls) == 5:
                raise ValueError("boom")
            return float(_abs2(p))

        with pytest.raises(GradcheckError, match="cost raised ValueError: boom"):
            gradcheck.check(cost, z, 2 * z)
        assert z.tobytes() == Z.tobytes()

    def test_the_gradient_function_sees_complex_parameters(self) -> None:
        seen: list[np.dtype[Any]] = []

        def grad(p: Array) -> Array:
            seen.append(p.dtype)
            return 2 * p

        assert gradcheck.check(_abs2, Z.astype(np.complex64), grad).passed
        assert seen and set(seen) <= {np.dtype(np.complex64), np.dtype(np.complex128)}


class TestReport:
    def test_json_round_trip_keeps_the_parts(self) -> None:
        report = gradcheck.check(_re_dot, Z, np.conj(W))
        again = Report.from_json(report.to_json())
        assert [e.label() for e in again.worst] == [e.label() for e in report.worst]
        data = json.loads(report.to_json())
        assert data["parameters"]["x"]["dtype"] == "complex128"
        assert data["worst"][0]["part"] in ("real", "imag")

    def test_errors_have_the_complex_shape(self) -> None:
        report = gradcheck.check(_matrix, M, _matrix_grad(M.copy()))
        errors = report.parameters["x"].errors
        assert errors is not None and errors.shape == M.shape and np.all(np.isfinite(errors))


class TestBadInput:
    def test_a_complex_cost_is_refused_with_the_remedy(self) -> None:
        with pytest.raises(GradcheckError, match=r"returned a complex value.*np.real.*abs"):
            gradcheck.check(lambda p: np.sum(p**2), Z, 2 * Z)

    def test_a_complex_batched_cost_is_refused(self) -> None:
        with pytest.raises(GradcheckError, match="batched cost returned a complex value"):
            gradcheck.check(_abs2, Z, 2 * Z, batched=lambda s: np.sum(s**2, axis=-1))

    def test_the_complex_step_is_refused_with_the_reason(self) -> None:
        with pytest.raises(GradcheckError, match=r"method='complex'.*'x'.*imaginary axis"):
            gradcheck.check(_abs2, Z, 2 * Z, method="complex")

    @pytest.mark.parametrize("bad", ["torch", "", None, 1])
    def test_a_bad_convention_is_named(self, bad: Any) -> None:
        with pytest.raises(GradcheckError, match="option complex_convention="):
            gradcheck.check(_abs2, Z, 2 * Z, complex_convention=bad)

    def test_a_bad_convention_is_named_for_real_parameters_too(self) -> None:
        with pytest.raises(GradcheckError, match="option complex_convention="):
            gradcheck.check(_abs2, Z.real, 2 * Z.real, complex_convention="jax")

    @pytest.mark.parametrize("bad", [np.nan, np.inf])
    def test_a_non_finite_complex_parameter_is_named(self, bad: float) -> None:
        z = {"w": Z.copy()}
        z["w"][2] = complex(1.0, bad)
        with pytest.raises(GradcheckError, match=r"'w' has a non-finite value at index \(2,\)"):
            gradcheck.check(lambda p: float(_abs2(p["w"])), z, {"w": 2 * Z})

    def test_a_misshapen_gradient_is_named(self) -> None:
        with pytest.raises(GradcheckError, match=r"gradient for 'w' has shape \(3,\)"):
            gradcheck.check(lambda p: float(_abs2(p["w"])), {"w": Z}, {"w": Z[:3]})

    def test_a_misshapen_gradient_function_is_named(self) -> None:
        with pytest.raises(GradcheckError, match=r"^gradient for 'w' has shape \(3,\)"):
            gradcheck.check(lambda p: float(_abs2(p["w"])), {"w": Z}, lambda p: {"w": Z[:3]})

    def test_a_non_numeric_gradient_is_named(self) -> None:
        with pytest.raises(GradcheckError, match="gradient for 'x' has unsupported dtype"):
            gradcheck.check(_abs2, Z, np.array(["a", "b", "c", "d"]))

    def test_check_jacobian_takes_complex_parameters(self) -> None:
        # tests/test_jac_complex.py checks them in depth
        assert gradcheck.check_jacobian(lambda p: p * 2, Z, np.eye(4) * 2).passed
        assert gradcheck.check_jacobian(lambda p: p * 2, Z, np.eye(4) * 3).status == "failed"
