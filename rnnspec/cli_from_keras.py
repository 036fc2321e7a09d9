"""`rnnspec from-keras`: the spec of a saved Keras model (and, with --weights, its NumPy model), no TensorFlow."""
from __future__ import annotations

import click

from rnnspec.cli import EXIT_USAGE, _fail, _out, main
from rnnspec.errors import RnnspecError

# Errors about the input file itself (unreadable, not a Keras model, h5py missing to read it) are usage problems
# (exit 2); the rest are the model's (exit 1).
USAGE_CODES = ("E500", "E513")


def _in_file(err: RnnspecError, file: str) -> RnnspecError:
    """A Keras file has no lines to point at: its errors are placed in it by name, as a compiler's file errors."""
    if not err.message.startswith(file):
        err.message = f"{file}: {err.message}"
    return err


def _exit_code(err: RnnspecError) -> int | None:
    return EXIT_USAGE if err.code in USAGE_CODES or err.code == "E501" and "h5py" in err.message else None


@main.command(name="from-keras")
@click.argument("file", type=click.Path())
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the spec here (default: print it).")
@click.option("--name", metavar="NAME", help="The model's name in the spec (default: the Keras model's).")
@click.option("--weights", metavar="NPZ", type=click.Path(dir_okay=False),
              help="Also write the NumPy model (spec and the file's weights) to this .npz.")
def from_keras_command(file: str, output: str | None, name: str | None, weights: str | None) -> None:
    """Write the spec of a saved Keras model: a .keras file, a legacy .h5 or a config.json (model.to_json()).

    Reads the file with the standard library (and h5py for weights and .h5), never TensorFlow; the spec carries the
    file's own shape and parameter counts as `expect` lines and is checked against them."""
    from rnnspec.from_keras_spec import from_keras_file

    if weights is not None and not weights.endswith(".npz"):
        raise click.UsageError("--weights writes the NumPy model: give a path ending in .npz")
    try:
        text = from_keras_file(file, name=name, weights=weights)
    except RnnspecError as err:
        _fail(_in_file(err, file), exit_code=_exit_code(err))
    except MemoryError:
        _fail(RnnspecError("E503", f"out of memory while reading {file}"))
    if output is None:
        _out(text.rstrip("\n"))
        return
    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as err:
        _fail(RnnspecError("E500", f"cannot write {output}: {err.strerror or err}"))
    saved = f" and its weights to {weights}" if weights else ""
    _out(f"wrote the spec of {text.split(':', 1)[0][len('model '):]} to {output}{saved}")
