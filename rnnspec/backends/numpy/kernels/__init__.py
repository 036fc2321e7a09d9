"""NumPy kernels by family; importing this package registers them all."""
from rnnspec.backends.numpy.kernels import recurrent  # noqa: F401
from rnnspec.backends.numpy.kernels import core  # noqa: F401
from rnnspec.backends.numpy.kernels import conv  # noqa: F401
from rnnspec.backends.numpy.kernels import normalization  # noqa: F401
from rnnspec.backends.numpy.kernels import wrappers  # noqa: F401
from rnnspec.backends.numpy.kernels import merge  # noqa: F401
from rnnspec.backends.numpy.kernels import conv2d, preprocessing  # noqa: F401
from rnnspec.backends.numpy.kernels import cells  # noqa: F401
from rnnspec.backends.numpy.kernels import conv_recurrent  # noqa: F401
from rnnspec.backends.numpy.kernels import activations, conv_more, noise, reshaping  # noqa: F401
from rnnspec.backends.numpy.kernels import attention  # noqa: F401
from rnnspec.backends.numpy.kernels import multi_head_attention  # noqa: F401
