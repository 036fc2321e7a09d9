"""Permute, Cropping1D, ZeroPadding1D and UpSampling1D: they move or resize axes and, as in Keras (no
supports_masking), end the mask."""
from __future__ import annotations

import numpy as np

from rnnspec.backends.numpy.base import Array, Kernel, Mask
from rnnspec.errors import RnnspecError


class Permute(Kernel):
    layer_types = ("Permute",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        return np.transpose(x, (0, *self.a.dims)), None


class Cropping1D(Kernel):
    """A length unknown when checked can still be too short when run: refused, as Keras refuses it."""

    layer_types = ("Cropping1D",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        before, after = self.a.cropping
        if before + after >= x.shape[1]:
            raise RnnspecError("E501", f"Cropping1D{self.a.cropping} cuts {before + after} steps from an input of "
                               f"{x.shape[1]} steps, leaving none", self.node.span,
                               "feed longer sequences, or crop fewer steps; Keras refuses it too")
        return x[:, before:x.shape[1] - after], None


class ZeroPadding1D(Kernel):
    layer_types = ("ZeroPadding1D",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        pads = [(0, 0)] * 3
        pads[2 if self.a.data_format == "channels_first" else 1] = tuple(self.a.padding)
        return np.pad(x, pads), None


class UpSampling1D(Kernel):
    layer_types = ("UpSampling1D",)

    def forward(self, x: Array, mask: Mask) -> tuple[Array, Mask]:
        return np.repeat(x, self.a.size, axis=1), None
