"""Reading `.npy` arrays and zip members that someone else wrote, with memory bounded by what the reader expects.

Weight files (`weights_io`) and `rnnspec run --input` read through these, so both refuse the same things the same
way, each an `RnnspecError` E500 naming the file (and the member):
- `zip_member`: a member that can be read with bounded memory (present, not encrypted, stored or deflated: bzip2
  and lzma inflate without bound);
- `Capped`: a stream that gives at most `limit` bytes, whatever a zip member's header declared (a deflate bomb);
- `npy_header`: the magic, version and header of an `.npy`, read through a `Capped` stream of `NPY_HEADER_BYTES`
  (NumPy would read a header of any length into memory before refusing it), refusing a negative dimension and
  objects (nothing is ever unpickled); `NpyHeader.check_size` then compares the data it declares with what the
  file holds, before any of it is read;
- `npy_data`: the array after the header, read in pieces into its own buffer;
- `reading`: whatever a damaged file makes the readers raise, as E500.
"""
from __future__ import annotations

import math
import struct
import zipfile
import zlib
from contextlib import contextmanager
from typing import BinaryIO, Iterator, NamedTuple

import numpy as np
from numpy.lib import format as npy_format

from rnnspec.errors import RnnspecError

NPY_HEADER_BYTES = 12 + 65_536  # magic, version, length, then the header (NumPy parses at most 10,000 characters)
ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}  # bz2 and lzma inflate unbounded

# What zipfile, zlib, NumPy's header parser and h5py raise on a damaged file; caught only around reading calls.
DAMAGED = (OSError, EOFError, ValueError, TypeError, KeyError, OverflowError, zipfile.BadZipFile, zlib.error,
           struct.error)


def reason(err: BaseException) -> str:
    """The first line of what a reader raised, short enough for an error message."""
    text = getattr(err, "strerror", None) or str(err).strip("'\"") or type(err).__name__
    return text.splitlines()[0][:200]


@contextmanager
def reading(where: str) -> Iterator[None]:
    """Whatever a damaged file makes the readers raise, as E500 naming the file (and the member)."""
    try:
        yield
    except DAMAGED as err:
        raise RnnspecError("E500", f"cannot read {where}: {reason(err)}",
                           hint="the file is damaged, truncated or not what its name says") from None


def size_text(nbytes: int) -> str:
    """`120 bytes`, `64.0 KiB`, `4.0 TiB`."""
    if nbytes < 1024:
        return f"{nbytes:,} bytes"
    value, unit = float(nbytes), ""
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024:
            break
    return f"{value:,.1f} {unit}"


def zip_member(archive: zipfile.ZipFile, name: str, shown: str, hint: str | None = None) -> zipfile.ZipInfo:
    """A member that can be read with bounded memory: present, not encrypted, stored or deflated."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise RnnspecError("E500", f"{shown} holds no {name}", hint=hint) from None
    if info.flag_bits & 0x1:
        raise RnnspecError("E500", f"{shown}: {name} is encrypted")
    if info.compress_type not in ZIP_METHODS:
        raise RnnspecError("E500", f"{shown}: {name} is compressed with zip method {info.compress_type}; rnnspec "
                           "reads stored or deflated members", hint="write the archive again with NumPy or Keras")
    return info


class Capped:
    """A stream's bytes, never more than `limit` of them, whatever a zip member's header declared."""

    def __init__(self, stream: BinaryIO, limit: int, where: str) -> None:
        self.stream, self.limit, self.where, self.taken = stream, limit, where, 0

    def read(self, size: int = -1) -> bytes:
        room = self.limit - self.taken
        data = self.stream.read(room + 1 if size < 0 or size > room else size)
        self.taken += len(data)
        if self.taken > self.limit:
            raise RnnspecError("E500", f"{self.where} holds more than the {size_text(self.limit)} it may hold",
                               hint="the member's header understates its size (a zip bomb?)")
        return data

    def close(self) -> None:
        self.stream.close()


class NpyHeader(NamedTuple):
    shape: tuple[int, ...]
    fortran_order: bool
    dtype: np.dtype
    offset: int  # bytes before the data

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    def __str__(self) -> str:
        return f"{self.dtype} values of shape {self.shape}"

    def check_size(self, declared: int, where: str) -> None:
        """The file (or member) is `declared` bytes long: exactly this header and the data it declares."""
        held = max(declared - self.offset, 0)
        if held < self.nbytes:
            raise RnnspecError("E500", f"{where} is cut short: it claims {self} ({size_text(self.nbytes)}), but "
                               f"holds {size_text(held)} of data", hint="the file was not written completely")
        if held > self.nbytes:
            raise RnnspecError("E500", f"{where} claims {self} ({size_text(self.nbytes)}), but holds "
                               f"{size_text(held)} of data", hint="numpy.save writes the data and nothing after it")


def npy_header(stream: Capped, where: str) -> NpyHeader:
    """An `.npy` header, read through a stream capped at NPY_HEADER_BYTES, before any of its data."""
    try:
        version = npy_format.read_magic(stream)  # type: ignore[arg-type]
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"version {version[0]}.{version[1]} is not written by NumPy for numbers")
        read = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
        shape, fortran_order, dtype = read(stream)  # type: ignore[arg-type]
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError) as err:  # Python's parser gives
        # up on a deeply nested header (at most 10,000 characters) with MemoryError or RecursionError
        raise RnnspecError("E500", f"{where} has no valid .npy header: {reason(err)}") from None
    except RnnspecError:  # the stream refused to give more: a header no NumPy writes, or a bomb
        raise RnnspecError("E500", f"{where} has an .npy header longer than {size_text(stream.limit)}; NumPy reads "
                           "headers of at most 10,000 characters",
                           hint="the file is damaged or not an .npy array") from None
    if any(d < 0 for d in shape):
        raise RnnspecError("E500", f"{where} has a negative dimension in its shape {shape}")
    header = NpyHeader(tuple(shape), fortran_order, dtype, stream.taken)
    if dtype.hasobject:
        raise RnnspecError("E500", f"{where} holds {dtype} values: pickled Python objects, which rnnspec never "
                           "unpickles", hint="save an array of numbers")
    return header


def npy_data(stream: Capped, header: NpyHeader, where: str) -> np.ndarray:
    """The array after `header`, read in pieces into its own buffer (no second copy)."""
    stream.limit = header.offset + header.nbytes
    array = np.empty(math.prod(header.shape), header.dtype)
    raw = array.view(np.uint8)
    filled = 0
    with reading(where):
        while filled < len(raw):
            piece = stream.read(min(len(raw) - filled, 1 << 20))
            if not piece:
                raise RnnspecError("E500", f"{where} ends after {size_text(filled)} of its {size_text(len(raw))} "
                                   "of data")
            raw[filled:filled + len(piece)] = np.frombuffer(piece, np.uint8)
            filled += len(piece)
        stream.read()  # the end of the member: zipfile checks its CRC here
    return array.reshape(header.shape, order="F" if header.fortran_order else "C")


__all__ = ["NPY_HEADER_BYTES", "ZIP_METHODS", "DAMAGED", "reason", "reading", "size_text", "zip_member", "Capped",
           "NpyHeader", "npy_header", "npy_data"]
