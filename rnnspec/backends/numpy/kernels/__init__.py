"""NumPy kernels by family; importing this package registers them all."""
from rnnspec.backends.numpy.kernels import recurrent  # noqa: F401
from rnnspec.backends.numpy.kernels import core  # noqa: F401
from rnnspec.backends.numpy.kernels import conv  # noqa: F401
from rnnspec.backends.numpy.kernels import normalization  # noqa: F401
from rnnspec.backends.numpy.kernels import wrappers  # noqa: F401
from rnnspec.backends.numpy.kernels import merge  # noqa: F401
