"""`rnnspec run --input FILE` against hostile and malformed .npy and .npz files, each built here: every one is
refused with exit code 2 (E500, or E503 for an array too large to allocate) and a message naming the file, never
a traceback, an unpickled object, or memory that the file's own claims would make rnnspec spend. The CLI reads
them with the NumPy backend's bounded readers (rnnspec/backends/numpy/npy.py), the ones weight files go through."""
from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from click.testing import CliRunner
from numpy.lib import format as npy_format

import rnnspec
from rnnspec.cli import main

SPEC = "Input(5, 3) > LSTM(4)"
X = np.arange(2 * 5 * 3, dtype=np.float32).reshape(2, 5, 3)
MIB = 1 << 20


def run_input(path: Path):
    return CliRunner().invoke(main, ["run", "-e", SPEC, "--input", str(path)])


def npy_bytes(array: np.ndarray = X, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def npy_raw(header: str, data: bytes = b"") -> bytes:
    """An .npy file (version 1.0) with any header text, padded as NumPy pads it."""
    text = header + " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + data


def npy_v2_prefix(header_length: int) -> bytes:
    """The start of a version 2.0 .npy file whose header declares `header_length` bytes."""
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", header_length)


def write_npz(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def write_npz_streamed(path: Path, name: str, prefix: bytes, filler: bytes, count: int) -> Path:
    """A deflated member of `prefix` then `count` bytes of `filler`, written without holding them (a bomb: the
    archive is a thousandth of what the member inflates to)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(name, "w", force_zip64=True) as member:
            member.write(prefix)
            piece = filler * (MIB // len(filler))
            for start in range(0, count, MIB):
                member.write(piece[:min(MIB, count - start)])
    return path


# ------------------------------------------------------------------------------------------ hostile files


def negative_dimension(folder: Path) -> Path:
    path = folder / "negative.npy"
    path.write_bytes(npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 5, 3), }", bytes(120)))
    return path


def negative_dimension_in_npz(folder: Path) -> Path:
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -5, 3), }"
    return write_npz(folder / "negative.npz", {"x.npy": npy_raw(header, bytes(120))})


def huge_dimensions(folder: Path) -> Path:
    path = folder / "dims.npy"
    path.write_bytes(npy_raw(f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({10 ** 30}, 5, 3), }}"))
    return path


def truncated_data(folder: Path) -> Path:
    path = folder / "truncated.npy"
    path.write_bytes(npy_bytes()[:-7])
    return path


def truncated_header(folder: Path) -> Path:
    path = folder / "header.npy"
    path.write_bytes(npy_bytes()[:40])
    return path


def truncated_npz(folder: Path) -> Path:
    data = write_npz(folder / "whole.npz", {"x.npy": npy_bytes()}).read_bytes()
    path = folder / "truncated.npz"
    path.write_bytes(data[:len(data) // 2])
    return path


def data_past_the_header(folder: Path) -> Path:
    """More bytes than the header declares: not what numpy.save writes."""
    path = folder / "long.npy"
    path.write_bytes(npy_bytes() + bytes(64))
    return path


def wrong_magic(folder: Path) -> Path:
    path = folder / "magic.npy"
    path.write_bytes(b"NOTNUMPY" + npy_bytes()[8:])
    return path


def unknown_version(folder: Path) -> Path:
    path = folder / "version.npy"
    path.write_bytes(npy_bytes()[:6] + b"\x09\x00" + npy_bytes()[8:])
    return path


def header_not_a_dict(folder: Path) -> Path:
    path = folder / "list.npy"
    path.write_bytes(npy_raw("[1, 2, 3]", bytes(120)))
    return path


def header_nested_deeply(folder: Path) -> Path:
    path = folder / "nested.npy"
    path.write_bytes(npy_raw("-" * 9000 + "1", bytes(120)))
    return path


def empty_file(folder: Path) -> Path:
    path = folder / "empty.npy"
    path.write_bytes(b"")
    return path


def structured_values(folder: Path) -> Path:
    path = folder / "records.npy"
    path.write_bytes(npy_bytes(np.zeros((2, 5), dtype=[("a", "<f4"), ("b", "<i4")])))
    return path


def member_not_npy(folder: Path) -> Path:
    return write_npz(folder / "text.npz", {"notes.txt": b"these are not the numbers you are looking for\n"})


def member_two_arrays(folder: Path) -> Path:
    return write_npz(folder / "two.npz", {"x.npy": npy_bytes(), "y.npy": npy_bytes()})


def member_bzip2(folder: Path) -> Path:
    return write_npz(folder / "bz2.npz", {"x.npy": npy_bytes()}, zipfile.ZIP_BZIP2)


def member_encrypted(folder: Path) -> Path:
    """The member's flag says it is encrypted (zipfile writes no encryption, so the flag is set by hand)."""
    path = write_npz(folder / "encrypted.npz", {"x.npy": npy_bytes()}, zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.index(signature)
        data[start + flag_at] |= 1
    path.write_bytes(bytes(data))
    return path


def member_pickled(folder: Path) -> Path:
    return write_npz(folder / "objects.npz", {"x.npy": npy_bytes(np.array([1, "a"], dtype=object), True)})


HOSTILE: list[tuple[str, Callable[[Path], Path], str]] = [
    ("negative dimension", negative_dimension, "negative dimension"),
    ("negative dimension in an .npz member", negative_dimension_in_npz, "negative dimension"),
    ("dimensions past any memory", huge_dimensions, "error[E503]: the array in"),
    ("data cut short", truncated_data, "is cut short"),
    ("header cut short", truncated_header, "reading array header"),
    ("archive cut short", truncated_npz, "a zip archive cut short"),
    ("data past what the header declares", data_past_the_header, "claims float32 values of shape (2, 5, 3)"),
    ("wrong magic", wrong_magic, "magic string is not correct"),
    ("unknown format version", unknown_version, "version 9.0"),
    ("header not a dict", header_not_a_dict, "not a dictionary"),
    ("header nested deeply", header_nested_deeply, "no valid .npy header"),
    ("empty file", empty_file, "reading magic string"),
    ("structured values", structured_values, "a model's input is numbers"),
    ("npz member that is not .npy", member_not_npy, "notes.txt"),
    ("npz of two arrays", member_two_arrays, "holds 2 arrays"),
    ("npz member compressed with bzip2", member_bzip2, "zip method 12"),
    ("npz member encrypted", member_encrypted, "is encrypted"),
    ("npz member of pickled objects", member_pickled, "holds object values"),
]


@pytest.mark.parametrize(("build", "fragment"), [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_a_bad_input_file_is_refused_naming_the_file_and_the_fault(build: Callable[[Path], Path], fragment: str,
                                                                   tmp_path: Path) -> None:
    path = build(tmp_path)
    result = run_input(path)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and str(path) in result.output, result.output
    assert fragment in result.output, result.output
    assert "error[E50" in result.output, result.output


class Planted:
    """Unpickling this opens (creates) a file: proof that something was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_a_pickled_input_is_refused_and_never_unpickled(suffix: str, tmp_path: Path) -> None:
    marker = tmp_path / "UNPICKLED"
    data = npy_bytes(np.array([Planted(marker), 1], dtype=object), allow_pickle=True)
    assert not marker.exists()
    path = tmp_path / f"objects{suffix}"
    if suffix == ".npy":
        path.write_bytes(data)
    else:
        write_npz(path, {"x.npy": data})
    result = run_input(path)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert f"{path}" in result.output and "holds object values" in result.output, result.output
    assert "never unpickles" in result.output, result.output
    assert not marker.exists()


# ------------------------------------------------------------------------------------------ memory


def header_of_many_mb(folder: Path) -> Path:
    """A version 2.0 header declaring 32 MiB, and holding them (spaces): NumPy parses at most 10,000 characters,
    but reads the whole header first."""
    path = folder / "big-header.npy"
    with path.open("wb") as file:
        file.write(npy_v2_prefix(32 * MIB))
        for _ in range(32):
            file.write(b" " * MIB)
    return path


def zip_bomb_header(folder: Path) -> Path:
    """An .npz member whose header inflates to 64 MiB of spaces (from 64 KiB in the archive)."""
    return write_npz_streamed(folder / "bomb-header.npz", "x.npy", npy_v2_prefix(64 * MIB), b" ", 64 * MIB)


def zip_bomb_data(folder: Path) -> Path:
    """An .npz member holding the right array, then 64 MiB of zeros that its header does not declare."""
    return write_npz_streamed(folder / "bomb-data.npz", "x.npy", npy_bytes(), b"\0", 64 * MIB)


BOMBS: list[tuple[str, Callable[[Path], Path], str]] = [
    ("header of 32 MiB", header_of_many_mb, "header"),
    ("npz member whose header inflates to 64 MiB", zip_bomb_header, "header"),
    ("npz member with 64 MiB past its array", zip_bomb_data, "claims float32 values of shape (2, 5, 3)"),
]


@pytest.mark.parametrize(("build", "fragment"), [case[1:] for case in BOMBS], ids=[case[0] for case in BOMBS])
def test_a_bomb_is_refused_without_reading_it_into_memory(build: Callable[[Path], Path], fragment: str,
                                                          tmp_path: Path) -> None:
    path = build(tmp_path)
    run_input(tmp_path / "missing.npy")  # imports and first-call caches, outside the measurement
    tracemalloc.start()
    try:
        result = run_input(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert str(path) in result.output and fragment in result.output and "error[E500]" in result.output, \
        result.output
    assert peak < 8 * MIB, f"reading {path.name} took {peak / MIB:.1f} MiB"


# ------------------------------------------------------------------------------------------ what still loads


@pytest.mark.parametrize("make", [
    lambda: X,
    lambda: np.asfortranarray(X),
    lambda: X.astype(">f8"),
    lambda: X.astype(np.float16),
])
@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_a_good_input_file_runs_as_numpy_load_reads_it(make: Callable[[], np.ndarray], suffix: str,
                                                       tmp_path: Path) -> None:
    x = make()
    path = tmp_path / f"x{suffix}"
    if suffix == ".npy":
        np.save(path, x)
    else:
        np.savez_compressed(path, x=x)
    result = CliRunner().invoke(main, ["run", "-e", SPEC, "--input", str(path), "-o", str(tmp_path / "y.npy")])
    assert result.exit_code == 0, result.output
    assert f"input (2, 5, 3) {x.dtype}" in result.output, result.output
    loaded = np.load(path) if suffix == ".npy" else np.load(path)["x"]
    expected = rnnspec.compile(SPEC, backend="numpy").predict(loaded)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), expected)


def test_an_input_written_by_numpy_format_version_2_runs(tmp_path: Path) -> None:
    path = tmp_path / "v2.npy"
    with path.open("wb") as file:
        npy_format.write_array(file, X, version=(2, 0))
    result = run_input(path)
    assert result.exit_code == 0, result.output
