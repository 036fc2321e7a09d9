"""NumPy kernels by family; importing this package registers them all."""
from rnnspec.backends.numpy.kernels import recurrent  # noqa: F401
