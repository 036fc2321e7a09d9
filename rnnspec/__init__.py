"""rnnspec: a language and checker for recurrent model architectures.

`import rnnspec` is cheap: it loads no TensorFlow, Keras or NumPy; the backends import them when used.
"""
from rnnspec.api import check, compile, parse, select
from rnnspec.errors import RnnspecError, Span
from rnnspec.infer import ModelReport, Row

__version__ = "0.1.0"
__all__ = ["check", "compile", "parse", "select", "RnnspecError", "Span", "ModelReport", "Row", "__version__"]
