"""rnnspec: a language and checker for recurrent model architectures.

`import rnnspec` is cheap and imports nothing: each name below loads its module on first use (PEP 562), so the
package imports no TensorFlow, Keras or NumPy, and `python -m rnnspec` can drop the working directory from
`sys.path` before Lark or click is imported from it.
"""
__version__ = "0.1.0"
_HOMES = {
    "check": "rnnspec.api", "compile": "rnnspec.api", "parse": "rnnspec.api", "select": "rnnspec.api",
    "from_keras": "rnnspec.from_keras_spec",
    "RnnspecError": "rnnspec.errors", "Span": "rnnspec.errors", "ModelReport": "rnnspec.infer", "Row": "rnnspec.infer",
}
__all__ = [*_HOMES, "__version__"]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'rnnspec' has no attribute '{name}'")
    from importlib import import_module

    value = getattr(import_module(home), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
