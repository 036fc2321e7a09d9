"""`python -m rnnspec`: the rnnspec command.

`python -m` puts the working directory first on `sys.path`, so a `click.py` or `lark.py` there would be imported
in place of the real one (code from whatever directory a check runs in). It is dropped before anything else is
imported; `import rnnspec`, which ran already, imports nothing.
"""
import os
import sys


def _drop_working_directory() -> None:
    if not sys.path:
        return
    try:
        first, here = os.path.realpath(sys.path[0] or os.curdir), os.path.realpath(os.getcwd())
    except OSError:  # the working directory was removed: nothing can be imported from it
        return
    if first == here:
        del sys.path[0]


if __name__ == "__main__":
    _drop_working_directory()
    from rnnspec.cli import main  # only now: not from the working directory

    main(prog_name="rnnspec")
