"""The layer registry: importing this package registers every family."""
from rnnspec.layers import conv, core, merge, normalization, recurrent, wrappers  # noqa: F401
from rnnspec.layers import conv2d, preprocessing  # noqa: F401
from rnnspec.layers import cells  # noqa: F401
from rnnspec.layers import conv_recurrent  # noqa: F401
from rnnspec.layers import activations, conv_more, noise, reshaping  # noqa: F401
from rnnspec.layers import attention  # noqa: F401
from rnnspec.layers import multi_head_attention  # noqa: F401
from rnnspec.layers.base import LayerNode, LayerType, Tensor, Weight, lookup, registry

__all__ = ["LayerNode", "LayerType", "Tensor", "Weight", "lookup", "registry"]
