"""CS231n assignment-2 layers, transcribed from a public solution (see public_cases).

Source: KamijouToumaKun/cs231n, spring1718_assignment2_v2/cs231n/layers.py at
6a47549468abbac37a2b298a59fd34642e48326a. The formula lines are the published ones,
restyled; functions named ``*_published`` keep a published quirk, and functions with
a bug's name plant that one bug (the tests say which).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]
Cache = Any


def affine_forward(x: Array, w: Array, b: Array) -> tuple[Array, Cache]:
    return x.reshape(x.shape[0], -1).dot(w) + b, (x, w, b)


def affine_backward_published(dout: Array, cache: Cache) -> tuple[Array, Array, Array]:
    x, w, _ = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=0, keepdims=True)  # published: shape (1, M)
    return dx, dw, db


def affine_backward(dout: Array, cache: Cache) -> tuple[Array, Array, Array]:
    dx, dw, db = affine_backward_published(dout, cache)
    return dx, dw, db.reshape(cache[2].shape)


def affine_backward_no_transpose(dout: Array, cache: Cache) -> tuple[Array, Array, Array]:
    x, w, _ = cache
    _, dw, db = affine_backward(dout, cache)
    return dout.dot(w).reshape(x.shape), dw, db  # bug: w, not w.T


def relu_forward(x: Array) -> tuple[Array, Cache]:
    out = np.zeros_like(x)
    out += x
    out[out < 0] = 0
    return out, x


def relu_backward(dout: Array, x: Cache) -> Array:
    dx = np.zeros_like(dout)
    dx += dout
    dx[x <= 0] = 0
    return dx


def relu_backward_no_dout(dout: Array, x: Cache) -> Array:
    return (x > 0).astype(dout.dtype)  # bug: the upstream gradient is dropped


def batchnorm_forward(x: Array, gamma: Array, beta: Array) -> tuple[Array, Cache]:
    eps = 1e-5
    mean, var = np.mean(x, axis=0), np.var(x, axis=0)
    xn = (x - mean) / np.sqrt(var + eps)
    return gamma * xn + beta, (x, mean, var, xn, gamma, eps)


def _batchnorm_backward(dout: Array, cache: Cache, mean_scale: float | None) -> tuple[Array, ...]:
    x, mean, var, xn, gamma, eps = cache
    n = x.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(xn * dout, axis=0)
    dxn = gamma * dout
    dvar = np.sum(-1.0 / 2 * dxn * xn / (var + eps), axis=0)
    dmean = np.sum(-1 / np.sqrt(var + eps) * dxn, axis=0)
    scale = 1.0 / n if mean_scale is None else mean_scale
    dx = 1 / np.sqrt(var + eps) * dxn + dvar * 2.0 / n * (x - mean) + scale * dmean
    return dx, dgamma, dbeta


def batchnorm_backward(dout: Array, cache: Cache) -> tuple[Array, ...]:
    return _batchnorm_backward(dout, cache, None)


def batchnorm_backward_no_mean_n(dout: Array, cache: Cache) -> tuple[Array, ...]:
    return _batchnorm_backward(dout, cache, 1.0)  # bug: the mean's 1/N forgotten


def pool_forward(stride: int, size: int = 2) -> Callable[[Array], tuple[Array, Cache]]:
    def forward(x: Array) -> tuple[Array, Cache]:
        n, c, h, w = x.shape
        oh, ow = 1 + (h - size) // stride, 1 + (w - size) // stride  # published: (size, size)
        out = np.zeros((n, c, oh, ow))
        for i in range(oh):
            for j in range(ow):
                win = x[:, :, i * stride : i * stride + size, j * stride : j * stride + size]
                out[:, :, i, j] = win.max(axis=(2, 3))
        return out, x

    return forward


def pool_backward(stride: int, size: int = 2) -> Callable[[Array, Cache], Array]:
    def backward(dout: Array, x: Cache) -> Array:
        n, c, h, w = x.shape
        oh, ow = 1 + (h - size) // stride, 1 + (w - size) // stride
        dx = np.zeros_like(x)
        for a in range(n):
            for b in range(c):
                for i in range(oh):
                    for j in range(ow):
                        rows = slice(i * stride, i * stride + size)
                        cols = slice(j * stride, j * stride + size)
                        win = x[a, b, rows, cols]
                        dx[a, b, rows, cols] = (win == np.max(win)) * dout[a, b, i, j]
        return dx

    return backward


def conv_forward(x: Array, w: Array, b: Array) -> tuple[Array, Cache]:
    pad, stride = 1, 1
    n, _, h, wd = x.shape
    f, _, fh, fw = w.shape
    oh, ow = 1 + (h + 2 * pad - fh) // stride, 1 + (wd + 2 * pad - fw) // stride
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((n, f, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * stride : i * stride + fh, j * stride : j * stride + fw]
            out[:, :, i, j] = np.tensordot(win, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, pad, stride)


def _conv_backward(dout: Array, cache: Cache, flip: bool) -> tuple[Array, Array, Array]:
    x, w, b, pad, stride = cache
    _, _, h, wd = x.shape
    f, _, fh, fw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw, db = np.zeros_like(xp), np.zeros_like(w), np.zeros_like(b)
    kernel = w[:, :, ::-1, ::-1] if flip else w  # the bug: convolution, not correlation
    for n in range(x.shape[0]):
        for k in range(f):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows = slice(i * stride, i * stride + fh)
                    cols = slice(j * stride, j * stride + fw)
                    db[k] += dout[n, k, i, j]
                    dw[k] += xp[n, :, rows, cols] * dout[n, k, i, j]
                    dxp[n, :, rows, cols] += kernel[k] * dout[n, k, i, j]
    return dxp[:, :, pad : pad + h, pad : pad + wd], dw, db


def conv_backward(dout: Array, cache: Cache) -> tuple[Array, Array, Array]:
    return _conv_backward(dout, cache, False)


def conv_backward_flipped(dout: Array, cache: Cache) -> tuple[Array, Array, Array]:
    return _conv_backward(dout, cache, True)


def _softmax_loss(x: Array, y: Array, scale: bool) -> tuple[float, Array]:
    shifted = x - np.max(x, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    n = x.shape[0]
    loss = -np.sum(log_probs[np.arange(n), y]) / n
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1
    return float(loss), dx / n if scale else dx


def softmax_loss(x: Array, y: Array) -> tuple[float, Array]:
    return _softmax_loss(x, y, True)


def softmax_loss_no_n(x: Array, y: Array) -> tuple[float, Array]:
    return _softmax_loss(x, y, False)  # bug: the 1/N of the mean forgotten


def _svm_loss(x: Array, y: Array, minus_one: bool) -> tuple[float, Array]:
    n = x.shape[0]
    correct = x[np.arange(n), y]
    margins = np.maximum(0, x - correct[:, np.newaxis] + 1.0)
    margins[np.arange(n), y] = 0
    loss = np.sum(margins) / n
    num_pos = np.sum(margins > 0, axis=1)
    dx = np.zeros_like(x)
    dx[margins > 0] = 1
    dx[np.arange(n), y] -= 1 if minus_one else num_pos
    return float(loss), dx / n


def svm_loss(x: Array, y: Array) -> tuple[float, Array]:
    return _svm_loss(x, y, False)


def svm_loss_minus_one(x: Array, y: Array) -> tuple[float, Array]:
    return _svm_loss(x, y, True)  # bug: -1 where every positive margin counts


def affine_relu_forward(x: Array, w: Array, b: Array) -> tuple[Array, Cache]:
    """affine then ReLU, as the assignment's ``layer_utils.affine_relu_forward``."""
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout: Array, cache: Cache) -> tuple[Array, Array, Array]:
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


def affine_relu_backward_unmasked_db(dout: Array, cache: Cache) -> tuple[Array, Array, Array]:
    dx, dw, _ = affine_relu_backward(dout, cache)
    return dx, dw, np.sum(dout, axis=0)  # bug: db from dout, the ReLU's mask skipped
