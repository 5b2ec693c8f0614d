"""Complex numbers in the torch and JAX adapters (``gradcheck._adapter_complex``, issue 14).

Each adapter checks what its framework computes, in its own convention: torch's autograd
the conjugate gradient ``∂L/∂x + i ∂L/∂y``, ``jax.vjp`` its conjugate. A complex output is
folded with a complex cotangent, so both of its parts are checked (F28: it was cast to
real, and a backward or jvp ignoring the imaginary part passed). Planted bugs must fail
and be named; the classic one, a missing ``conj``, as "conjugated?".
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import gradcheck
import gradcheck.jax as gj
import gradcheck.torch as gt
from gradcheck import GradcheckError
from gradcheck._adapter_complex import RealViews, cotangent, real_dtype, widen

MODES = [("rev",), ("fwd",), ("rev", "fwd")]
C = np.array([2.0 - 1.0j, 0.5 + 3.0j, -1.5 + 0.25j])
Z = np.array([1.0 + 2.0j, 0.5 - 1.0j, -0.3 + 0.7j])


def _diagnosis(report: gradcheck.Report, name: str) -> str:
    d = report.parameters[name].diagnosis
    assert d is not None, report
    return d.kind


# ---- torch Functions: a complex output of a real input (F28) -----------------------------


class _ImagIgnored(torch.autograd.Function):
    """forward a·(1+i); backward and jvp drop the imaginary output (planted, F28)."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor) -> torch.Tensor:
        return a * (1 + 1j)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        return g.real  # right: g.real + g.imag

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor) -> torch.Tensor:
        return t * (1 + 0j)  # right: t * (1 + 1j)


class _ImagRight(torch.autograd.Function):
    """forward a·(1+i), with the right backward and jvp."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor) -> torch.Tensor:
        return a * (1 + 1j)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        return g.real + g.imag

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor) -> torch.Tensor:
        return t * (1 + 1j)


# ---- torch Functions of complex inputs ----------------------------------------------------


class _Scale(torch.autograd.Function):
    """y = c·z for a complex constant c: backward conj(c)·g (torch), jvp c·t."""

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(c)
        ctx.save_for_forward(c)
        return c * z

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None]:
        (c,) = ctx.saved_tensors
        return c.conj() * g, None

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor, _: Any) -> torch.Tensor:
        return ctx.saved_tensors[0] * t


class _Abs2(torch.autograd.Function):
    """|z|² (a real output): the gradient is 2z in torch's convention."""

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(z)
        ctx.save_for_forward(z)
        return (z * z.conj()).real.clone()

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (z,) = ctx.saved_tensors
        return 2 * g * z

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor) -> torch.Tensor:
        (z,) = ctx.saved_tensors
        return 2 * (z.conj() * t).real.clone()


class _Abs2NoConj(_Abs2):
    """|z|² whose backward and jvp miss a conj (planted: "conjugated?")."""

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (z,) = ctx.saved_tensors
        return 2 * g * z.conj()

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor) -> torch.Tensor:
        (z,) = ctx.saved_tensors
        return 2 * (z * t).real.clone()  # planted: z where conj(z)


class _Abs2ByJax(_Abs2):
    """|z|² whose backward is JAX's gradient (the other convention: "conjugated?")."""

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (z,) = ctx.saved_tensors
        fn = lambda q: jnp.sum(jnp.abs(q) ** 2 * jnp.asarray(g.numpy()))  # noqa: E731
        with jax.enable_x64(True):
            return torch.from_numpy(np.array(jax.grad(fn)(jnp.asarray(z.numpy()))))


def _complex(dtype: torch.dtype = torch.complex128, values: Any = Z) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype, requires_grad=True)


class TestTorchComplexOutput:
    """F28: a complex output is checked through both parts, never cast to real."""

    @pytest.mark.parametrize("modes", MODES)
    @pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
    def test_an_ignored_imaginary_part_fails(self, modes: Any, dtype: torch.dtype) -> None:
        x = torch.randn(5, dtype=dtype, generator=torch.Generator().manual_seed(1))
        report = gt.check_function(_ImagIgnored.apply, x.requires_grad_(), modes=modes)
        assert report.status == "failed"
        name = "fwd/input0" if modes == ("fwd",) else "input0"
        assert report.parameters[name].status == "failed"
        assert not torch.autograd.gradcheck(
            _ImagIgnored.apply, (x.double(),), raise_exception=False
        )

    @pytest.mark.parametrize("modes", MODES)
    @pytest.mark.parametrize("shape", [(5,), (2, 3)])
    def test_the_right_rules_pass(self, modes: Any, shape: tuple[int, ...]) -> None:
        x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
        assert gt.check_function(_ImagRight.apply, x, modes=modes).passed

    def test_the_first_check_of_a_process_does_not_warn(self) -> None:
        # m05: torch warned "Casting complex values to real discards the imaginary
        # part" (an error under -W error) on the first complex output of a process
        x = torch.randn(4, dtype=torch.float64, requires_grad=True)
        for modes in (("rev",), None):
            assert gt.check_function(lambda a: a * (1 + 1j), x, modes=modes).passed

    def test_a_factor_on_the_complex_output_is_named(self) -> None:
        class Times5(_ImagRight):
            @staticmethod
            def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
                return 5 * (g.real + g.imag)

        x = torch.randn(4, dtype=torch.float64, requires_grad=True)
        report = gt.check_function(Times5.apply, x, modes=("rev",))
        assert _diagnosis(report, "input0") == "factor"
        assert report.parameters["input0"].diagnosis.factor == pytest.approx(5.0)  # type: ignore[union-attr]

    def test_a_real_and_a_complex_output(self) -> None:
        x = torch.randn(3, dtype=torch.float64, requires_grad=True)
        report = gt.check_function(lambda a: (a.sin(), _ImagIgnored.apply(a)), x, modes=("rev",))
        assert report.parameters["out[0]/input0"].status == "passed"
        assert report.parameters["out[1]/input0"].status == "failed"


class TestTorchComplexInputs:
    """Complex inputs: torch's conjugate gradient, checked on the real views."""

    @pytest.mark.parametrize("modes", MODES)
    def test_a_correct_complex128_function_passes(self, modes: Any) -> None:
        c = torch.tensor(C)
        report = gt.check_function(_Scale.apply, _complex(), c, modes=modes)
        assert report.passed, report
        assert report.parameters[f"{'fwd/' if modes == ('fwd',) else ''}input0"].dtype == (
            "complex128"
        )
        assert report.options["complex_convention"] == "conjugate"
        assert torch.autograd.gradcheck(_Scale.apply, (_complex(), c), check_forward_ad=True)

    @pytest.mark.parametrize("modes", MODES)
    def test_a_missing_conj_is_named(self, modes: Any) -> None:
        report = gt.check_function(_Abs2NoConj.apply, _complex(), modes=modes)
        assert report.status == "failed"
        for mode in modes:
            name = "fwd/input0" if mode == "fwd" else "input0"
            assert _diagnosis(report, name) == "conjugate"
            text = report.parameters[name].diagnosis.text  # type: ignore[union-attr]
            assert text.startswith("conjugated?") and "torch's autograd expects" in text
            assert "option complex_convention" not in text  # not the user's to choose

    def test_a_backward_in_jax_convention_is_named(self) -> None:
        report = gt.check_function(_Abs2ByJax.apply, _complex(), modes=("rev",))
        assert _diagnosis(report, "input0") == "conjugate"

    def test_a_missing_conj_in_a_holomorphic_backward_fails(self) -> None:
        class NoConj(_Scale):
            @staticmethod
            def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None]:
                return ctx.saved_tensors[0] * g, None  # planted: c where conj(c)

        report = gt.check_function(NoConj.apply, _complex(), torch.tensor(C), modes=("rev",))
        assert report.parameters["input0"].status == "failed"

    @pytest.mark.parametrize("precision", ["float64", "model"])
    def test_complex64(self, precision: str) -> None:
        z = _complex(torch.complex64)
        report = gt.check_function(lambda q: torch.sin(q) * q, z, precision=precision)
        assert report.passed, report
        bad = gt.check_function(_Abs2NoConj.apply, z, precision=precision, modes=("rev",))
        assert _diagnosis(bad, "input0") == "conjugate"

    def test_real_and_complex_inputs_together(self) -> None:
        x = torch.randn(3, dtype=torch.float64, requires_grad=True)
        report = gt.check_function(lambda a, q: a * torch.exp(q), x, _complex())
        assert report.passed
        assert report.parameters["input0"].dtype == "float64"
        assert report.parameters["input1"].dtype == "complex128"

    def test_the_inputs_are_unchanged(self) -> None:
        z = _complex()
        before = (z.detach().clone(), z.requires_grad, z.grad)
        gt.check_function(_Abs2NoConj.apply, z)
        assert torch.equal(z.detach(), before[0]) and z.requires_grad and z.grad is None

    def test_the_other_convention_is_refused(self) -> None:
        with pytest.raises(GradcheckError, match=r"complex_convention='plain'.*torch"):
            gt.check_function(_Abs2.apply, _complex(), complex_convention="plain")

    def test_an_integer_input_is_held_fixed(self) -> None:
        x = torch.ones(3, dtype=torch.float64).requires_grad_()
        report = gt.check_function(lambda a, n: a * n, x, torch.arange(3))
        assert report.passed and list(report.parameters) == [
            "input0",
            "fwd/input0",
            "consistency: jvp vs vjp",
        ]


class _ComplexNet(torch.nn.Module):
    """A complex linear layer and |·|² through a custom Function."""

    def __init__(self, abs2: Any, dtype: torch.dtype) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.lin = torch.nn.Linear(3, 2, dtype=dtype)
        with torch.no_grad():
            self.lin.weight.copy_(torch.randn(2, 3, dtype=dtype, generator=g))
        self.abs2 = abs2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.abs2(self.lin(x)).sum()
        return out


class TestTorchModule:
    @pytest.mark.parametrize("dtype", [torch.complex128, torch.complex64])
    def test_a_complex_module_passes(self, dtype: torch.dtype) -> None:
        model = _ComplexNet(_Abs2.apply, dtype)
        x = torch.randn(4, 3, dtype=dtype, generator=torch.Generator().manual_seed(4))
        state = {k: v.clone() for k, v in model.state_dict().items()}
        report = gt.check_module(model, lambda m: m(x))
        assert report.passed, report
        assert {p.dtype for p in report.parameters.values()} == {"complex128"}
        assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
        assert next(model.parameters()).dtype == dtype

    def test_a_missing_conj_in_a_module_is_named(self) -> None:
        model = _ComplexNet(_Abs2NoConj.apply, torch.complex128)
        x = torch.randn(4, 3, dtype=torch.complex128, generator=torch.Generator().manual_seed(4))
        report = gt.check_module(model, lambda m: m(x))
        assert report.status == "failed"
        assert _diagnosis(report, "lin.bias") == "conjugate"

    def test_the_float64_copy_keeps_the_imaginary_parts(self) -> None:
        model = _ComplexNet(_Abs2.apply, torch.complex64)
        x = torch.randn(4, 3, dtype=torch.complex64, generator=torch.Generator().manual_seed(4))
        report = gt.check_module(model, lambda m: m(x))
        assert report.options["route"] == "float64"
        assert report.options["user_dtype"] == "float32"  # complex64: two float32 parts


# ---- JAX ---------------------------------------------------------------------------------


def _abs2_fwd(z: Any) -> Any:
    return jnp.real(z * jnp.conj(z)), z


@jax.custom_vjp
def _abs2(z: Any) -> Any:
    return jnp.real(z * jnp.conj(z))


_abs2.defvjp(_abs2_fwd, lambda z, g: (2 * g * jnp.conj(z),))  # JAX's convention


@jax.custom_vjp
def _abs2_no_conj(z: Any) -> Any:
    return jnp.real(z * jnp.conj(z))


_abs2_no_conj.defvjp(_abs2_fwd, lambda z, g: (2 * g * z,))  # planted: conj missing


@jax.custom_vjp
def _abs2_by_torch(z: Any) -> Any:
    return jnp.real(z * jnp.conj(z))


def _torch_bwd(z: Any, g: Any) -> Any:
    t = torch.tensor(np.asarray(z), requires_grad=True)
    (grad,) = torch.autograd.grad((t * t.conj()).real, t, torch.tensor(np.asarray(g)))
    return (jnp.asarray(grad.numpy()),)


_abs2_by_torch.defvjp(_abs2_fwd, _torch_bwd)  # the other convention


@jax.custom_vjp
def _imag_ignored(a: Any) -> Any:
    return a * (1 + 1j)


_imag_ignored.defvjp(lambda a: (a * (1 + 1j), None), lambda _, g: (jnp.real(g),))


@jax.custom_jvp
def _cube(z: Any) -> Any:
    return z**3


@_cube.defjvp
def _cube_jvp(primals: Any, tangents: Any) -> Any:
    (z,), (t,) = primals, tangents
    return z**3, 3 * z**2 * t


@jax.custom_jvp
def _cube_conj(z: Any) -> Any:
    return z**3


@_cube_conj.defjvp
def _cube_conj_jvp(primals: Any, tangents: Any) -> Any:
    (z,), (t,) = primals, tangents
    return z**3, 3 * jnp.conj(z) ** 2 * t  # planted: conj where none belongs


class TestJaxComplex:
    @pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
    def test_a_correct_custom_vjp_passes(self, dtype: Any) -> None:
        with jax.enable_x64(dtype == np.complex128):
            z = jnp.asarray(Z.astype(dtype))
            report = gj.check_function(_abs2, z)
            assert report.passed, report
            assert report.options["complex_convention"] == "plain"
            assert gj.check(lambda p: jnp.sum(_abs2(p["z"])), {"z": z}).passed

    @pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
    def test_a_missing_conj_is_named(self, dtype: Any) -> None:
        with jax.enable_x64(dtype == np.complex128):
            z = jnp.asarray(Z.astype(dtype))
            report = gj.check_function(_abs2_no_conj, z)
            assert report.status == "failed"
            assert _diagnosis(report, "input0") == "conjugate"
            text = report.parameters["input0"].diagnosis.text  # type: ignore[union-attr]
            assert text.startswith("conjugated?") and "jax.vjp and jax.grad give" in text
            report = gj.check(lambda p: jnp.sum(_abs2_no_conj(p)), z)
            assert _diagnosis(report, "x").startswith("conjugate")

    def test_a_backward_in_torch_convention_is_named(self) -> None:
        with jax.enable_x64(True):
            report = gj.check_function(_abs2_by_torch, jnp.asarray(Z))
        assert _diagnosis(report, "input0") == "conjugate"

    @pytest.mark.parametrize("modes", MODES)
    def test_custom_jvp_rules_of_complex_inputs(self, modes: Any) -> None:
        with jax.enable_x64(True):
            z = jnp.asarray(Z)
            assert gj.check_function(_cube, z, modes=modes).passed
            bad = gj.check_function(_cube_conj, z, modes=modes)
        assert bad.status == "failed"
        name = "input0" if "rev" in modes else "fwd/input0"
        assert bad.parameters[name].status == "failed"

    @pytest.mark.parametrize("x64", [False, True])
    def test_a_complex_output_is_checked_through_both_parts(self, x64: bool) -> None:
        with jax.enable_x64(x64):
            x = jnp.array([0.3, -0.4, 1.2])
            assert gj.check_function(lambda a: a * (1 + 1j), x).passed
            report = gj.check_function(_imag_ignored, x)
        assert report.parameters["input0"].status == "failed"

    def test_a_holomorphic_function_in_both_modes(self) -> None:
        with jax.enable_x64(True):
            report = gj.check_function(lambda q: q**3 * jnp.exp(q), jnp.asarray(Z))
        assert report.passed
        assert set(report.parameters) == {"input0", "fwd/input0", "consistency: jvp vs vjp"}

    def test_the_other_convention_is_refused(self) -> None:
        with pytest.raises(GradcheckError, match=r"complex_convention='conjugate'.*jax"):
            gj.check(
                lambda p: jnp.sum(jnp.abs(p) ** 2), jnp.asarray(Z), complex_convention="conjugate"
            )


class TestConventionsAgainstEachOther:
    """torch's and JAX's gradients of one real function are each other's conjugates,
    and each adapter passes its own framework's and names the other's "conjugated?"."""

    @staticmethod
    def _loss_np(z: Any) -> float:
        return float(np.sum(np.log(np.abs(1 + z**2))))

    def test_the_two_gradients_are_conjugates(self) -> None:
        t = torch.tensor(Z, requires_grad=True)
        torch.log(torch.abs(1 + t**2)).sum().backward()
        g_torch = t.grad.numpy()  # type: ignore[union-attr]
        with jax.enable_x64(True):
            g_jax = np.asarray(jax.grad(lambda q: jnp.sum(jnp.log(jnp.abs(1 + q**2))))(Z))
        np.testing.assert_allclose(g_jax, np.conj(g_torch), rtol=1e-12)
        assert gradcheck.check(self._loss_np, Z, g_torch).passed
        assert gradcheck.check(self._loss_np, Z, g_jax, complex_convention="plain").passed

    def test_each_adapter_with_the_same_function(self) -> None:
        report_t = gt.check_function(lambda q: torch.log(torch.abs(1 + q**2)), _complex())
        with jax.enable_x64(True):
            report_j = gj.check_function(lambda q: jnp.log(jnp.abs(1 + q**2)), jnp.asarray(Z))
        assert report_t.passed and report_j.passed
        assert report_t.options["complex_convention"] == "conjugate"
        assert report_j.options["complex_convention"] == "plain"


class TestRealViews:
    """The consistency checks' real maps: the VJP on real views is the transpose of the
    JVP on real views, in each framework's convention."""

    @pytest.mark.parametrize("convention", ["conjugate", "plain"])
    def test_vjp_is_the_transpose_of_jvp(self, convention: str) -> None:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
        views = RealViews(convention, (True,), (True,))
        # y = A z: torch's VJP is Aᴴ u, JAX's Aᵀ u
        back = a.conj().T if convention == "conjugate" else a.T
        jvp = views.jvp(lambda v: [a @ v[0]])
        vjp = views.vjp(lambda u: [back @ u[0]])
        for _ in range(3):
            v, u = rng.standard_normal((3, 2)), rng.standard_normal((2, 2))
            lhs = float(np.sum(u * jvp([v])[0]))
            rhs = float(np.sum(vjp([u])[0] * v))
            assert lhs == pytest.approx(rhs, rel=1e-12)

    def test_a_real_function_is_unchanged(self) -> None:
        views = RealViews("plain", (False,), (False,))
        x = np.arange(3.0)
        assert views.jvp(lambda v: [2 * v[0]])([x])[0] is not x
        np.testing.assert_array_equal(views.vjp(lambda u: [2 * u[0]])([x])[0], 2 * x)
        assert views.shapes([(3,)], (False,)) == [(3,)]

    def test_a_real_cotangent_is_drawn_as_before(self) -> None:
        a = cotangent(np.random.default_rng([0, 5]), (2, 3), False)
        np.testing.assert_array_equal(a, np.random.default_rng([0, 5]).standard_normal((2, 3)))
        w = cotangent(np.random.default_rng(1), (4,), True)
        assert np.iscomplexobj(w) and np.all(w.imag != 0)

    def test_dtypes(self) -> None:
        assert real_dtype("complex128") == "float64" and real_dtype("bfloat16") == "bfloat16"
        assert widen(np.float32(1)).dtype == np.float64
        assert widen(np.complex64(1j)).dtype == np.complex128


class _ComplexBuffer(torch.nn.Module):
    """A real parameter scaled by a complex buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0]))
        self.register_buffer("c", torch.tensor(C, dtype=torch.complex64))

    def forward(self) -> torch.Tensor:
        out: torch.Tensor = (torch.abs(self.c * self.w + 1j) ** 2).sum()
        return out


def test_a_module_with_a_complex64_buffer() -> None:
    model = _ComplexBuffer()
    report = gt.check_module(model, lambda m: m())
    assert report.passed and report.options["route"] == "float64"
    assert model.c.dtype == torch.complex64


@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_seeds_and_scales(seed: int, scale: float) -> None:
    """F28 and the missing conj at other cotangents (``seed``) and magnitudes."""
    x = torch.linspace(-2.0, 2.0, 4, dtype=torch.float64) * scale
    bad = gt.check_function(_ImagIgnored.apply, x.requires_grad_(), seed=seed)
    assert bad.parameters["input0"].status == "failed"
    assert gt.check_function(_ImagRight.apply, x, seed=seed).passed
    z = _complex(values=Z * scale)
    assert gt.check_function(_Abs2.apply, z, seed=seed).passed
    wrong = gt.check_function(_Abs2NoConj.apply, z, seed=seed, modes=("rev",))
    assert _diagnosis(wrong, "input0") == "conjugate"
    with jax.enable_x64(True):
        zj = jnp.asarray(Z * scale)
        assert gj.check_function(_abs2, zj, seed=seed).passed
        assert _diagnosis(gj.check_function(_abs2_no_conj, zj, seed=seed), "input0") == "conjugate"


class _Dagger(torch.autograd.Function):
    """``Σ|A·A|²`` whose backward returns the conjugate transpose of the right gradient."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a)
        return (a @ a).abs().pow(2).sum()

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (a,) = ctx.saved_tensors
        with torch.enable_grad():
            b = a.detach().requires_grad_()
            (right,) = torch.autograd.grad((b @ b).abs().pow(2).sum(), b)
        return g * right.conj().T


class TestConjugateTranspose:
    """The ".H" diagnosis names no option an adapter user cannot set (brief s21 item 5)."""

    @pytest.mark.parametrize("dtype", [torch.complex128, torch.complex64])
    def test_torch_user_is_told_what_torch_expects(self, dtype: torch.dtype) -> None:
        a = torch.randn(3, 3, dtype=dtype, generator=torch.Generator().manual_seed(1))
        report = gt.check_function(_Dagger.apply, a.requires_grad_())
        d = report.parameters["input0"].diagnosis
        assert report.status == "failed" and d is not None and d.kind == "conjugate", str(report)
        assert "conjugate transpose (.H)" in d.text and "torch's autograd expects" in d.text
        assert "complex_convention" not in d.text

    def test_jax_user_is_told_what_jax_gives(self) -> None:
        def loss(a: Any) -> Any:
            return jnp.sum(jnp.abs(a @ a) ** 2)

        f = jax.custom_vjp(loss)
        f.defvjp(lambda a: (loss(a), a), lambda a, g: (g * jax.grad(loss)(a).conj().T,))
        draw = np.random.default_rng(2)
        a = draw.normal(size=(3, 3)) + 1j * draw.normal(size=(3, 3))
        report = gj.check(lambda p: f(p["a"]), {"a": a.astype(np.complex64)})
        d = report.parameters["a"].diagnosis
        assert report.status == "failed" and d is not None and d.kind == "conjugate", str(report)
        assert "conjugate transpose (.H)" in d.text and "jax.vjp and jax.grad give" in d.text
        assert "complex_convention" not in d.text

    def test_the_core_still_names_its_option(self) -> None:
        draw = np.random.default_rng(3)
        a = draw.normal(size=(3, 3)) + 1j * draw.normal(size=(3, 3))

        def cost(p: Any) -> float:
            return float(np.sum(np.abs(p["a"] @ p["a"]) ** 2))

        def grad(p: Any) -> Any:
            m = p["a"]
            r = m @ m
            right = 2 * (r @ m.conj().T + m.conj().T @ r)
            return {"a": right.conj().T}

        report = gradcheck.check(cost, {"a": a}, grad)
        d = report.parameters["a"].diagnosis
        assert d is not None and "complex_convention" in d.text, str(report)
