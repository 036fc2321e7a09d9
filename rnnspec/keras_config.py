"""Reading a saved Keras model's config without TensorFlow: a `.keras` zip's config.json, a legacy `.h5`'s
`model_config` (with h5py) or a `to_json()` text, told apart by their first bytes and bounded in size, so a broken
or hostile file is an error (E513, E500), never a hang or a traceback."""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnspec.errors import RnnspecError

MAX_CONFIG_BYTES = 64 << 20  # a config of 10,000 layers is ~40 MB of JSON
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"


def bad_config(message: str, hint: str | None = None) -> RnnspecError:
    return RnnspecError("E513", message, hint=hint or "give a model saved by Keras: model.save('m.keras'), "
                        "model.save('m.h5'), or model.to_json() written to a .json file")


@dataclass
class Source:
    """A Keras model's config and, where the file holds them, the path to read its weights from."""

    config: dict[str, Any]
    shown: str
    weights_path: str | None = None  # a .keras or .h5 file the NumPy weight readers take
    live: Any = None  # a keras.Model handed in (from_keras)


def read_source(path: str | Path) -> Source:
    """The config of a `.keras` zip, a legacy `.h5` or a JSON file, told apart by their first bytes."""
    from rnnspec.api import open_regular

    shown = str(path)
    file = open_regular(path, hint="give a saved Keras model: a .keras file, a .h5 file or a model.to_json() file")
    with file:
        try:
            head = file.read(8)
            file.seek(0)
            if head.startswith(ZIP_MAGIC):
                return Source(_zip_config(file, shown), shown, shown)
            if head == HDF5_MAGIC:
                return Source(_h5_config(file, shown), shown, shown)
            data = file.read(MAX_CONFIG_BYTES + 1)
        except OSError as err:
            raise RnnspecError("E500", f"cannot read {shown}: {err.strerror or err}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise bad_config(f"{shown} is larger than a Keras config can be ({MAX_CONFIG_BYTES >> 20} MB)")
    return Source(parse_config(data, shown), shown)


def _zip_config(file: Any, shown: str) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(file) as archive:
            info = archive.NameToInfo.get("config.json")
            if info is None:
                raise bad_config(f"{shown} is a zip without config.json, not a .keras file")
            if info.file_size > MAX_CONFIG_BYTES:
                raise bad_config(f"{shown} (config.json) declares {info.file_size:,} bytes, more than a Keras config can "
                           f"be ({MAX_CONFIG_BYTES >> 20} MB)")
            with archive.open(info) as member:
                data = member.read(MAX_CONFIG_BYTES + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as err:
        raise bad_config(f"{shown} is not a readable .keras file: {err}") from None
    except OSError as err:
        raise RnnspecError("E500", f"cannot read {shown}: {err.strerror or err}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise bad_config(f"{shown} (config.json) is larger than it declares")
    return parse_config(data, f"{shown} (config.json)")


def _h5_config(file: Any, shown: str) -> dict[str, Any]:
    try:
        import h5py
    except ImportError:
        raise RnnspecError("E501", "reading a Keras .h5 file needs h5py",
                           hint="install it with: pip install 'rnnspec[h5]'") from None
    try:
        with h5py.File(file, "r") as handle:
            if "model_config" not in handle.attrs:
                raise bad_config(f"{shown} holds no model_config: a weights file, not a saved model",
                           hint="save the whole model (model.save('m.h5')), or give its .keras or config.json")
            attribute = handle.attrs.get_id("model_config")
            if attribute.get_storage_size() > MAX_CONFIG_BYTES:
                raise bad_config(f"{shown}'s model_config is larger than a Keras config can be")
            data = handle.attrs["model_config"]
    except RnnspecError:
        raise
    except Exception as err:  # h5py raises OSError, KeyError, TypeError... for a broken file
        raise bad_config(f"{shown} is not a readable HDF5 file: {err}") from None
    if not isinstance(data, (bytes, str)):
        raise bad_config(f"{shown}'s model_config is not text")
    return parse_config(data.encode("utf-8") if isinstance(data, str) else data, f"{shown} (model_config)")


def parse_config(data: bytes, where: str) -> dict[str, Any]:
    try:
        config = json.loads(data)
    except RecursionError:
        raise bad_config(f"{where} is nested too deeply to be a Keras config") from None
    except ValueError as err:
        raise bad_config(f"{where} is not valid JSON: {err}") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise bad_config(f"{where} is not a Keras model config (an object with class_name and config)")
    return config
