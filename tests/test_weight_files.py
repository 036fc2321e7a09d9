"""Hostile and malformed weight files, built here from files Keras and rnnspec wrote: each ends in E500 naming the
file and what is wrong (E501 where a well-formed file's weights do not fit the spec), never a traceback, a hang,
a read outside the file or an allocation the spec does not imply."""
from __future__ import annotations

import bz2
import io
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
import pytest

import rnnspec
from rnnspec.backends.numpy.weights_io import load_from_keras, load_npz, load_weights, save_npz
from rnnspec.errors import RnnspecError

from .conftest import ROOT

h5py = pytest.importorskip("h5py")

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

SPEC = "Input(7, 3) > LSTM(4, seq) > GRU(2)"
LSTM_KERNEL = "layers/lstm/cell/vars/0"


class Base(NamedTuple):
    """SPEC's weights as Keras writes them (.weights.h5, .keras, legacy .h5) and as rnnspec writes them (.npz)."""

    weights: Path
    archive: Path
    legacy: Path
    npz: Path


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    folder = tmp_path_factory.mktemp("base")
    km = rnnspec.compile(SPEC, backend="keras")
    rng = np.random.default_rng(0)
    km.set_weights([rng.normal(size=w.shape).astype("float32") for w in km.weights])
    paths = Base(folder / "m.weights.h5", folder / "m.keras", folder / "m.h5", folder / "m.npz")
    km.save_weights(paths.weights)
    km.save(paths.archive)
    km.save(paths.legacy)
    model = rnnspec.compile(SPEC, backend="numpy")
    load_from_keras(model, km)
    save_npz(model, paths.npz)
    return paths


def numpy_model() -> Any:
    return rnnspec.compile(SPEC, backend="numpy")


def load(path: Path) -> Any:
    """What a user runs on a weights file: `load_npz` for an .npz, `load_weights` into the spec's model otherwise."""
    if path.name.endswith(".npz"):
        return load_npz(path)
    model = numpy_model()
    load_weights(model, path)
    return model


# ------------------------------------------------------------------------------------------ zip and .npy by hand


class Member(NamedTuple):
    packed: bytes
    crc: int
    size: int  # the uncompressed size the headers declare
    method: int


def deflated(data: bytes) -> Member:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return Member(packer.compress(data) + packer.flush(), zlib.crc32(data), len(data), zipfile.ZIP_DEFLATED)


def deflated_zeros(prefix: bytes, count: int) -> Member:
    """`prefix` then `count` zero bytes, deflated (a bomb: a megabyte per gigabyte) without holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed, crc = [packer.compress(prefix)], zlib.crc32(prefix)
    zeros = bytes(1 << 20)
    for start in range(0, count, len(zeros)):
        piece = zeros[:min(len(zeros), count - start)]
        packed.append(packer.compress(piece))
        crc = zlib.crc32(piece, crc)
    packed.append(packer.flush())
    return Member(b"".join(packed), crc, len(prefix) + count, zipfile.ZIP_DEFLATED)


def zip_bytes(members: dict[str, Member]) -> bytes:
    """A zip archive exactly as given: declared sizes, CRCs and methods are not checked (that is the point)."""
    out, central = bytearray(), bytearray()
    for name, m in members.items():
        raw = name.encode()
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, m.method, 0, 0x21, m.crc, len(m.packed),
                               m.size, len(raw), 0, 0, 0, 0, 0, len(out)) + raw
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, m.method, 0, 0x21, m.crc, len(m.packed), m.size,
                           len(raw), 0) + raw + m.packed
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + end)


def members_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def npy_raw(header: str, data: bytes = b"", length: int | None = None) -> bytes:
    """An .npy member with any header text (version 1.0), padded as NumPy pads it."""
    text = header + " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text) if length is None else length) + text.encode() + data


def write_npz(folder: Path, name: str, contents: dict[str, bytes], packed: dict[str, Member] | None = None) -> Path:
    members = {k: deflated(v) for k, v in contents.items()}
    members.update(packed or {})
    path = folder / f"{name}.npz"
    path.write_bytes(zip_bytes(members))
    return path


def npz_with(**changes: bytes | None) -> Callable[[Path, Base], Path]:
    """A builder: the base .npz with members replaced (`weight_0000=...`) or removed (`=None`)."""
    def build(folder: Path, base: Base) -> Path:
        contents = members_of(base.npz)
        for key, value in changes.items():
            if value is None:
                del contents[f"{key}.npy"]
            else:
                contents[f"{key}.npy"] = value
        return write_npz(folder, "changed", contents)

    return build


def npz_bytes(change: Callable[[bytes], bytes]) -> Callable[[Path, Base], Path]:
    def build(folder: Path, base: Base) -> Path:
        members = {k: deflated(v) for k, v in members_of(base.npz).items()}
        path = folder / "bytes.npz"
        path.write_bytes(change(zip_bytes(members)))
        return path

    return build


def corrupt_deflate(data: bytes) -> bytes:
    spot = data.index(b"weight_0001.npy") + 60
    return data[:spot] + bytes(b ^ 0x5A for b in data[spot:spot + 40]) + data[spot + 40:]


def lying_member(folder: Path, base: Base, crc_of_declared: bool = False) -> Path:
    """weight_0000.npy's headers declare its real size, but its deflate stream goes on for 64 MiB more (the CRC
    is the whole stream's, as a bomb's would be, or only that of the bytes declared)."""
    contents = members_of(base.npz)
    real = contents.pop("weight_0000.npy")
    bomb = deflated_zeros(real, 64 << 20)._replace(size=len(real))
    if crc_of_declared:
        bomb = bomb._replace(crc=zlib.crc32(real))
    return write_npz(folder, "lying", contents, {"weight_0000.npy": bomb})


def bomb_member(folder: Path, base: Base) -> Path:
    """A header that fits the spec, then 64 MiB of zeros that the member declares honestly."""
    contents = members_of(base.npz)
    real = contents.pop("weight_0000.npy")
    return write_npz(folder, "bomb", contents, {"weight_0000.npy": deflated_zeros(real, 64 << 20)})


def shape_bomb(folder: Path, base: Base) -> Path:
    """A header declaring 64 MiB of floats, honestly followed by them (NumPy would allocate them all)."""
    contents = members_of(base.npz)
    del contents["weight_0000.npy"]
    header = npy_raw(f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({16 << 20},), }}")
    return write_npz(folder, "shape", contents, {"weight_0000.npy": deflated_zeros(header, 64 << 20)})


def bz2_member(folder: Path, base: Base) -> Path:
    contents = members_of(base.npz)
    data = contents.pop("weight_0001.npy")
    bz = Member(bz2.compress(data), zlib.crc32(data), len(data), zipfile.ZIP_BZIP2)
    return write_npz(folder, "bz2", contents, {"weight_0001.npy": bz})


F32_3x16 = bytes(3 * 16 * 4)

# ------------------------------------------------------------------------------------------ HDF5 by hand


def h5_with(change: Callable[[Any, Path], None], source: str = "weights") -> Callable[[Path, Base], Path]:
    """A builder: a copy of Keras's file, changed in place with h5py (`change(file, folder)`)."""
    def build(folder: Path, base: Base) -> Path:
        original: Path = getattr(base, source)
        path = folder / f"changed{''.join(original.suffixes)}"
        path.write_bytes(original.read_bytes())
        with h5py.File(path, "r+") as f:
            change(f, folder)
        return path

    return build


def replace(path: str, **dataset: Any) -> Callable[[Any, Path], None]:
    def change(f: Any, folder: Path) -> None:
        del f[path]
        f.create_dataset(path, **dataset)

    return change


def soft_link(f: Any, folder: Path) -> None:
    del f[LSTM_KERNEL]
    f[LSTM_KERNEL] = h5py.SoftLink("/layers/gru/cell/vars/0")


def secret(folder: Path) -> Path:
    """A file of someone else's that a hostile weights file points at: 192 bytes, the LSTM kernel's size."""
    path = folder / "secret.bin"
    path.write_bytes(b"SECRET!!" * 24)
    return path


def external_link(f: Any, folder: Path) -> None:
    other = folder / "other.h5"
    with h5py.File(other, "w") as g:
        g["kernel"] = np.frombuffer(secret(folder).read_bytes(), "f4").reshape(3, 16)
    del f[LSTM_KERNEL]
    f[LSTM_KERNEL] = h5py.ExternalLink(str(other), "/kernel")


def external_storage(f: Any, folder: Path) -> None:
    del f[LSTM_KERNEL]
    f.create_dataset(LSTM_KERNEL, shape=(3, 16), dtype="f4", external=[(str(secret(folder)), 0, 192)])


def virtual_dataset(f: Any, folder: Path) -> None:
    other = folder / "source.h5"
    with h5py.File(other, "w") as g:
        g["kernel"] = np.frombuffer(secret(folder).read_bytes(), "f4").reshape(3, 16)
    layout = h5py.VirtualLayout((3, 16), "f4")
    layout[:] = h5py.VirtualSource(str(other), "kernel", shape=(3, 16))
    del f[LSTM_KERNEL]
    f.create_virtual_dataset(LSTM_KERNEL, layout)


def link_cycle(f: Any, folder: Path) -> None:
    f["layers/lstm/cell/again"] = f["layers/lstm"]


def shared_group(f: Any, folder: Path) -> None:
    f["layers/lstm_1"] = f["layers/lstm"]


def group_for_dataset(f: Any, folder: Path) -> None:
    del f["layers/lstm/cell/vars/1"]
    f.create_group("layers/lstm/cell/vars/1")


def deep_groups(f: Any, folder: Path) -> None:
    f.create_group("layers/lstm/cell/" + "/".join(["g"] * 20))


def legacy_ghost_layer(f: Any, folder: Path) -> None:
    root = f["model_weights"]
    root.attrs["layer_names"] = [*root.attrs["layer_names"], "ghost"]


def legacy_weight_names(value: Any) -> Callable[[Any, Path], None]:
    def change(f: Any, folder: Path) -> None:
        f["model_weights/gru"].attrs["weight_names"] = value

    return change


def legacy_soft_link(f: Any, folder: Path) -> None:
    path = "model_weights/lstm/model/lstm/lstm_cell/kernel"
    del f[path]
    f[path] = h5py.SoftLink("/model_weights/gru/model/gru/gru_cell/kernel")


def legacy_missing_weight(f: Any, folder: Path) -> None:
    del f["model_weights/lstm/model/lstm/lstm_cell/bias"]


def legacy_layer_names(f: Any, folder: Path) -> None:
    f["model_weights"].attrs["layer_names"] = np.arange(2)


# ------------------------------------------------------------------------------------------ .keras by hand


def keras_with(**changes: bytes | Member | None) -> Callable[[Path, Base], Path]:
    """A builder: the base .keras with members (`config_json=...`, dots as underscores) replaced or removed."""
    def build(folder: Path, base: Base) -> Path:
        members: dict[str, Member] = {k: deflated(v) for k, v in members_of(base.archive).items()}
        for key, value in changes.items():
            name = key.replace("_json", ".json").replace("model_weights_h5", "model.weights.h5")
            if value is None:
                del members[name]
            else:
                members[name] = value if isinstance(value, Member) else deflated(value)
        path = folder / "changed.keras"
        path.write_bytes(zip_bytes(members))
        return path

    return build


def keras_lying_weights(folder: Path, base: Base) -> Path:
    real = members_of(base.archive)["model.weights.h5"]
    return keras_with(model_weights_h5=deflated_zeros(real, 64 << 20)._replace(size=len(real)))(folder, base)


def keras_truncated(folder: Path, base: Base) -> Path:
    path = folder / "cut.keras"
    data = base.archive.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    return path


# ------------------------------------------------------------------------------------------ paths


def empty(suffix: str) -> Callable[[Path, Base], Path]:
    def build(folder: Path, base: Base) -> Path:
        path = folder / f"empty{suffix}"
        path.write_bytes(b"")
        return path

    return build


def directory(folder: Path, base: Base) -> Path:
    path = folder / "weights.npz"
    path.mkdir()
    return path


def missing(folder: Path, base: Base) -> Path:
    return folder / "nowhere.weights.h5"


# ------------------------------------------------------------------------------------------ the cases

CASES: list[tuple[str, Callable[[Path, Base], Path], str, str]] = [
    # .npz: members
    ("npz missing weight member", npz_with(weight_0002=None), "E500", "names 6 weights but holds 5"),
    ("npz missing spec member", npz_with(spec=None), "E500", "holds no spec.npy"),
    ("npz missing format member", npz_with(format=None), "E500", "is not an rnnspec model file"),
    ("npz missing names member", npz_with(weight_names=None), "E500", "holds no weight_names.npy"),
    ("npz pickled object array", npz_with(weight_0000=npy(np.array([{"a": 1}], dtype=object), True)), "E500",
     "pickled Python objects"),
    ("npz strings for a weight", npz_with(weight_0000=npy(np.full((3, 16), "abc"))), "E500", "not numbers"),
    ("npz complex weight", npz_with(weight_0000=npy(np.zeros((3, 16), "c8"))), "E501", "takes floats"),
    ("npz int weight", npz_with(weight_0000=npy(np.zeros((3, 16), "i4"))), "E501", "takes floats"),
    ("npz scalar weight", npz_with(weight_0002=npy(np.float32(1))), "E501", "should have shape (16,)"),
    ("npz wrong-shaped weight", npz_with(weight_0000=npy(np.zeros((16, 3), "f4"))), "E501", "should have shape"),
    ("npz corrupt deflate stream", npz_bytes(corrupt_deflate), "E500", "cannot read"),
    ("npz truncated zip", npz_bytes(lambda data: data[:len(data) // 2]), "E500", "cannot read"),
    ("npz header claiming 4 TiB", npz_with(weight_0000=npy_raw(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }", F32_3x16)), "E500",
     "claims float32 values of shape (1099511627776,) (4.0 TiB)"),
    ("npz header with negative dims", npz_with(weight_0000=npy_raw(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-3, -16), }", F32_3x16)), "E500", "negative dimension"),
    ("npz header with huge dims", npz_with(weight_0000=npy_raw(
        f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({10 ** 30}, {10 ** 30}), }}", F32_3x16)), "E500",
     "claims"),
    ("npz header not a dict", npz_with(weight_0000=npy_raw("[1, 2, 3]", F32_3x16)), "E500", "not a dictionary"),
    ("npz header length past the member", npz_with(weight_0000=npy_raw(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 16), }", F32_3x16, length=65535)), "E500",
     "no valid .npy header"),
    ("npz header nested deeply", npz_with(weight_0000=npy_raw("-" * 9000 + "1", F32_3x16)), "E500",
     "no valid .npy header"),
    ("npz fortran_order not a bool", npz_with(weight_0000=npy_raw(
        "{'descr': '<f4', 'fortran_order': 'yes', 'shape': (3, 16), }", F32_3x16)), "E500", "no valid .npy header"),
    ("npz member past its declared size", lying_member, "E500", "cannot read"),
    ("npz member of 64 MiB of zeros", bomb_member, "E500", "claims float32 values of shape (3, 16) (192 bytes)"),
    ("npz header declaring 64 MiB of data", shape_bomb, "E501", "should have shape (3, 16)"),
    ("npz member compressed with bzip2", bz2_member, "E500", "zip method 12"),
    ("npz spec not text", npz_with(spec=npy(np.arange(5.0))), "E500", "should hold text"),
    ("npz spec too long", npz_with(spec=npy(np.array("I" * ((1 << 20) + 1)))), "E500", "at most 1,048,576"),
    ("npz spec not Unicode", npz_with(spec=npy_raw("{'descr': '<U2', 'fortran_order': False, 'shape': (), }",
                                                   struct.pack("<2L", 0x49, 0x110000))), "E500", "not Unicode"),
    ("npz names of the wrong type", npz_with(weight_names=npy(np.arange(6))), "E500", "should hold text"),
    ("npz names not a row", npz_with(weight_names=npy(np.array("lstm/kernel"))), "E500", "a row of names"),
    ("npz dtype not a float type", npz_with(dtype=npy(np.array("int8"))), "E500", "not a float dtype"),
    ("npz dtype not a type", npz_with(dtype=npy(np.array("bogus"))), "E500", "not a float dtype"),
    ("npz version not an integer", npz_with(format_version=npy(np.array("1"))), "E500", "should hold an integer"),
    # .weights.h5: links, storage, structure, values
    ("h5 soft link", h5_with(soft_link), "E500", f"{LSTM_KERNEL} is a soft link to /layers/gru/cell/vars/0"),
    ("h5 external link", h5_with(external_link), "E500", "is an external link to"),
    ("h5 external storage", h5_with(external_storage), "E500", "keeps its data in external files"),
    ("h5 virtual dataset", h5_with(virtual_dataset), "E500", "is a virtual dataset"),
    ("h5 link cycle", h5_with(link_cycle), "E500", "is the group layers/lstm again"),
    ("h5 group under two names", h5_with(shared_group), "E500", "again (a link cycle or a shared group)"),
    ("h5 groups nested past Keras", h5_with(deep_groups), "E500", "nested 17 groups deep"),
    ("h5 group where a dataset goes", h5_with(group_for_dataset), "E500", "vars/1 is a group, expected a dataset"),
    ("h5 dataset where a group goes", h5_with(replace("layers/gru/cell", data=np.zeros(3))), "E500",
     "layers/gru/cell is a dataset, expected a group"),
    ("h5 layers is a dataset", h5_with(replace("layers", data=np.zeros(3))), "E500", "layers is a dataset"),
    ("h5 scalar dataset", h5_with(replace("layers/lstm/cell/vars/2", data=np.float32(1))), "E501",
     "should have shape (16,)"),
    ("h5 wrong-shaped dataset", h5_with(replace(LSTM_KERNEL, data=np.zeros((4, 16), "f4"))), "E501",
     "should have shape (3, 16)"),
    ("h5 strings for a weight", h5_with(replace(LSTM_KERNEL, data=np.full((3, 16), b"abc"))), "E500",
     "not numbers"),
    ("h5 compound values", h5_with(replace(LSTM_KERNEL, shape=(3, 16), dtype=[("a", "f4"), ("b", "f4")])),
     "E500", "not numbers"),
    ("h5 int weight", h5_with(replace(LSTM_KERNEL, data=np.zeros((3, 16), "i4"))), "E501", "takes floats"),
    ("h5 compressed dataset", h5_with(replace(LSTM_KERNEL, data=np.zeros((3, 16), "f4"), compression="gzip")),
     "E500", "is compressed or filtered (deflate)"),
    ("h5 empty dataspace", h5_with(replace(LSTM_KERNEL, data=h5py.Empty("f4"))), "E500", "holds no data"),
    ("h5 not HDF5", lambda folder, base: (folder / "junk.weights.h5").write_bytes(b"\x89HDF junk" * 10)
     and folder / "junk.weights.h5", "E500", "cannot read"),
    # legacy .h5
    ("legacy layer_names naming a missing group", h5_with(legacy_ghost_layer, "legacy"), "E500",
     "layer_names lists ghost, but there is no group model_weights/ghost"),
    ("legacy weight_names an integer", h5_with(legacy_weight_names(5), "legacy"), "E500",
     "attribute weight_names of model_weights/gru should list names"),
    ("legacy weight_names numbers", h5_with(legacy_weight_names(np.arange(3.0)), "legacy"), "E500",
     "should list names"),
    ("legacy layer_names numbers", h5_with(legacy_layer_names, "legacy"), "E500", "should list names"),
    ("legacy soft link", h5_with(legacy_soft_link, "legacy"), "E500", "is a soft link"),
    ("legacy weight not held", h5_with(legacy_missing_weight, "legacy"), "E500", "but does not hold it"),
    # .keras
    ("keras without weights", keras_with(model_weights_h5=None), "E500", "holds no model.weights.h5"),
    ("keras config 200k deep", keras_with(config_json=b"[" * 200_000 + b"]" * 200_000), "E500",
     "nested too deeply"),
    ("keras config not a dict", keras_with(config_json=b"[1, 2]"), "E500", "holds a JSON list, not a Keras config"),
    ("keras config not UTF-8", keras_with(config_json=b'{"name": "\xff\xfe"}'), "E500", "is not valid JSON"),
    ("keras config of 64 MiB", keras_with(config_json=deflated_zeros(b"{}", 64 << 20)), "E500",
     "(config.json) declares 64.0 MiB, more than a Keras config can take"),
    ("keras weights of 64 MiB", keras_with(model_weights_h5=deflated_zeros(b"", 64 << 20)), "E500",
     "(model.weights.h5) declares 64.0 MiB, more than the weights of model 'model' can take"),
    ("keras weights past their declared size", keras_lying_weights, "E500", "cannot read"),
    ("keras weights compressed with lzma", keras_with(model_weights_h5=Member(b"", 0, 0, zipfile.ZIP_LZMA)),
     "E500", "zip method 14"),
    ("keras truncated", keras_truncated, "E500", "cannot read"),
    # paths
    ("empty .npz", empty(".npz"), "E500", "is empty"),
    ("empty .weights.h5", empty(".weights.h5"), "E500", "is empty"),
    ("directory", directory, "E500", "is a directory"),
    ("missing file", missing, "E500", "no such file"),
]


@pytest.mark.keras
@pytest.mark.parametrize(("build", "code", "fragment"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_malformed_file_is_refused_naming_the_file_and_the_fault(build: Callable[[Path, Base], Path], code: str,
                                                                  fragment: str, base: Base, tmp_path: Path) -> None:
    path = build(tmp_path, base)
    with pytest.raises(RnnspecError) as info:
        load(path)
    err = info.value
    assert (err.code, str(path) in err.message) == (code, True), str(err)
    assert fragment in err.message, str(err)


FIFO_SCRIPT = """
import sys
import rnnspec
from rnnspec.backends.numpy.weights_io import load_npz, load_weights
from rnnspec.errors import RnnspecError

path = sys.argv[2]
try:
    load_npz(path) if path.endswith(".npz") else load_weights(rnnspec.compile(sys.argv[1], backend="numpy"), path)
except RnnspecError as err:
    print(err.code, err.message)
"""


@pytest.mark.parametrize("suffix", [".npz", ".weights.h5", ".keras"])
def test_fifo_is_refused_without_waiting_for_a_writer(suffix: str, tmp_path: Path) -> None:
    """Opening a FIFO to read waits for a writer forever: a subprocess, so that a regression fails, not hangs."""
    path = tmp_path / f"pipe{suffix}"
    os.mkfifo(path)
    proc = subprocess.run([sys.executable, "-c", FIFO_SCRIPT, SPEC, str(path)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.startswith(f"E500 {path} is not a regular file"), proc.stdout + proc.stderr


def test_at_least_the_26_files_of_the_issue() -> None:
    assert len(CASES) >= 26
    assert len({name for name, *_ in CASES}) == len(CASES)


# ------------------------------------------------------------------------------------------ decisions


@pytest.mark.keras
def test_nan_and_inf_load_as_keras_loads_them(base: Base, tmp_path: Path) -> None:
    """Keras loads non-finite weights as they are; so does rnnspec (a NaN is a value, not a damaged file)."""
    path = tmp_path / "nan.weights.h5"
    path.write_bytes(base.weights.read_bytes())
    with h5py.File(path, "r+") as f:
        kernel = f[LSTM_KERNEL][()]
        kernel[0, :3] = [np.nan, np.inf, -np.inf]
        f[LSTM_KERNEL][...] = kernel
    model = load(path)
    keras_model = rnnspec.compile(SPEC, backend="keras")
    keras_model.load_weights(path)
    for ours, theirs in zip(model.get_weights(), keras_model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    assert np.isnan(model.get_weights()[0][0, 0])
    npz = tmp_path / "nan.npz"
    save_npz(model, npz)
    np.testing.assert_array_equal(load_npz(npz).get_weights()[0], model.get_weights()[0])


def compact(f: Any, folder: Path) -> None:
    kernel = f[LSTM_KERNEL][()]
    del f[LSTM_KERNEL]
    plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    plist.set_layout(h5py.h5d.COMPACT)
    space = h5py.h5s.create_simple(kernel.shape)
    h5py.h5d.create(f.id, LSTM_KERNEL.encode(), h5py.h5t.IEEE_F32LE, space, dcpl=plist).write(
        h5py.h5s.ALL, h5py.h5s.ALL, kernel)


def chunked(f: Any, folder: Path) -> None:
    kernel = f[LSTM_KERNEL][()]
    del f[LSTM_KERNEL]
    f.create_dataset(LSTM_KERNEL, data=kernel.astype(">f8"), chunks=(1, 16))


@pytest.mark.keras
@pytest.mark.parametrize("change", [compact, chunked])
def test_other_plain_layouts_load_as_keras_loads_them(change: Callable[[Any, Path], None], base: Base,
                                                      tmp_path: Path) -> None:
    """Compact and (unfiltered) chunked datasets, big-endian float64 too, keep their data in the file: read."""
    path = h5_with(change)(tmp_path, base)
    keras_model = rnnspec.compile(SPEC, backend="keras")
    keras_model.load_weights(path)
    for ours, theirs in zip(load(path).get_weights(), keras_model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.keras
def test_fortran_ordered_member_loads_with_its_values(base: Base, tmp_path: Path) -> None:
    """A Fortran-ordered .npy is well-formed (np.save writes one for a transposed array): read in its order."""
    contents = members_of(base.npz)
    kernel = load_npz(base.npz).get_weights()[0]
    contents["weight_0000.npy"] = npy(np.asfortranarray(kernel))
    assert b"'fortran_order': True" in contents["weight_0000.npy"][:128]
    np.testing.assert_array_equal(load_npz(write_npz(tmp_path, "fortran", contents)).get_weights()[0], kernel)


@pytest.mark.keras
def test_a_member_is_inflated_only_to_its_declared_size(base: Base, tmp_path: Path) -> None:
    """What a deflate stream holds past the member's declared size is never inflated; when the declared bytes
    are intact (their CRC holds), they are the weights."""
    model = load_npz(lying_member(tmp_path, base, crc_of_declared=True))
    np.testing.assert_array_equal(model.get_weights()[0], load_npz(base.npz).get_weights()[0])


@pytest.mark.keras
def test_npz_members_the_spec_does_not_need_are_not_read(base: Base, tmp_path: Path) -> None:
    contents = members_of(base.npz)
    contents["pickle.npy"] = npy(np.array([{"a": 1}], dtype=object), True)  # never unpickled, nor even opened
    packed = {"notes.npy": deflated_zeros(b"", 64 << 20)}
    model = load_npz(write_npz(tmp_path, "extra", contents, packed))
    assert model.weight_names() == load_npz(base.npz).weight_names()


# ------------------------------------------------------------------------------------------ bounds


BOMB_SCRIPT = """
import resource, sys
import rnnspec
from rnnspec.backends.numpy.weights_io import load_npz, load_weights
from rnnspec.errors import RnnspecError

model = rnnspec.compile(sys.argv[1], backend="numpy")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for path in sys.argv[2:]:
    try:
        load_npz(path) if path.endswith(".npz") else load_weights(model, path)
    except RnnspecError as err:
        assert err.code in ("E500", "E501"), err
    else:
        raise AssertionError(path + " loaded")
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


@pytest.mark.keras
def test_bombs_cost_no_more_memory_than_the_spec_implies(base: Base, tmp_path: Path) -> None:
    """Five 256 MiB bombs (each a 256 KiB file): the peak memory of loading them all grows by a few MiB."""
    contents = members_of(base.npz)
    real = contents.pop("weight_0000.npy")
    header = npy_raw(f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({64 << 20},), }}")
    shape = write_npz(tmp_path, "shape", contents, {"weight_0000.npy": deflated_zeros(header, 256 << 20)})
    honest = write_npz(tmp_path, "honest", contents, {"weight_0000.npy": deflated_zeros(real, 256 << 20)})
    lying = write_npz(tmp_path, "lying", contents, {"weight_0000.npy": deflated_zeros(real, 256 << 20)._replace(
        size=len(real))})
    h5_member = members_of(base.archive)["model.weights.h5"]
    bomb = deflated_zeros(h5_member, 256 << 20)
    keras_honest = keras_with(model_weights_h5=bomb)(tmp_path, base).rename(tmp_path / "honest.keras")
    keras_lying = keras_with(model_weights_h5=bomb._replace(size=len(h5_member)))(tmp_path, base)
    paths = [shape, honest, lying, keras_honest, keras_lying]
    assert all(p.stat().st_size < 1 << 20 for p in paths)
    proc = subprocess.run([sys.executable, "-c", BOMB_SCRIPT, SPEC, *map(str, paths)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) < 32, f"peak memory grew by {proc.stdout.strip()} MiB"


def test_importing_the_loader_imports_no_tensorflow() -> None:
    code = ("import sys, rnnspec.backends.numpy.weights_io; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'h5py')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (proc.returncode, proc.stdout.strip()) == (0, "[]"), proc.stderr
