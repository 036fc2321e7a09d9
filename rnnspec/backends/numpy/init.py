"""Fresh weights drawn like Keras's default initialisers, chosen by the weight's Keras name."""
from __future__ import annotations

import numpy as np

from rnnspec.layers.base import Weight
from rnnspec.layers.objects import CLASSES, KerasObject


def glorot_uniform(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    fan_in, fan_out = (shape[-2] * receptive, shape[-1] * receptive) if len(shape) >= 2 else (shape[0], shape[0])
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape)


def he_uniform(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    fan_in = shape[-2] * receptive if len(shape) >= 2 else shape[0]
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, shape)


def orthogonal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    rows, cols = shape[0], int(np.prod(shape[1:]))
    flat = rng.normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    return (q.T if rows < cols else q).reshape(shape)


_BY_NAME = {
    "kernel": glorot_uniform,
    "recurrent_kernel": orthogonal,
    "embeddings": lambda rng, shape: rng.uniform(-0.05, 0.05, shape),
    "gamma": lambda rng, shape: np.ones(shape),
    "moving_variance": lambda rng, shape: np.ones(shape),
    "moving_stddev": lambda rng, shape: np.ones(shape),
    "renorm_stddev": lambda rng, shape: np.ones(shape),
}


def fans(shape: tuple[int, ...]) -> tuple[float, float]:
    """Keras's `compute_fans`: the last two axes, times the receptive field of the others (a convolution's)."""
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


def variance_scaling(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0, mode: str = "fan_in",
                     distribution: str = "truncated_normal") -> np.ndarray:
    """Keras's VarianceScaling, of which the Glorot, He and LeCun initialisers are cases."""
    fan_in, fan_out = fans(shape)
    scale /= max(1.0, {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode])
    if distribution == "uniform":
        limit = np.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, shape)
    if distribution == "truncated_normal":
        return truncated_normal(rng, shape, 0.0, np.sqrt(scale) / 0.87962566103423978)
    return rng.normal(0.0, np.sqrt(scale), shape)


def truncated_normal(rng: np.random.Generator, shape: tuple[int, ...], mean: float, stddev: float) -> np.ndarray:
    """Normal values redrawn until within two standard deviations of the mean, as Keras's."""
    values = rng.normal(0.0, 1.0, shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.normal(0.0, 1.0, int(outside.sum()))
        outside = np.abs(values) > 2
    return mean + stddev * values


_VARIANCE_SCALING = {  # (scale, mode, distribution) of each named case
    "GlorotNormal": (1.0, "fan_avg", "truncated_normal"), "GlorotUniform": (1.0, "fan_avg", "uniform"),
    "HeNormal": (2.0, "fan_in", "truncated_normal"), "HeUniform": (2.0, "fan_in", "uniform"),
    "LecunNormal": (1.0, "fan_in", "truncated_normal"), "LecunUniform": (1.0, "fan_in", "uniform"),
}


def draw(initializer: KerasObject, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values from a named initialiser with Keras's distribution; one with a seed draws the same values each time
    (Keras's own random stream is not reproduced)."""
    name, get = initializer.name, initializer.get
    seed = get("seed") if any(p.name == "seed" for p in CLASSES["initializer"][name]) else None
    if seed is not None:
        rng = np.random.default_rng(seed)
    if name in _VARIANCE_SCALING:
        return variance_scaling(rng, shape, *_VARIANCE_SCALING[name])
    if name == "VarianceScaling":
        return variance_scaling(rng, shape, get("scale"), get("mode"), get("distribution"))
    if name == "Zeros":
        return np.zeros(shape)
    if name == "Ones":
        return np.ones(shape)
    if name == "Constant":
        return np.full(shape, get("value"))
    if name == "RandomNormal":
        return rng.normal(get("mean"), get("stddev"), shape)
    if name == "RandomUniform":
        return rng.uniform(get("minval"), get("maxval"), shape)
    if name == "TruncatedNormal":
        return truncated_normal(rng, shape, get("mean"), get("stddev"))
    if name == "Identity":
        return get("gain") * np.eye(*shape[-2:]) if len(shape) == 2 else np.zeros(shape)
    assert name == "Orthogonal", name
    return get("gain") * orthogonal(rng, shape)


def initial_value(weight: Weight, rng: np.random.Generator, unit_forget_bias: bool = False,
                  initializer: KerasObject | None = None) -> np.ndarray:
    """The layer's initialiser for this weight where the spec names one, else Keras's default: glorot-uniform
    kernels, orthogonal recurrent kernels, zero biases, uniform embeddings, ones for scales and variances; LoRA's A
    factor he-uniform and B zeros."""
    if initializer is not None:
        value = draw(initializer, rng, weight.shape)
    elif weight.name.startswith("lora_") and weight.name.endswith("_a"):
        return he_uniform(rng, weight.shape)
    else:
        by_name = _BY_NAME.get(weight.name)
        value = by_name(rng, weight.shape) if by_name else np.zeros(weight.shape)
    if weight.name == "bias" and unit_forget_bias:
        units = weight.shape[-1] // 4
        value[..., units:2 * units] = 1.0  # LSTM: the forget gate starts open
    return value
