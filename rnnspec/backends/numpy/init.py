"""Fresh weights drawn like Keras's default initialisers, chosen by the weight's Keras name."""
from __future__ import annotations

import numpy as np

from rnnspec.layers.base import Weight


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


def initial_value(weight: Weight, rng: np.random.Generator, unit_forget_bias: bool = False) -> np.ndarray:
    """Keras's default for this weight: glorot-uniform kernels, orthogonal recurrent kernels, zero biases,
    uniform embeddings, ones for scales and variances; LoRA's A factor he-uniform and B zeros."""
    if weight.name.startswith("lora_") and weight.name.endswith("_a"):
        return he_uniform(rng, weight.shape)
    draw = _BY_NAME.get(weight.name)
    value = draw(rng, weight.shape) if draw else np.zeros(weight.shape)
    if weight.name == "bias" and unit_forget_bias:
        units = weight.shape[-1] // 4
        value[..., units:2 * units] = 1.0  # LSTM: the forget gate starts open
    return value
