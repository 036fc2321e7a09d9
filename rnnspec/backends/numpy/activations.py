"""Keras 3's activations by name, in NumPy, computed in the input's dtype."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

Array = np.ndarray

_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def sigmoid(x: Array) -> Array:
    # tanh form: one stable ufunc, no overflow warning for large |x|
    return np.tanh(x * 0.5) * 0.5 + 0.5


def hard_sigmoid(x: Array) -> Array:
    return np.clip(x / 6 + 0.5, 0, 1).astype(x.dtype, copy=False)


def softmax(x: Array) -> Array:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(x: Array) -> Array:
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softplus(x: Array) -> Array:
    return np.logaddexp(x, 0).astype(x.dtype, copy=False)


_erf = np.frompyfunc(math.erf, 1, 1)


def gelu(x: Array) -> Array:
    """Exact GELU (Keras's default, approximate=False): x * Phi(x)."""
    return (x * 0.5 * (1 + _erf(x / math.sqrt(2)).astype(x.dtype))).astype(x.dtype, copy=False)


def elu(x: Array) -> Array:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)


def selu(x: Array) -> Array:
    return (_SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0)))).astype(x.dtype, copy=False)


ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "linear": lambda x: x,
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "leaky_relu": lambda x: np.where(x > 0, x, x * x.dtype.type(0.2)),
    "elu": elu,
    "selu": selu,
    "gelu": gelu,
    "silu": lambda x: x * sigmoid(x),
    "swish": lambda x: x * sigmoid(x),
    "hard_silu": lambda x: x * hard_sigmoid(x),
    "hard_swish": lambda x: x * hard_sigmoid(x),
    "softmax": softmax,
    "log_softmax": log_softmax,
    "softplus": softplus,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "exponential": np.exp,
    "mish": lambda x: x * np.tanh(softplus(x)),
}


def activation(name: str) -> Callable[[Array], Array]:
    return ACTIVATIONS[name]
