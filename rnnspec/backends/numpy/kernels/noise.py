"""GaussianNoise, GaussianDropout, AlphaDropout and ActivityRegularization at inference: the identity, the mask
passed on (Keras adds their noise or penalty only while training)."""
from __future__ import annotations

from rnnspec.backends.numpy.base import Kernel


class TrainingOnly(Kernel):
    layer_types = ("GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization")
