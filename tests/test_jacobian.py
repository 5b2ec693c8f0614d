"""``gradcheck.check_jacobian``: every form of a derivative, with planted bugs named."""

from __future__ import annotations

import doctest
import random
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

import gradcheck
from gradcheck import GradcheckError, check_jacobian
from gradcheck._jacobian import resolve_mode

Array = np.ndarray[Any, Any]


# scipy's own check_grad test pair, from scipy/optimize/tests/test_optimize.py
# (scipy 1.17.1, lines 2525-2537; BSD-3-Clause): the gradient and Hessian of
# Himmelblau's function, at himmelblau_x0.
def himmelblau_grad(p: Array) -> Array:
    x, y = p
    return np.array(
        [
            4 * x**3 + 4 * x * y - 42 * x + 2 * y**2 - 14,
            2 * x**2 + 4 * x * y + 4 * y**3 - 26 * y - 22,
        ]
    )


def himmelblau_hess(p: Array) -> Array:
    x, y = p
    return np.array(
        [[12 * x**2 + 4 * y - 42, 4 * x + 4 * y], [4 * x + 4 * y, 4 * x + 12 * y**2 - 26]]
    )


himmelblau_x0 = [-0.27, -0.9]
X0 = np.array(himmelblau_x0)

A = np.random.default_rng(0).standard_normal((5, 4))


def layer(p: Array) -> Array:
    return np.tanh(A @ p)


def layer_jac(p: Array) -> Array:
    return (1 - np.tanh(A @ p) ** 2)[:, None] * A  # type: ignore[no-any-return]


def layer_vjp(p: Array, u: Array) -> Array:
    return layer_jac(p).T @ u  # type: ignore[no-any-return]


def layer_jvp(p: Array, v: Array) -> Array:
    return layer_jac(p) @ v  # type: ignore[no-any-return]


P = np.array([0.3, -0.2, 0.5, 0.1])
B = np.random.default_rng(1).standard_normal((4, 4))


def square(p: Array) -> Array:
    return np.sin(B @ p)


def square_jac(p: Array) -> Array:
    return np.cos(B @ p)[:, None] * B  # type: ignore[no-any-return]


class TestHimmelblau:
    def test_passes(self) -> None:
        report = check_jacobian(himmelblau_grad, X0, himmelblau_hess)
        assert report.status == "passed", report
        assert report.parameters["out / x"].checked == 4

    @pytest.mark.parametrize("entry", [(0, 0), (0, 1), (1, 0), (1, 1)])
    def test_one_changed_entry_is_named(self, entry: tuple[int, int]) -> None:
        def hess(p: Array) -> Array:
            h = himmelblau_hess(p)
            h[entry] *= 1.001
            return h

        report = check_jacobian(himmelblau_grad, X0, hess)
        assert report.status == "failed"
        wrong = [e for e in report.worst if e.status == "wrong"]
        assert [e.label() for e in wrong] == [f"out[{entry[0]}] / x[{entry[1]}]"]
        diag = report.parameters["out / x"].diagnosis
        assert diag is not None and f"out[{entry[0]}] / x[{entry[1]}]" in diag.text

    def test_check_refuses_and_points_at_check_jacobian(self) -> None:
        with pytest.raises(GradcheckError, match="check_jacobian"):
            gradcheck.check(himmelblau_grad, X0, himmelblau_hess)

    def test_exported(self) -> None:
        assert "check_jacobian" in gradcheck.__all__


class TestForms:
    @pytest.mark.parametrize(
        "forms",
        [
            {"jacobian": layer_jac},
            {"jacobian": layer_jac(P)},
            {"vjp": layer_vjp},
            {"jvp": layer_jvp},
            {"vjp": layer_vjp, "jvp": layer_jvp},
            {"jacobian": layer_jac, "vjp": layer_vjp, "jvp": layer_jvp},
        ],
    )
    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_right_forms_pass(self, forms: dict[str, Any], dtype: Any) -> None:
        report = check_jacobian(layer, P.astype(dtype), **forms)
        assert report.status == "passed", report

    def test_wrong_jvp_right_vjp_fails_in_fd_and_consistency(self) -> None:
        def jvp(p: Array, v: Array) -> Array:
            out = layer_jvp(p, v)
            out[2] = -out[2]  # one output's forward rule has the wrong sign
            return out

        report = check_jacobian(layer, P, vjp=layer_vjp, jvp=jvp)
        assert report.status == "failed"
        assert report.parameters["jvp: out / x"].status == "failed"
        assert report.parameters["vjp: out / x"].status == "passed"
        assert report.parameters["consistency: jvp vs vjp"].status == "failed"
        diag = report.parameters["jvp: out / x"].diagnosis
        assert diag is not None and "out[2]" in diag.text and "sign" in diag.text

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_consistency_fails_where_fd_is_too_noisy(self, dtype: Any) -> None:
        def noisy(p: Array) -> Array:  # deterministic noise of 1e-3: FD cannot see 1%
            return layer(p) + 1e-3 * np.sin(1e9 * p[:, None] * np.arange(1, 6)).sum(axis=0)

        def jvp(p: Array, v: Array) -> Array:
            return 1.01 * layer_jvp(p, v)

        report = check_jacobian(noisy, P.astype(dtype), vjp=layer_vjp, jvp=jvp)
        assert report.parameters["consistency: jvp vs vjp"].status == "failed"
        assert report.parameters["jvp: out / x"].status == "inconclusive"  # FD could not tell
        assert report.status == "failed"

    def test_consistency_checked_when_fn_is_not_deterministic(self) -> None:
        rng = np.random.default_rng(0)
        report = check_jacobian(
            lambda p: layer(p) + rng.standard_normal(5),
            P,
            vjp=layer_vjp,
            jvp=lambda p, v: -layer_jvp(p, v),
        )
        assert report.status == "failed"
        assert report.parameters["consistency: jvp vs vjp"].status == "failed"


class TestPlantedBugs:
    def test_transposed(self) -> None:
        report = check_jacobian(square, P, lambda p: square_jac(p).T)
        diag = report.parameters["out / x"].diagnosis
        assert report.status == "failed" and diag is not None and diag.kind == "transpose"
        assert "transposed" in diag.text

    @pytest.mark.parametrize(("c", "kind"), [(-1.0, "sign"), (2.0, "factor"), (0.5, "factor")])
    def test_sign_and_factor(self, c: float, kind: str) -> None:
        report = check_jacobian(layer, P, lambda p: c * layer_jac(p))
        diag = report.parameters["out / x"].diagnosis
        assert diag is not None and diag.kind == kind and diag.factor == pytest.approx(c, rel=1e-3)

    def test_missing_block(self) -> None:
        params = {"W": np.array([0.2, -0.4]), "b": np.array([0.3, 0.1, -0.2])}

        def f(p: dict[str, Array]) -> Array:
            return np.concatenate([np.sin(p["W"]), np.exp(p["b"])])

        def jac(p: dict[str, Array]) -> dict[str, Array]:
            jw = np.zeros((5, 2))
            jw[:2] = np.diag(np.cos(p["W"]))
            return {"W": jw, "b": np.zeros((5, 3))}  # the b block forgotten

        report = check_jacobian(f, params, jac)
        assert report.parameters["out / W"].status == "passed"
        diag = report.parameters["out / b"].diagnosis
        assert diag is not None and diag.kind == "zero" and "missing block" in diag.text

    def test_swapped_outputs(self) -> None:
        report = check_jacobian(layer, P, lambda p: layer_jac(p)[[0, 3, 2, 1, 4]])
        diag = report.parameters["out / x"].diagnosis
        assert diag is not None and diag.kind == "swapped"
        assert "out[1]" in diag.text and "out[3]" in diag.text

    def test_wrong_output_row_in_one_line(self) -> None:
        def jac(p: Array) -> Array:
            j = layer_jac(p)
            j[4] *= 3
            return j

        report = check_jacobian(layer, P, jac)
        diag = report.parameters["out / x"].diagnosis
        assert diag is not None and diag.kind == "row" and "out[4]" in diag.text
        assert "3 times" in diag.text

    def test_wrong_input_column_in_one_line(self) -> None:
        def jac(p: Array) -> Array:
            j = layer_jac(p)
            j[:, 1] = 0.0
            return j

        report = check_jacobian(layer, P, jac)
        diag = report.parameters["out / x"].diagnosis
        assert diag is not None and diag.kind == "column" and "x[1]" in diag.text

    def test_no_jacobian_dump(self) -> None:
        big = np.random.default_rng(2).standard_normal((60, 50))
        report = check_jacobian(lambda p: big @ p, np.ones(50), 2 * big)
        assert report.status == "failed" and len(str(report)) < 3000


class TestPytrees:
    params: ClassVar[dict[str, Array]] = {
        "W": np.array([[0.5, -0.2], [0.1, 0.3]]),
        "b": np.array([0.2, -0.1]),
    }

    @staticmethod
    def f(p: dict[str, Array]) -> dict[str, Array]:
        h = p["W"] @ np.array([1.0, 2.0]) + p["b"]
        return {"h": np.tanh(h), "s": np.sum(h**2)}

    @staticmethod
    def jac(p: dict[str, Array]) -> dict[str, dict[str, Array]]:
        h = p["W"] @ np.array([1.0, 2.0]) + p["b"]
        dh = np.diag(1 - np.tanh(h) ** 2)
        dW = np.zeros((2, 2, 2))  # dh_i/dW[k, l] = δ_ik x_l
        for i in range(2):
            dW[i, i] = [1.0, 2.0]
        return {
            "h": {"W": np.einsum("ij,jkl->ikl", dh, dW), "b": dh},
            "s": {"W": np.einsum("j,jkl->kl", 2 * h, dW), "b": 2 * h},
        }

    def test_jacrev_layout_passes(self) -> None:
        report = check_jacobian(self.f, self.params, self.jac)
        assert report.status == "passed", report
        assert set(report.parameters) == {"h / W", "h / b", "s / W", "s / b"}

    def test_vjp_jvp_pytrees(self) -> None:
        def vjp(p: dict[str, Array], u: dict[str, Array]) -> dict[str, Array]:
            j = self.jac(p)
            return {
                k: np.tensordot(u["h"], j["h"][k], axes=1) + u["s"] * j["s"][k] for k in ("W", "b")
            }

        def jvp(p: dict[str, Array], v: dict[str, Array]) -> dict[str, Array]:
            j = self.jac(p)
            return {
                "h": sum(np.tensordot(j["h"][k], v[k], axes=v[k].ndim) for k in ("W", "b")),
                "s": sum(np.sum(j["s"][k] * v[k]) for k in ("W", "b")),
            }

        assert check_jacobian(self.f, self.params, vjp=vjp, jvp=jvp).status == "passed"

    def test_wrong_block_named(self) -> None:
        def jac(p: dict[str, Array]) -> dict[str, dict[str, Array]]:
            j = self.jac(p)
            j["s"]["b"] = -j["s"]["b"]
            return j

        report = check_jacobian(self.f, self.params, jac)
        assert report.failed_parameters == ["s / b"]
        assert report.worst[0].label() in ("s / b[0]", "s / b[1]")

    @staticmethod
    def reversed_keys(tree: Any) -> Any:
        """``tree`` with every dict's keys in reverse order (jax sorts them)."""
        if isinstance(tree, dict):
            return {k: TestPytrees.reversed_keys(tree[k]) for k in reversed(list(tree))}
        return tree

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_dicts_in_another_key_order_are_matched_by_key(self, dtype: Any) -> None:
        params = {k: v.astype(dtype) for k, v in self.params.items()}

        def vjp(p: dict[str, Array], u: dict[str, Array]) -> dict[str, Array]:
            j = self.jac(p)
            return {
                k: np.tensordot(u["h"], j["h"][k], axes=1) + u["s"] * j["s"][k] for k in ("b", "W")
            }

        def jvp(p: dict[str, Array], v: dict[str, Array]) -> dict[str, Array]:
            j = self.jac(p)
            return {
                "s": sum(np.sum(j["s"][k] * v[k]) for k in ("W", "b")),
                "h": sum(np.tensordot(j["h"][k], v[k], axes=v[k].ndim) for k in ("W", "b")),
            }

        def jac(p: dict[str, Array]) -> Any:
            return self.reversed_keys(self.jac(p))

        report = check_jacobian(self.f, params, jac, vjp=vjp, jvp=jvp)
        assert report.status in ("passed", "inconclusive"), report
        assert not report.failed_parameters

    def test_wrong_values_under_other_keys_fail(self) -> None:
        # g = w * b: dg/dw = diag(b), dg/db = diag(w); the two given under each other's key
        params = {"w": np.array([0.5, -1.0]), "b": np.array([2.0, 0.3])}

        def g(p: dict[str, Array]) -> Array:
            return p["w"] * p["b"]

        right = {"b": np.diag(params["w"]), "w": np.diag(params["b"])}
        wrong = {"b": np.diag(params["b"]), "w": np.diag(params["w"])}
        assert check_jacobian(g, params, right).status == "passed"
        assert check_jacobian(g, params, wrong).status == "failed"
        right_vjp = check_jacobian(g, params, vjp=lambda p, u: {"b": u * p["w"], "w": u * p["b"]})
        wrong_vjp = check_jacobian(g, params, vjp=lambda p, u: {"b": u * p["b"], "w": u * p["w"]})
        assert right_vjp.status == "passed"
        assert wrong_vjp.status == "failed"

    def test_flat_matrix_is_in_insertion_order(self) -> None:
        # the flat (m, n) layout follows the dicts' own key order, as documented
        params = {"z": np.array([0.3, -0.4]), "a": np.array([1.5, 0.7])}

        def g(p: dict[str, Array]) -> Array:
            return np.concatenate([p["z"] ** 2, 3 * p["a"]])

        flat = np.zeros((4, 4))
        flat[:2, :2] = np.diag(2 * params["z"])
        flat[2:, 2:] = 3 * np.eye(2)
        assert check_jacobian(g, params, flat).status == "passed"
        assert check_jacobian(g, params, flat[:, [2, 3, 0, 1]]).status == "failed"

    def test_missing_key_is_an_error_naming_key_matching(self) -> None:
        with pytest.raises(GradcheckError, match="matched by key"):
            check_jacobian(self.f, self.params, vjp=lambda p, u: {"W": p["W"], "c": p["b"]})


class TestKinks:
    """A claim at a kink passes only between the one-sided slopes, as in ``check``."""

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    @pytest.mark.parametrize(
        ("claim", "status"),
        [
            (0.0, "passed"),
            (2.0, "passed"),
            (1.0, "passed"),
            (5.0, "inconclusive"),
            (-100.0, "inconclusive"),
        ],
    )
    def test_relu_claim_outside_its_slopes_is_inconclusive(
        self, claim: float, status: str, dtype: Any
    ) -> None:
        x = np.array([0.0, 1.0, -0.5], dtype=dtype)
        report = check_jacobian(lambda p: np.maximum(p, 0) * 2, x, np.diag([claim, 2.0, 0.0]))
        assert report.status == status, report
        if status == "inconclusive":
            assert any("outside their one-sided slopes" in m for m in report.messages)

    def test_abs_at_zero_absurd_claims_not_passed(self) -> None:
        def g(p: Array) -> Array:
            return np.abs(p) * np.array([1.0, 2.0, 3.0])

        x = np.array([0.0, 0.0, 1.0])
        assert check_jacobian(g, x, np.diag([1e6, -7.0, 3.0])).status == "inconclusive"
        assert check_jacobian(g, x, np.diag([0.5, -1.0, 3.0])).status == "passed"

    def test_pytree_block_at_a_kink(self) -> None:
        params = {"a": np.array([0.0, 2.0]), "b": np.array([1.0])}

        def f(p: dict[str, Array]) -> dict[str, Array]:
            return {"r": np.maximum(p["a"], 0) * p["b"], "s": 3 * p["b"]}

        def jac(c: float) -> dict[str, dict[str, Array]]:
            return {
                "r": {"a": np.diag([c, 1.0]), "b": np.array([[0.0], [2.0]])},
                "s": {"a": np.zeros((1, 2)), "b": np.array([[3.0]])},
            }

        assert check_jacobian(f, params, jac(0.5)).status == "passed"
        report = check_jacobian(f, params, jac(-4.0))
        assert report.status == "inconclusive"
        assert report.parameters["r / a"].status == "inconclusive"
        assert report.parameters["s / b"].status == "passed"


class TestNotLinear:
    """A jvp/vjp that is right on basis vectors but not linear fails in every mode."""

    A: ClassVar[Array] = np.random.default_rng(0).standard_normal((4, 3))

    @classmethod
    def jac(cls, p: Array) -> Array:
        return (1 - np.tanh(cls.A @ p) ** 2)[:, None] * cls.A

    @classmethod
    def f(cls, p: Array) -> Array:
        return np.tanh(cls.A @ p)

    @pytest.mark.parametrize("mode", ["full", "directional"])
    @pytest.mark.parametrize(
        "form",
        [
            {"jvp": lambda J, p, v: J(p) @ np.abs(v)},
            {"vjp": lambda J, p, u: J(p).T @ np.abs(u)},
            {"jvp": lambda J, p, v: J(p) @ v * np.linalg.norm(v)},
        ],
    )
    def test_fails(self, mode: str, form: dict[str, Any]) -> None:
        ((name, rule),) = form.items()
        x = np.array([0.3, -0.8, 0.5])
        report = check_jacobian(self.f, x, mode=mode, **{name: lambda p, t: rule(self.jac, p, t)})
        assert report.status == "failed", report
        if mode == "full":
            assert f"consistency: {name} vs {name} on basis vectors" in report.failed_parameters

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_linear_forms_report_no_extra_result(self, dtype: Any) -> None:
        x = np.array([0.3, -0.8, 0.5], dtype=dtype)
        report = check_jacobian(
            self.f, x, vjp=lambda p, u: self.jac(p).T @ u, jvp=lambda p, v: self.jac(p) @ v
        )
        assert report.status == "passed", report
        assert not any("basis" in name for name in report.parameters)


class TestRandomDraws:
    """fn and its forms draw the same dropout mask: every form starts from the user's
    RNG states, as fn's evaluations and ``check``'s callable gradient do."""

    A: ClassVar[Array] = np.random.default_rng(0).standard_normal((6, 3))

    @staticmethod
    def mask(source: str) -> Array:
        if source == "numpy":
            return np.random.rand(6) > 0.5
        return np.array([random.random() > 0.5 for _ in range(6)])

    @pytest.mark.parametrize("source", ["numpy", "random"])
    @pytest.mark.parametrize("mode", ["full", "directional"])
    @pytest.mark.parametrize("form", ["jacobian", "vjp", "jvp"])
    @pytest.mark.parametrize("seed", range(3))
    def test_dropout_forms_pass(self, source: str, mode: str, form: str, seed: int) -> None:
        A = self.A

        def f(p: Array) -> Array:
            return np.tanh(A @ p) * self.mask(source)

        def jac(p: Array) -> Array:
            return self.mask(source)[:, None] * (1 - np.tanh(A @ p) ** 2)[:, None] * A

        forms = {
            "jacobian": {"jacobian": jac},
            "vjp": {"vjp": lambda p, u: jac(p).T @ u},
            "jvp": {"jvp": lambda p, v: jac(p) @ v},
        }[form]
        np.random.seed(seed)
        random.seed(seed)
        before = (np.random.get_state()[1].copy(), random.getstate())
        x = np.array([0.4, -0.3, 0.8])
        report = check_jacobian(f, x, mode=mode, **forms)
        assert report.status == "passed", report
        assert np.array_equal(np.random.get_state()[1], before[0])
        assert random.getstate() == before[1]


class TestZeroBlocks:
    """An output that does not depend on a parameter: its exact-zero block is judged,
    not left uncertain, whatever the dtype and the output's noise."""

    @staticmethod
    def f(p: dict[str, Array]) -> dict[str, Array]:
        return {"s": np.sum(p["w"] ** 2), "h": np.tanh(p["b"])}

    @staticmethod
    def jac(p: dict[str, Array], zero: float = 0.0) -> dict[str, dict[str, Array]]:
        b, w = p["b"].astype(np.float64), p["w"].astype(np.float64)
        return {
            "s": {"b": np.full(b.size, zero), "w": 2 * w},
            "h": {"b": np.diag(1 - np.tanh(b) ** 2), "w": np.zeros((b.size, *w.shape))},
        }

    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    @pytest.mark.parametrize("seed", range(3))
    def test_exact_zero_blocks_pass(self, dtype: Any, seed: int) -> None:
        rng = np.random.default_rng(seed)
        params = {
            "b": rng.standard_normal(20).astype(dtype),
            "w": rng.standard_normal((20, 30)).astype(dtype),
        }
        report = check_jacobian(self.f, params, self.jac)
        assert report.status == "passed", report
        assert report.parameters["s / b"].uncertain == 0

    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_a_nonzero_claim_on_a_zero_block_does_not_pass(self, dtype: Any) -> None:
        rng = np.random.default_rng(0)
        params = {
            "b": rng.standard_normal(5).astype(dtype),
            "w": rng.standard_normal((5, 4)).astype(dtype),
        }
        report = check_jacobian(self.f, params, lambda p: self.jac(p, zero=1.0))
        assert report.parameters["s / b"].status != "passed"
        assert report.parameters["s / w"].status == "passed"


class TestLarge:
    n = 20_000

    @staticmethod
    def f(p: Array) -> Array:
        return 2 * np.sin(p) + np.roll(p, 1)

    @staticmethod
    def vjp(p: Array, u: Array) -> Array:
        return 2 * np.cos(p) * u + np.roll(u, -1)  # type: ignore[no-any-return]

    @staticmethod
    def jvp(p: Array, v: Array) -> Array:
        return 2 * np.cos(p) * v + np.roll(v, 1)  # type: ignore[no-any-return]

    def test_auto_uses_projections(self) -> None:
        assert resolve_mode("auto", self.n, self.n) == "directional"
        report = check_jacobian(self.f, np.linspace(-1, 1, self.n), vjp=self.vjp, jvp=self.jvp)
        assert report.status == "passed", report
        assert report.mode == "directional" and report.evaluations < 60
        assert "probability" in report.guarantee["text"]

    def test_planted_error_found_and_localised(self) -> None:
        def vjp(p: Array, u: Array) -> Array:
            g = self.vjp(p, u)
            g[1234] += 0.5 * u[1234]  # ∂out[1234]/∂x[1234] off by 0.5
            return g

        report = check_jacobian(self.f, np.linspace(-1, 1, self.n), vjp=vjp)
        assert report.status == "failed"
        assert report.localisation["pinned"] == ["out[1234] / x[1234]"]

    def test_wrong_jvp_found(self) -> None:
        def jvp(p: Array, v: Array) -> Array:
            return 1.01 * self.jvp(p, v)

        report = check_jacobian(self.f, np.linspace(-1, 1, self.n), jvp=jvp, vjp=self.vjp)
        assert report.parameters["jvp: out along v"].status == "failed"
        assert report.parameters["consistency: jvp vs vjp"].status == "failed"


class TestUserDataUntouched:
    def test_arrays_and_rngs_unchanged_also_when_fn_raises(self) -> None:
        x = P.copy()
        np.random.seed(3)
        random.seed(3)
        np_state, py_state = np.random.get_state(), random.getstate()
        calls = {"n": 0}

        def f(p: Array) -> Array:
            np.random.standard_normal()
            random.random()
            calls["n"] += 1
            if calls["n"] > 3:
                raise ValueError("boom")
            return layer(p)

        with pytest.raises(GradcheckError, match="boom"):
            check_jacobian(f, x, vjp=layer_vjp)
        assert np.array_equal(x, P)
        assert random.getstate() == py_state
        after = np.random.get_state()
        assert np.array_equal(after[1], np_state[1]) and after[2:] == np_state[2:]

    def test_rngs_unchanged_when_a_drawing_vjp_raises_midway(self) -> None:
        # each VJP call starts from the saved states (speed28 fresh_draws): one that
        # draws and then raises on its third call, in full mode, leaves them all
        np.random.seed(5)
        random.seed(5)
        np_state, py_state = np.random.get_state(), random.getstate()
        seen: list[float] = []

        def vjp(p: Array, u: Array) -> Array:
            seen.append(np.random.rand() + random.random())
            if len(seen) == 3:
                raise ValueError("boom")
            return layer_vjp(p, u)

        with pytest.raises(GradcheckError, match="vjp raised ValueError: boom"):
            check_jacobian(layer, P.copy(), vjp=vjp, mode="full")
        assert seen[0] == seen[1] == seen[2]
        assert random.getstate() == py_state
        after = np.random.get_state()
        assert np.array_equal(after[1], np_state[1]) and after[2:] == np_state[2:]

    def test_interrupted_check_leaves_everything(self) -> None:
        x = P.copy()
        np.random.seed(4)
        np_state = np.random.get_state()
        calls = {"n": 0}

        def f(p: Array) -> Array:
            np.random.standard_normal()
            calls["n"] += 1
            if calls["n"] > 5:
                raise KeyboardInterrupt
            return layer(p)

        with pytest.raises(KeyboardInterrupt):
            check_jacobian(f, x, layer_jac)
        assert np.array_equal(x, P)
        after = np.random.get_state()
        assert np.array_equal(after[1], np_state[1]) and after[2:] == np_state[2:]

    def test_fn_writing_to_its_input_is_refused_untouched(self) -> None:
        x = P.copy()

        def f(p: Array) -> Array:
            out = layer(p)
            p += 1.0
            return out

        with pytest.raises(GradcheckError, match="modified the parameters"):
            check_jacobian(f, x, layer_jac)
        assert np.array_equal(x, P)

    def test_forms_get_private_copies(self) -> None:
        x = P.copy()

        def vjp(p: Array, u: Array) -> Array:
            p *= 0.0
            return layer_vjp(P, u)

        assert check_jacobian(layer, x, vjp=vjp).status == "passed"
        assert np.array_equal(x, P)

    def test_not_deterministic_is_inconclusive(self) -> None:
        entropy = random.SystemRandom()  # the OS's entropy: nothing to reset
        report = check_jacobian(lambda p: layer(p) + entropy.gauss(0.0, 1.0), P, layer_jac)
        assert report.status == "inconclusive"
        assert "not deterministic" in report.messages[0]

    def test_a_generator_fn_keeps_is_reset_per_call_and_put_back(self) -> None:
        # as in check(): each evaluation draws the same numbers (attack29 H74)
        rng = np.random.default_rng(0)
        before = rng.bit_generator.state
        report = check_jacobian(lambda p: layer(p) + rng.standard_normal(5), P, layer_jac)
        assert report.status == "passed", str(report)
        assert rng.bit_generator.state == before


class TestBadInput:
    @pytest.mark.parametrize(
        ("call", "message"),
        [
            (lambda: check_jacobian(layer, P), "at least one form: jacobian="),
            (lambda: check_jacobian(layer, P, np.zeros((4, 5))), r"transposed\?"),
            (
                lambda: check_jacobian(layer, P, np.zeros((5, 3))),
                "output_shape \\+ parameter_shape",
            ),
            (
                lambda: check_jacobian(layer, P, vjp=lambda p, u: np.zeros(3)),
                "vjp.*shape \\(3,\\) for 'x'",
            ),
            (
                lambda: check_jacobian(layer, P, jvp=lambda p, v: np.zeros(2)),
                "jvp.*'out' has shape \\(5,\\)",
            ),
            (
                lambda: check_jacobian(layer, P, vjp=lambda p, u: np.full(4, np.nan)),
                "non-finite value nan in 'x'",
            ),
            (
                lambda: check_jacobian(layer, P, np.full((5, 4), np.inf)),
                "jacobian has a non-finite",
            ),
            (
                lambda: check_jacobian(lambda p: p * np.inf, P, np.eye(4)),
                "returned inf in output 'out'",
            ),
            (lambda: check_jacobian(layer, P, vjp=3.0), "vjp must be a function"),
            (
                lambda: check_jacobian(layer, P, layer_jac, batched=layer),
                "'batched' does not apply",
            ),
            (lambda: check_jacobian(layer, P, layer_jac, sample=10), "'sample' does not apply"),
            (
                lambda: check_jacobian(layer, P, layer_jac, method="complex"),
                "method='complex' does not apply",
            ),
            (
                lambda: check_jacobian(layer, P, layer_jac, mode="sample"),
                "mode='sample' does not apply to check_jacobian",
            ),
            (lambda: check_jacobian(layer, P, layer_jac, wobble=1), "unknown option 'wobble'"),
            (lambda: check_jacobian(layer, P, layer_jac, seed=-1), "seed=-1 must be"),
            (
                lambda: check_jacobian(layer, P, vjp=lambda p, u: 1 / 0),
                "vjp raised ZeroDivisionError",
            ),
            (
                lambda: check_jacobian(
                    lambda p: layer(p["x"]), {"x": P}, {"y": np.zeros((5, 4)), "z": 1}
                ),
                "jacobian has 2 arrays",
            ),
        ],
    )
    def test_named_with_remedy(self, call: Any, message: str) -> None:
        with pytest.raises(GradcheckError, match=message):
            call()


def test_evaluations_are_2n_plus_noise_probe() -> None:
    n = 30
    C = np.random.default_rng(3).standard_normal((20, n))
    report = check_jacobian(
        lambda p: np.sin(C @ p), np.linspace(-0.5, 0.5, n), lambda p: np.cos(C @ p)[:, None] * C
    )
    assert report.status == "passed"
    assert 2 * n + 2 <= report.evaluations <= 2 * n + 2 + 2 * n  # + re-examined columns


@pytest.mark.parametrize("seed", range(6))
def test_worst_entries_match_a_full_sort(seed: int) -> None:
    """``_jacreport.lex_smallest`` picks the worst entries without sorting them all (a
    full sort of a 1000 × 1000 Jacobian took a second): it must pick exactly what
    ``np.lexsort`` picks, ties, infinities and all-equal keys included."""
    from gradcheck._jacreport import lex_smallest

    rng = np.random.default_rng(seed)
    for _ in range(300):
        n, k = int(rng.integers(0, 80)), int(rng.integers(1, 9))
        keys = [
            rng.integers(0, 4, n),
            -rng.choice([0.0, 0.5, 1.0, np.inf], n),
            -rng.integers(0, 3, n).astype(float),
        ]
        if rng.random() < 0.2:
            keys = [np.zeros(n, dtype=int), np.zeros(n), np.ones(n)]
        if rng.random() < 0.1 and n:
            keys[2][int(rng.integers(n))] = np.nan
        want = np.lexsort(keys[::-1])[:k]
        assert np.array_equal(lex_smallest(keys, k), want), (n, k, keys)


def test_worst_entries_of_a_large_jacobian_name_the_planted_one() -> None:
    n = 600
    a = np.random.default_rng(4).standard_normal((n, n)) / np.sqrt(n)
    jac = (1 - np.tanh(a @ np.ones(n)) ** 2)[:, None] * a
    bad = jac.copy()
    bad[17, 401] *= 1.01
    report = check_jacobian(lambda p: np.tanh(a @ p), np.ones(n), bad, mode="full")
    assert report.status == "failed"
    assert report.worst[0].label() == "out[17] / x[401]"


def test_docs_examples_run() -> None:
    """docs/jacobians.md's examples are doctests: the page shows what the code does."""
    path = Path(__file__).resolve().parents[1] / "docs" / "jacobians.md"
    result = doctest.testfile(str(path), module_relative=False, verbose=False)
    assert result.attempted >= 10 and result.failed == 0


@pytest.mark.parametrize("method", ["central", "forward", "richardson"])
def test_every_method_passes_right_and_names_a_wrong_entry(method: str) -> None:
    def jac(p: Array) -> Array:
        j = layer_jac(p)
        j[2, 1] *= 1.01
        return j

    assert check_jacobian(layer, P, layer_jac, method=method).status == "passed"
    report = check_jacobian(layer, P, jac, method=method)
    assert report.status == "failed" and report.worst[0].label() == "out[2] / x[1]"


class TestEdgeShapesAndScales:
    """An empty parameter leaf (attack13 F8) and outputs near the float64 range (F9)."""

    P: ClassVar[dict[str, Array]] = {"a": np.array([1.0, 2.0]), "e": np.zeros(0)}

    @pytest.mark.parametrize("empty", [np.zeros(0), np.zeros((0, 3)), np.zeros((2, 0))])
    def test_empty_parameter_leaf(self, empty: Array) -> None:
        P = {"a": np.array([1.0, 2.0]), "e": empty}
        J = {"a": np.diag([2.0, 4.0]), "e": np.zeros((2, *empty.shape))}
        report = check_jacobian(lambda p: p["a"] ** 2, P, J)
        assert report.status == "passed"
        assert (report.parameters["out / e"].checked, report.parameters["out / e"].size) == (0, 0)
        wrong = {"a": np.diag([2.0, 5.0]), "e": np.zeros((2, *empty.shape))}
        assert check_jacobian(lambda p: p["a"] ** 2, P, wrong).failed_parameters == ["out / a"]

    def test_empty_parameter_leaf_with_vjp_and_jvp(self) -> None:
        def vjp(p: Any, u: Array) -> Any:
            return {"a": 2 * p["a"] * u, "e": np.zeros(0)}

        def jvp(p: Any, v: Any) -> Array:
            return np.asarray(2 * p["a"] * v["a"])

        f = lambda p: p["a"] ** 2  # noqa: E731
        assert check_jacobian(f, self.P, vjp=vjp, jvp=jvp, mode="full").status == "passed"

    @pytest.mark.parametrize("scale", [1e150, 1e170, 1e300, 1e-300])
    def test_outputs_near_the_float64_range(self, scale: float) -> None:
        x = np.array([1.0, 2.0])
        assert check_jacobian(lambda p: scale * p, x, scale * np.eye(2)).status == "passed"
        J = scale * np.diag(np.cos(x))
        assert check_jacobian(lambda p: scale * np.sin(p), x, J).status == "passed"
        assert check_jacobian(lambda p: scale * np.sin(p), x, 1.5 * J).status == "failed"


@pytest.mark.parametrize("mode", ["full", "directional"])
@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("budget", -5),
        ("budget", "abc"),
        ("budget", 2.5),
        ("miss_probability", 0),
        ("miss_probability", 1.5),
        ("miss_probability", "x"),
        ("localise", "yes"),
        ("progress", 3),
        ("seed", -1),
    ],
)
def test_every_option_is_validated_whatever_the_mode(mode: str, option: str, value: Any) -> None:
    # attack13 F15: the same call raised or not depending on n·m (auto's mode)
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(GradcheckError, match=rf"option {option}={value!r} must"):
        check_jacobian(lambda p: p**2, x, np.diag(2 * x), mode=mode, **{option: value})


class TestBlockNames:
    """Block names ``"out / param"`` that would collide are refused, never merged
    (attack20 A4): two blocks of one name would report only one of them."""

    @staticmethod
    def _fn(p: Any) -> Any:
        return {"x": np.sin(p["a / b"]) + p["b"], "x / a": p["b"] ** 2}

    @pytest.mark.parametrize("form", ["vjp", "jvp", "jacobian"])
    @pytest.mark.parametrize("mode", ["full", "directional"])
    def test_colliding_names_are_refused_naming_both(self, form: str, mode: str) -> None:
        p = {"a / b": np.array([0.3, -0.7]), "b": np.array([1.1, 0.4])}
        given = {form: (lambda q, w: {"a / b": 1.5 * w["x"]}) if form != "jacobian" else np.eye(4)}
        with pytest.raises(GradcheckError, match="block names collide") as info:
            check_jacobian(self._fn, p, mode=mode, **given)
        assert "'a / b'" in str(info.value) and "'x / a'" in str(info.value)

    def test_names_with_a_slash_that_do_not_collide_are_checked(self) -> None:
        p = {"a / b": np.array([0.3, -0.7]), "c": np.array([1.1, 0.4])}

        def fn(q: Any) -> Any:
            return {"y": np.sin(q["a / b"]) + q["c"]}

        def vjp(q: Any, u: Any) -> Any:
            return {"a / b": np.cos(q["a / b"]) * u["y"] * 1.5, "c": u["y"]}

        report = check_jacobian(fn, p, vjp=vjp)
        assert report.status == "failed"
        assert report.failed_parameters == ["y / a / b"]
        assert len(report.parameters) == 2


class TestFormGeneratorsPutBack:
    """attack29 H74: a generator drawn only inside a derivative form (a sampled VJP's)
    moved through check_jacobian: vjp, jvp and jacobian callables, 3/3."""

    @pytest.mark.parametrize("form", ["vjp", "jvp", "jacobian"])
    def test_the_forms_generator_is_as_before(self, form: str) -> None:
        gen = np.random.default_rng(42)
        before = gen.bit_generator.state
        w = np.linspace(-1.0, 1.0, 20).reshape(5, 4)
        d = lambda x: 1 - np.tanh(w @ x) ** 2  # noqa: E731
        forms = {
            "vjp": {"vjp": lambda x, u: w.T @ (u * d(x)) + 0 * gen.normal()},
            "jvp": {"jvp": lambda x, v: d(x) * (w @ v) + 0 * gen.normal()},
            "jacobian": {"jacobian": lambda x: d(x)[:, None] * w + 0 * gen.normal()},
        }[form]
        report = gradcheck.check_jacobian(
            lambda x: np.tanh(w @ x), np.linspace(0.1, 0.4, 4), **forms
        )
        assert report.status == "passed", str(report)
        assert gen.bit_generator.state == before
