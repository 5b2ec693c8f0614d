"""A complex ``check_jacobian`` problem restated on real views: ``fn`` and its forms.

A complex leaf of shape ``S`` (a parameter, an output, a tangent, a cotangent) is
seen as a real leaf ``(*S, 2)`` holding ``(Re, Im)``; :class:`RealViews` says which
leaves are complex, and the wrappers below give the real check (``gradcheck._jacobian``)
``fn``, ``jvp``, ``vjp`` and ``jacobian`` as maps between real views, each calling the
user's function with complex arrays (views of the real leaves, no copy). What each form
means is in ``gradcheck._jac_complex``.

>>> import numpy as np
>>> views = RealViews(["z"], [(1,)], (True,), flatten(np.zeros(1))[2], ["out"], [(1,)],
...                   (True,), flatten(np.zeros(1))[2], "conjugate")
>>> Jacobian(None, views).matrix(np.array([[1 + 2j]]), "jacobian is")
array([[ 1., -2.],
       [ 2.,  1.]])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from gradcheck._complex import complex_view, pair
from gradcheck._errors import GradcheckError
from gradcheck._flat_values import as_array, match_leaves, same_shape
from gradcheck._jacmatrix import jacobian_matrix, plain_jacobian
from gradcheck._layout import Layout
from gradcheck._pytree import TreeDef, builder, flatten

__all__ = ["Fn", "Jacobian", "Jvp", "RealViews", "Vjp", "has_complex", "is_complex"]

Array = np.ndarray[Any, Any]


def is_complex(leaf: Any) -> bool:
    """A complex array, tensor or number."""
    if hasattr(leaf, "is_complex"):
        return bool(leaf.is_complex())
    return bool(np.iscomplexobj(leaf))


def has_complex(tree: Any) -> bool:
    """Whether any leaf of ``tree`` is complex."""
    if type(tree) is np.ndarray:  # one array, the common case: its dtype, no tree walk
        return bool(tree.dtype.kind == "c")
    return any(is_complex(x) for x in flatten(tree)[1])


class RealViews(NamedTuple):
    """Where a problem is complex: the parameters' and outputs' layouts, with masks.

    Shapes are the complex leaves' own (a real view adds a trailing axis of 2).
    """

    in_names: list[str]
    in_shapes: list[tuple[int, ...]]
    in_mask: tuple[bool, ...]
    in_treedef: TreeDef
    out_names: list[str]
    out_shapes: list[tuple[int, ...]]
    out_mask: tuple[bool, ...]
    out_treedef: TreeDef
    convention: str

    @property
    def sign(self) -> float:
        """The imaginary part's sign of a vjp's real view (``-1``: ``"plain"``)."""
        return 1.0 if self.convention == "conjugate" else -1.0

    def to_complex(self, tree: Any, mask: tuple[bool, ...], conj: bool = False) -> Any:
        """A tree of real views as the user's complex leaves (conjugated, with ``conj``)."""
        _, leaves, treedef = flatten(tree)
        out = []
        for x, c in zip(leaves, mask, strict=True):
            if not c:
                out.append(x)
                continue
            z = complex_view(np.asarray(x))
            out.append(np.conj(z) if conj else z)
        return builder(treedef)(out)

    def params(self, tree: Any) -> Any:
        """Parameters (or tangents) of real views as complex ones."""
        return self.to_complex(tree, self.in_mask)

    def cotangent(self, tree: Any) -> Any:
        """A real cotangent ``(a, b)`` as ``w = a + ib`` (``a − ib`` for ``"plain"``)."""
        return self.to_complex(tree, self.out_mask, conj=self.sign < 0)


def _to_real(
    leaf: Any, complex_leaf: bool, shape: tuple[int, ...], name: str, what: str, sign: float = 1.0
) -> Any:
    """One leaf of a result as its real view: ``(Re, sign·Im)`` for a complex leaf; for a
    real one, the real part (``what`` names the form in errors, ``None`` leaves a real
    imaginary part: a vjp's entry for a real parameter is its real part, as torch's)."""
    if leaf is None:
        return leaf  # refused by gradcheck._flat_values, naming the form
    arr = as_array(leaf)
    if not np.issubdtype(arr.dtype, np.number):
        return arr  # refused by gradcheck._flat_values, naming the form and its dtype
    if not complex_leaf:
        if not np.iscomplexobj(arr):
            return arr
        if what.startswith("vjp") or not np.any(arr.imag):
            return np.ascontiguousarray(arr.real)
        raise GradcheckError(
            f"{what} returned complex values for {name!r}, but fn's output {name!r} is "
            "real: its tangent is real (return the real array)"
        )
    if not same_shape(arr.shape, shape):
        raise GradcheckError(
            f"{what} returned shape {arr.shape} for {name!r}, but {name!r} has shape "
            f"{shape}: return a complex array of that shape"
        )
    z = arr.reshape(shape).astype(np.result_type(arr.dtype, np.complex64), copy=False)
    return pair(z, sign)


class Fn:
    """``fn`` on real views: complex parameters in, real views of its outputs out."""

    def __init__(self, fn: Callable[[Any], Any], views: RealViews) -> None:
        self.fn, self.views = fn, views

    def __call__(self, tree: Any) -> Any:
        v = self.views
        value = self.fn(v.params(tree))
        names, leaves, treedef = flatten(value)
        if len(leaves) != len(v.out_mask):
            return value  # the real check names the change of structure
        out = []
        for name, leaf, c in zip(names, leaves, v.out_mask):
            arr = as_array(leaf)
            if not c and np.iscomplexobj(arr):
                raise GradcheckError(
                    f"fn returned complex values for output {name!r} here, but real ones at "
                    "the parameters: give an output one dtype (complex everywhere, or real)"
                )
            out.append(pair(np.asarray(arr, np.result_type(arr.dtype, np.complex64))) if c else arr)
        return builder(treedef)(out)


class _Side(NamedTuple):
    """What sets a jvp apart from a vjp on real views: the side of the map its result
    lives on (layout, names), the form's name in errors, and how its argument is read."""

    what: str
    treedef: TreeDef
    mask: tuple[bool, ...]
    shapes: list[tuple[int, ...]]
    names: list[str]
    sign: float
    argument: Callable[[Any], Any]


class Form:
    """A ``jvp`` or ``vjp`` on real views: its argument read as complex (``side.argument``),
    its result's leaves as their real views on ``side``'s layout."""

    def __init__(self, form: Callable[[Any, Any], Any], views: RealViews, side: _Side) -> None:
        self.form, self.views, self.side = form, views, side

    def __call__(self, tree: Any, argument: Any) -> Any:
        s = self.side
        value = self.form(self.views.params(tree), s.argument(argument))
        leaves = match_leaves(value, s.treedef, len(s.mask))
        if leaves is None:
            return value
        return builder(s.treedef)(
            [
                _to_real(x, c, shape, name, s.what, s.sign)
                for x, c, shape, name in zip(leaves, s.mask, s.shapes, s.names)
            ]
        )


def Jvp(jvp: Callable[[Any, Any], Any], views: RealViews) -> Form:
    """``jvp`` on real views: tangent ``(dx, dy)`` as ``dx + i·dy``; ``J v`` as its view."""
    v = views
    layout = (v.out_treedef, v.out_mask, v.out_shapes, v.out_names)
    return Form(jvp, views, _Side("jvp(params, tangent)", *layout, 1.0, v.params))


def Vjp(vjp: Callable[[Any, Any], Any], views: RealViews) -> Form:
    """``vjp`` on real views, in ``complex_convention`` (see the module's text)."""
    v = views
    layout = (v.in_treedef, v.in_mask, v.in_shapes, v.in_names)
    return Form(vjp, views, _Side("vjp(params, cotangent)", *layout, v.sign, v.cotangent))


class _Parts(NamedTuple):
    """A value's real and imaginary parts; for :func:`_index`, their flat indices."""

    real: Any
    imag: Any


def _parts(value: Any) -> _Parts:
    """A Jacobian (an array or a pytree of them) as its real and imaginary parts."""
    if not isinstance(value, (dict, list, tuple)):
        arr = as_array(value)
        if not np.issubdtype(arr.dtype, np.number):
            return _Parts(arr, arr)  # refused by gradcheck._jacmatrix
        return _Parts(np.real(arr), np.imag(arr))
    _, leaves, treedef = flatten(value)
    re_, im_ = zip(*(_parts(x) if x is not None else (x, x) for x in leaves), strict=True)
    build = builder(treedef)
    return _Parts(build(list(re_)), build(list(im_)))


def _index(shapes: list[tuple[int, ...]], mask: tuple[bool, ...]) -> _Parts:
    """Per complex-layout flat entry: its real part's flat index in the real views, and
    its imaginary part's (``-1`` for a real leaf)."""
    re_, im_, start = [], [], 0
    for shape, c in zip(shapes, mask):
        k = math.prod(shape)
        if c:
            re_.append(start + 2 * np.arange(k))
            im_.append(start + 2 * np.arange(k) + 1)
            start += 2 * k
        else:
            re_.append(start + np.arange(k))
            im_.append(np.full(k, -1))
            start += k
    empty = np.zeros(0, dtype=np.intp)
    return _Parts(np.concatenate([empty, *re_]), np.concatenate([empty, *im_]))


class Jacobian:
    """A complex Jacobian ``df/dz`` as the real views' matrix: each complex entry
    ``J = a + ib`` a block ``[[a, −b], [b, a]]`` (``[a; b]`` for a real input)."""

    def __init__(self, jacobian: Any, views: RealViews) -> None:
        self.jacobian, self.views = jacobian, views

    def __call__(self, tree: Any) -> Array:
        return self.matrix(self.jacobian(self.views.params(tree)), "jacobian(params) returned")

    def matrix(self, value: Any, what: str) -> Array:
        """``value`` (any accepted layout, complex entries) as the real views' matrix."""
        v = self.views
        f64 = np.dtype(np.float64)
        lay = Layout(
            v.in_names,
            v.in_shapes,
            [f64] * len(v.in_names),
            v.in_treedef,
            v.out_names,
            v.out_shapes,
            [f64] * len(v.out_names),
            v.out_treedef,
        )
        real, imag = _parts(plain_jacobian(value, what))
        jac = jacobian_matrix(real, lay) + 1j * jacobian_matrix(imag, lay)
        ore, oim = _index(v.out_shapes, v.out_mask)
        ire, iim = _index(v.in_shapes, v.in_mask)
        cout, cin = oim >= 0, iim >= 0
        _real_blocks(jac, ~cout, ~cin, lay)
        m = int(ore.size + np.count_nonzero(cout))
        n = int(ire.size + np.count_nonzero(cin))
        out = np.zeros((m, n))
        out[np.ix_(ore, ire)] = jac.real
        out[np.ix_(ore, iim[cin])] = -jac.imag[:, cin]
        out[np.ix_(oim[cout], ire)] = jac.imag[cout, :]
        out[np.ix_(oim[cout], iim[cin])] = jac.real[np.ix_(cout, cin)]
        return out


def _real_blocks(jac: Array, rows: Array, cols: Array, lay: Layout) -> None:
    """Raise where a real output's derivative in a real parameter is claimed complex."""
    bad = np.argwhere(jac.imag[np.ix_(rows, cols)] != 0)
    if not bad.size:
        return
    r, c = np.flatnonzero(rows)[bad[0][0]], np.flatnonzero(cols)[bad[0][1]]
    out = int(np.searchsorted([s.stop for s in lay.out_slices()], r, side="right"))
    inp = int(np.searchsorted([s.stop for s in lay.in_slices()], c, side="right"))
    raise GradcheckError(
        f"jacobian has a complex value {jac[r, c]} in the block of output "
        f"{lay.out_names[out]!r} and parameter {lay.in_names[inp]!r}, which are both real: "
        "the derivative of a real output in a real parameter is real"
    )
