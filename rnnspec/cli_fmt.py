"""`rnnspec fmt` and `rnnspec check --update/--diff`: commands that rewrite spec files, and the one safe way they
write (a temporary file beside the spec, then an atomic rename; never through a symbolic link)."""
from __future__ import annotations

import os
import stat
from typing import Callable, Iterator, NamedTuple

import click

from rnnspec import api
from rnnspec.cli import (
    EXIT_OK, EXIT_SPEC, EXIT_USAGE, SourceResult, _no_empty_path, _out, _show_error, _show_errors, main, spec_files,
)
from rnnspec.errors import RnnspecError, Span
from rnnspec.render import source_lines

# difflib, tempfile and the formatter are imported by the commands that use them: every `rnnspec check` imports
# this module, and its start-up time is measured (bench/cold_start.py).


class Rewrite(NamedTuple):
    """A file's text before and after a rewrite (`error` when it could not be rewritten)."""

    path: str
    before: str | None
    after: str | None
    error: RnnspecError | None = None


def unified_diff(path: str, before: str, after: str) -> str:
    """The change as `diff -u` shows it; a CRLF file's line ends are shown as plain ones (the rewrite keeps them)."""
    import difflib

    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 f"{path}", f"{path}", lineterm="\n")
    return "".join(line.rstrip("\r\n") + "\n" if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)


def write_atomically(path: str, text: str) -> None:
    """Replace `path` with `text`: written to a temporary file in the same directory (same file system), its mode
    copied, flushed, then renamed over the original, so a reader sees the old file or the new one, never half of
    one. A symbolic link is refused rather than replaced (or followed to a file elsewhere)."""
    import tempfile

    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise RnnspecError("E500", f"{path} is a symbolic link; not rewritten",
                           hint="run the command on the file it points to")
    if not stat.S_ISREG(info.st_mode):
        raise RnnspecError("E500", f"{path} is not a regular file; not rewritten")
    directory = os.path.dirname(path) or "."
    fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(text.encode("utf-8"))
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, stat.S_IMODE(info.st_mode))
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _rewrites(paths: tuple[str, ...], rewrite: Callable[[str, str], str]) -> Iterator[Rewrite]:
    """Each spec file of PATHS, read and rewritten in memory (nothing written yet), one at a time so that memory
    does not grow with the number of files."""
    for raw in paths:
        for found in spec_files(raw):
            if isinstance(found, SourceResult):
                yield Rewrite(found.path, None, None, found.errors[0])
                continue
            shown = str(found)
            try:
                before = api.read_spec_file(found)
            except RnnspecError as err:
                yield Rewrite(shown, None, None, err)
                continue
            try:
                yield Rewrite(shown, before, rewrite(before, shown))
            except RnnspecError as err:
                yield Rewrite(shown, before, None, err)


def _first_change(before: str, after: str, path: str) -> Span:
    """Where a file first differs from its canonical form, for the E520 caret."""
    old, new = before.splitlines(), after.splitlines()
    line = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    a, b = (old[line] if line < len(old) else ""), (new[line] if line < len(new) else "")
    column = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return Span(path, line + 1, column + 1, line + 1, column + 2)


def _save(rewrite: Rewrite) -> RnnspecError | None:
    try:
        write_atomically(rewrite.path, rewrite.after)  # type: ignore[arg-type]
    except RnnspecError as err:
        return err
    except OSError as err:
        return RnnspecError("E500", f"cannot write {rewrite.path}: {err.strerror or err}")
    return None


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(), callback=_no_empty_path)
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing; exit 1 listing the files not in canonical form (E520).")
@click.option("--diff", is_flag=True, help="Write nothing; print what would change as a unified diff (exit 1 if any).")
def fmt(paths: tuple[str, ...], check_only: bool, diff: bool) -> None:
    """Rewrite PATHS (files, or directories searched for *.rnn) in the canonical layout (docs/fmt.md).

    A file with a syntax error is reported and left as it is."""
    from rnnspec.formatting import format_spec

    changed = unchanged = 0
    exit_code = EXIT_OK
    for rewrite in _rewrites(paths, format_spec):
        if rewrite.error is not None:
            _show_errors(SourceResult(rewrite.path, rewrite.before), [rewrite.error])
            exit_code = max(exit_code, EXIT_USAGE if rewrite.before is None or rewrite.error.code == "E500"
                            else EXIT_SPEC)
            continue
        assert rewrite.before is not None and rewrite.after is not None
        if rewrite.after == rewrite.before:
            unchanged += 1
            continue
        changed += 1
        if diff:
            _out(unified_diff(rewrite.path, rewrite.before, rewrite.after).rstrip("\n"))
        if check_only:
            _show_error(RnnspecError("E520", "not in canonical form: `rnnspec fmt` changes the layout from here",
                                     _first_change(rewrite.before, rewrite.after, rewrite.path),
                                     f"run `rnnspec fmt {rewrite.path}` (`--diff` shows the change)"),
                        source_lines(rewrite.before))
        if check_only or diff:
            exit_code = max(exit_code, EXIT_SPEC)
            continue
        error = _save(rewrite)
        if error is not None:
            _show_error(error)
            exit_code = EXIT_USAGE
            continue
        _out(f"reformatted {rewrite.path}")
    verb = "would reformat" if check_only or diff else "reformatted"
    _out(f"{verb} {changed} file(s), {unchanged} already canonical")
    raise SystemExit(exit_code)


def refresh_assertions(paths: tuple[str, ...], write: bool) -> tuple[bool, bool]:
    """`check --update` (write) and `check --diff` (show): each file's assertions brought up to date. Returns
    (whether any file changed or would change, whether a file could not be written). A file that cannot be read,
    or does not parse, is left to the check that follows to report."""
    changed = failed = False
    for rewrite in _rewrites(paths, _updated):
        if rewrite.error is not None:
            if rewrite.error.code == "E104" and rewrite.before is not None:
                _show_error(rewrite.error)
            elif rewrite.before is not None:
                _out(f"{rewrite.path}: not updated: the file does not parse")
            continue
        assert rewrite.before is not None and rewrite.after is not None
        if rewrite.after == rewrite.before:
            continue
        changed = True
        if not write:
            _out(unified_diff(rewrite.path, rewrite.before, rewrite.after).rstrip("\n"))
            continue
        error = _save(rewrite)
        if error is not None:
            _show_error(error)
            failed = True
            continue
        _out(f"updated {rewrite.path}")
    return changed, failed


def _updated(text: str, path: str) -> str:
    from rnnspec.update import update_spec

    update = update_spec(text, path)
    for skipped in update.skipped:
        codes = ", ".join(sorted({e.code for e in skipped.errors}))
        _out(f"{path}: model '{skipped.name}' not updated: it has errors --update does not fix ({codes})")
    return update.text


__all__ = ["fmt", "refresh_assertions", "unified_diff", "write_atomically"]
