"""The Jacobian sections of docs/benchmarks.md (rows 6 and 7, issue 13)."""

from __future__ import annotations

from typing import Any

__all__ = ["JACOBIAN_NOTES", "jacobian_sections"]

#: A section: its heading, its rows and its (key, header) columns.
Section = tuple[str, list[dict[str, Any]], list[tuple[str, str]]]

JAC_FULL = [
    ("n", "n = m"),
    ("t_eval_ms", "one eval (ms)"),
    ("torch_eval_ms", "torch eval (ms)"),
    ("gc_jacobian_s", "gc, Jacobian given (s)"),
    ("gc_vjp_s", "gc, VJP given (s)"),
    ("torch_slow_s", "torch slow (s)"),
    ("gc_jacobian_vs_torch_slow", "gc (J) / torch"),
    ("gc_vjp_vs_torch_slow", "gc (VJP) / torch"),
    ("gc_jacobian_evals", "gc evals"),
    ("gc_jacobian_status", "gc on correct"),
    ("torch_slow_passes", "torch on correct"),
    ("planted_entry", "planted entry"),
    ("gc_1e-3_status", "gc: entry ×(1+1e-3)"),
    ("gc_1e-3_named", "gc names it"),
    ("torch_slow_1e-3_catches", "torch: ×(1+1e-3)"),
    ("gc_x2_status", "gc: entry ×2"),
    ("gc_x2_named", "gc names it"),
    ("torch_slow_x2_catches", "torch: ×2"),
]
JAC_DIRECTIONAL = [
    ("N", "N"),
    ("t_eval_ms", "one eval (ms)"),
    ("torch_eval_ms", "torch eval (ms)"),
    ("gc_vjp_s", "gc, VJP (s)"),
    ("torch_fast_s", "torch fast (s)"),
    ("gc_vjp_vs_torch_fast", "gc VJP / torch fast"),
    ("gc_vjp_floor_vs_torch_fast", "its evals + VJP alone / torch fast"),
    ("gc_both_s", "gc, VJP + JVP (s)"),
    ("torch_fast_fwd_s", "torch fast + fwd AD (s)"),
    ("jax_s", "jax fwd + rev (s)"),
    ("gc_both_vs_torch_fast_fwd", "gc both / torch fast + fwd"),
    ("gc_both_vs_jax", "gc both / jax"),
    ("gc_vjp_evals", "gc evals (VJP)"),
    ("gc_both_evals", "gc evals (both)"),
    ("gc_both_status", "gc on correct"),
    ("torch_fast_passes", "torch on correct"),
    ("jax_passes", "jax on correct"),
    ("gc_bug_status", "gc: sign bug"),
    ("torch_bug_catches", "torch: sign bug"),
    ("jax_bug_catches", "jax: sign bug"),
]
#: The same torch and jax functions as row 7 through gradcheck's adapters.
JAC_ADAPTERS = [
    ("N", "N"),
    ("gct_rev_s", "gc torch rev (s)"),
    ("torch_fast_s", "torch fast (s)"),
    ("gct_rev_vs_torch_fast", "gc torch rev / torch fast"),
    ("gct_both_s", "gc torch rev + fwd (s)"),
    ("torch_fast_fwd_s", "torch fast + fwd AD (s)"),
    ("gct_both_vs_torch_fast_fwd", "gc torch both / torch fast + fwd"),
    ("gcj_both_s", "gc jax rev + fwd (s)"),
    ("jax_s", "jax fwd + rev (s)"),
    ("gcj_both_vs_jax", "gc jax both / jax"),
    ("gct_rev_evals", "gc torch evals (rev)"),
    ("gct_both_evals", "gc torch evals (both)"),
    ("gcj_both_evals", "gc jax evals (both)"),
    ("gct_both_status", "gc torch on correct"),
    ("gcj_both_status", "gc jax on correct"),
    ("gct_bug_status", "gc torch: sign bug"),
    ("gcj_bug_status", "gc jax: sign bug"),
]

JACOBIAN_NOTES = [
    "- Jacobian functions (`benchmarks/_jacproblems.py`): the full check uses "
    "`f(x) = tanh(A x) + x²`, `A` a fixed 1000 × 1000 Gaussian matrix / √n, given its "
    "exact Jacobian `diag(1 − t²) A + diag(2x)` (or its VJP, which is what torch's slow "
    "mode calls, once per output); the directional check uses the O(N) "
    "`f(x) = tanh(x + 0.5·roll(x, 1)) + x²` (elementwise plus a neighbour mixing, no "
    "N × N matrix), given its VJP, or its VJP and JVP; torch and jax differentiate the "
    "same function with their own autodiff. Timings are interleaved: every round calls "
    "each checker once in turn, the median over the rounds is reported (3 rounds for the "
    "full check, 5 after a warm-up round for the directional one), so a change of load "
    "falls on every checker alike.",
    "- Planted bugs: in the full check one Jacobian entry (the one closest to the RMS of "
    "the Jacobian, off the diagonal) scaled by 1 + 1e-3 or by 2, in gradcheck's Jacobian "
    "and in a custom torch `Function`'s backward; in the directional check a derivative "
    "rule with the mixing term's sign flipped, in every mode: gradcheck's VJP and JVP, a "
    "custom torch `Function`'s `backward` and `jvp` (checked with "
    "`check_forward_ad=True`), and a jax `custom_jvp` rule (jax transposes it for the "
    "reverse mode).",
    "- What the directional Jacobian check does for its time: the VJP alone is checked "
    "as the gradient of `uᵀf` with `check`'s directional verdict (10 evaluations of `f` "
    "and the stated guarantee; the first of its 2 evaluations at the point also fixes the "
    "output's layout) plus one evaluation along a random step for each output's fair "
    "share of `u` (every call, and what it buys, in [evaluations.md](evaluations.md)); the "
    "VJP and the JVP are each checked against finite differences and against each other "
    "(3 exact `uᵀ(Jv) = (uᵀJ)v` pairs). Torch's fast mode makes about 2 evaluations "
    "along one random direction and 1 backward pass (and 1 forward-AD pass with "
    "`check_forward_ad=True`); jax's `check_grads` runs jitted, fused code. With an "
    "elementwise `f`, every pass costs O(N) for every checker, so the evaluation counts "
    "decide the ratios. Where the time goes in gradcheck (a sampling profile of 30 "
    "VJP-only checks at N = 10⁵, 2026-11-27): about 50 % in the 11 evaluations of `f`, "
    "9 % in the VJP, 10 % in drawing four Gaussian vectors (the cotangent's z, the "
    "fair-share step and two directions: one draw costs about half an evaluation of "
    "this `f`), the rest in O(N) passes around them (the steps θ ± w, the entry scales, "
    "the checks that the parameters are untouched and the outputs finite). The column "
    "'its evals + VJP alone / torch fast' is the ratio no cut of those passes can go "
    "below: NumPy's `f` (unfused temporaries, NumPy's `tanh`) takes longer than torch's "
    "own (the column 'torch eval').",
    "- The full Jacobian check: gradcheck evaluates `f` 2n + 2 times (every column of "
    "the finite-difference Jacobian, and the value at the point twice; 6 more for the "
    "noise table when an entry fails the screen with the round-off floor alone) and "
    "compares all n·m entries "
    "with `check`'s per-entry rules; torch's slow mode makes 2n evaluations and n "
    "backward passes (one per output row) and compares with fixed tolerances "
    "(rtol 1e-3, atol 1e-5), which cannot see the ×(1 + 1e-3) entry.",
    "- Row 8 checks row 7's torch function and jitted jax function themselves through "
    "gradcheck's adapters (`gradcheck.torch.check_function(fn, x, modes=...)`, "
    '`gradcheck.jax.check_function(fn, x, modes=...)`, `mode="directional"`, every '
    "other option at its default), timed in the same rounds as row 7: every checker "
    "evaluates and differentiates the same function, so the ratios compare the checkers "
    "alone. By default the torch adapter also checks the backward under "
    "`torch.func.vmap` (torch's `check_batched_grad`, off by default in torch), and with "
    "both modes each adapter also compares the two rules with each other "
    "(`uᵀ(J v) = (uᵀJ) v`, no finite differences). Where the adapters' time goes (wall "
    "time of the parts of 5 checks at N = 10⁵, 2026-11-27, loaded machine): torch, both "
    "modes: the two directional runs 48 % (each 10 evaluations of `<out, w>` and the "
    "engine's passes), the JVP–VJP consistency 22 % (3 JVPs and 3 VJPs, each VJP on a "
    "fresh pass), the batched-backward check 14 % (3 per-sample backwards and one under "
    "vmap), the first pass and the fair-share cotangent 7 %, the forward-mode "
    "gradient 6 % (one transposed JVP and one dual-tensor JVP that confirms it); jax, "
    "both modes: the two runs 67 % (the forward-mode gradient 10 % of the whole), the "
    "consistency 22 %. Until 2026-11-27 the jax "
    "adapter jitted its own wrapper of the user's jitted function, so XLA compiled it "
    "again three times per run (0.45 s each): 27× `check_grads`' time at N = 10⁵.",
]


def jacobian_sections(out: dict[str, Any]) -> list[Section]:
    """The Jacobian tables: heading, rows, columns (row 8 where the rows have it)."""
    return [
        ("6. Full Jacobian check vs torch slow mode", [out["jacobian_full"]], JAC_FULL),
        (
            "7. Directional Jacobian check vs torch fast mode and jax check_grads",
            out["jacobian_directional"],
            JAC_DIRECTIONAL,
        ),
        *(
            [("8. The same functions through gradcheck's adapters", rows, JAC_ADAPTERS)]
            if (rows := [r for r in out["jacobian_directional"] if "gct_rev_s" in r])
            else []
        ),
    ]
