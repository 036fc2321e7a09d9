"""The regularising layers that act only while training: GaussianNoise, GaussianDropout, AlphaDropout and
ActivityRegularization. At inference each is the identity and passes the mask on (Keras: supports_masking)."""
from __future__ import annotations

from dataclasses import replace

from rnnspec.layers.base import Args, Float, IntTuple, LayerType, Param, ShapeError
from rnnspec.layers.objects import SEED
from rnnspec.shape import Shape, format_shape

# Keras accepts a rate of 1, then divides by zero (1 - rate) when it draws the noise in training.
NOISE_RATE = Float(min=0.0, max=1.0, description="a rate from 0 up to (not including) 1",
                   max_reason="Keras's noise divides by 1 - rate while training")
SEED_ARG = replace(SEED, positional=True)  # positional here, as in Keras's signatures


class NoiseFamily(LayerType):
    family = "noise"


class GaussianNoise(NoiseFamily):
    """Adds zero-centred Gaussian noise of `stddev` while training."""

    name = "GaussianNoise"
    params = (Param("stddev", Float(min=0.0, max=1.0), positional=True, doc="the noise's standard deviation"),
              SEED_ARG)


class GaussianDropout(NoiseFamily):
    """Multiplies by Gaussian noise of mean 1 and variance `rate / (1 - rate)` while training."""

    name = "GaussianDropout"
    params = (Param("rate", NOISE_RATE, positional=True), SEED_ARG)


class AlphaDropout(NoiseFamily):
    """Dropout that keeps SELU's mean and variance while training; `noise_shape` chooses what drops together."""

    name = "AlphaDropout"
    params = (
        Param("rate", NOISE_RATE, positional=True),
        Param("noise_shape", IntTuple(min=1, allow_none=True, nullable=True), None, positional=True,
              doc="the drop pattern's shape, batch included (None: the input's size there; 1: shared)"),
        SEED_ARG,
    )

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        """Keras builds any `noise_shape`, then fails in training unless its drop pattern broadcasts against the
        input: None takes the input's size on that axis (counted from the front), and the pattern then meets the
        input as NumPy broadcasting does (from the back), each size 1 or the input's."""
        noise = a.noise_shape
        if noise is None:
            return shape
        fits = len(noise) <= len(shape)
        if fits:
            concrete = [shape[i] if n is None else n for i, n in enumerate(noise)]
            fits = all(n in (None, 1) or d is None or n == d for n, d in zip(concrete[::-1], shape[::-1]))
        if not fits:
            raise ShapeError(f"AlphaDropout's noise_shape {format_shape(noise)} does not broadcast against its input "
                             f"{format_shape(shape)}",
                             hint="give one size per axis, batch first: None for the input's size, 1 to share "
                                  "(Keras accepts it, then fails while training)")
        return shape


class ActivityRegularization(NoiseFamily):
    """Adds `l1 * sum|x| + l2 * sum x^2` of its input to the loss while training."""

    name = "ActivityRegularization"
    # Keras builds its own activity_regularizer from l1 and l2, so passing one fails ("multiple values")
    generic = tuple(g for g in LayerType.generic if g != "activity_regularizer")
    unsupported = {"activity_regularizer": "ActivityRegularization makes its own from l1 and l2 (Keras fails on a "
                                           "second one)"}
    params = (Param("l1", Float(min=0.0), 0.0, positional=True), Param("l2", Float(min=0.0), 0.0, positional=True))
