"""Input, Embedding and the per-position layers: Dense, Activation, Dropout, Masking, reshaping."""
from __future__ import annotations

from typing import Any, Mapping

from rnnspec.errors import RnnspecError, Span
from rnnspec.layers.base import (
    DTYPES, LAYER_DTYPE, LORA_ALPHA_IGNORED, LORA_RANK, NAME, TRAINABLE, Activation, Args, Bool, Choice, DType, Float,
    Int, IntTuple, LayerType, Param, ShapeError, Tensor, Weight, require_known_last, require_rank, with_lora,
)
from rnnspec.layers.objects import SEED, weight_arguments
from rnnspec.layers.recurrent import RATE
from rnnspec.shape import Shape, format_shape, product


class Input(LayerType):
    """The model input: `Input(100, 32)` is Keras `Input(shape=(100, 32))`; the batch is added."""

    name = "Input"
    varargs = "shape"
    generic = ()  # `keras.Input` is a function, not a layer: none of Layer's arguments
    params = (
        Param("shape", IntTuple(allow_none=True), doc="dimensions after the batch (None: unknown)"),
        Param("batch_size", Int(min=1, nullable=True), None),
        Param("dtype", DType(choices=(*DTYPES, "string")), "float32",
              doc="int is int64, float float32 (Keras's aliases); string for TextVectorization"),
        Param("sparse", Bool(), False, doc="Keras may be fed sparse tensors (shapes and counts are the same); the "
              "NumPy model takes dense arrays"),
        Param("ragged", Bool(), False, doc="Keras may be fed ragged tensors (shapes and counts are the same; most "
              "Keras 3 layers, LSTM and Dense among them, cannot run on them); the NumPy model takes padded arrays"),
    )
    unsupported = {
        "batch_shape": "write the shape after the batch and batch_size=: Input(100, 32, batch_size=8)",
        "name": "an input is named by its binding in the functional form: tokens = Input(20, dtype=int32)",
        "tensor": "a spec cannot hold a tensor",
        "optional": "optional (None) inputs are not supported yet: rnnspec's backends feed an array per input",
    }

    def validate(self, a: Args, spans: Mapping[str, Span]) -> None:
        if a.sparse and a.ragged:
            raise RnnspecError("E203", "an Input cannot be both sparse and ragged (Keras refuses it)",
                               spans.get("ragged"))

    def tensor(self, a: Args) -> Tensor:
        return Tensor((a.batch_size, *a.shape), a.dtype)

    def keras_kwargs(self, a: Args) -> dict[str, Any]:
        return {"shape": a.shape, "dtype": a.dtype, "batch_size": a.batch_size, "sparse": a.sparse,
                "ragged": a.ragged}


class Embedding(LayerType):
    """Integer ids -> vectors. First in a model it implies an input of ids of any length, `(None, None)`."""

    name = "Embedding"
    params = (
        Param("input_dim", Int(min=1), positional=True, doc="vocabulary size"),
        Param("output_dim", Int(min=1), positional=True, doc="vector size"),
        *weight_arguments(("embeddings", "uniform"), activity=False),
        Param("mask_zero", Bool(), False, doc="id 0 is padding: masked for the layers after"),
        LORA_RANK,
        LORA_ALPHA_IGNORED,
        TRAINABLE,
        Param("input_length", Int(min=1, nullable=True), None, deprecated="Keras 3 ignores it; remove it",
              doc="deprecated: Keras 3 ignores it (warning W109); the length comes from the input"),
    )
    unsupported = {
        "weights": "a spec holds no arrays: load weights with the backend (rnnspec run --weights, model.load_weights)",
        "quantization_config": "quantized layers are not supported yet",
    }

    def implied_input(self, a: Args) -> Tensor:
        return Tensor((None, None), "int32")

    def input_warning(self, a: Args, x: Tensor) -> tuple[str, str, str] | None:
        """Keras casts float values to int32 ids (truncating 2.7 to 2): legal, and almost always a mistake."""
        if x.dtype.startswith(("int", "uint")):
            return None
        return ("W108", f"Embedding receives {x.dtype} values of shape {format_shape(x.shape)}; Keras truncates them "
                "to integer ids", "feed token ids: Input(600, dtype=int32)")

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        return (*shape, a.output_dim)

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        return with_lora([Weight("embeddings", (a.input_dim, a.output_dim))], a.lora_rank)


class Dense(LayerType):
    """`x W + b` on the last axis: `(batch, F)` -> `(batch, units)`, or per time step on 3D input."""

    name = "Dense"
    params = (
        Param("units", Int(min=1), positional=True),
        Param("activation", Activation(), "linear", positional=True),
        Param("use_bias", Bool(), True),
        *weight_arguments(("kernel", "glorot_uniform"), ("bias", "zeros")),
        LORA_RANK,
        LORA_ALPHA_IGNORED,
        TRAINABLE,
    )
    unsupported = {"quantization_config": "quantized layers are not supported yet"}

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        if len(shape) < 2:
            require_rank(self.name, shape, 2, "(batch, features)")
        require_known_last(self.name, shape)
        return (*shape[:-1], a.units)

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        kernel = Weight("kernel", (require_known_last(self.name, shape), a.units))
        return with_lora([kernel, Weight("bias", (a.units,))] if a.use_bias else [kernel], a.lora_rank)


class ActivationLayer(LayerType):
    name = "Activation"
    params = (Param("activation", Activation(), positional=True),)


class Dropout(LayerType):
    """Zeroes a fraction of inputs while training; the identity at inference."""

    name = "Dropout"
    params = (
        Param("rate", RATE, positional=True),
        Param("noise_shape", IntTuple(allow_none=True, nullable=True), None,
              doc="the mask's shape, batch first; 1 shares a drop along that axis (training only)"),
        SEED,
    )

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        """Keras checks `noise_shape` only while training; a mask that cannot broadcast is refused here at once."""
        noise = a.noise_shape
        if noise is not None and (len(noise) != len(shape) or any(
                n is not None and n != 1 and d is not None and n != d for n, d in zip(noise, shape))):
            raise ShapeError(f"Dropout's noise_shape {format_shape(noise)} does not fit its input "
                             f"{format_shape(shape)}: each size must be None, 1 or the input's",
                             hint=f"one size per axis, batch first, e.g. noise_shape={format_shape((None, 1, *shape[2:]))}"
                             if len(shape) > 2 else "one size per axis, batch first")
        return shape


class SpatialDropout1D(LayerType):
    """Drops whole feature channels of a sequence while training."""

    name = "SpatialDropout1D"
    generic = ()  # Keras 3's SpatialDropout1D takes no **kwargs: name and dtype only, in this order
    params = (Param("rate", RATE, positional=True), SEED, NAME, LAYER_DTYPE)

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        require_rank(self.name, shape, 3, "(batch, timesteps, features)", reason="no_time_axis")
        return shape


class Masking(LayerType):
    """Masks the time steps whose features all equal `mask_value`."""

    name = "Masking"
    params = (Param("mask_value", Float(), 0.0, positional=True),)


class Flatten(LayerType):
    """`(batch, ...)` -> `(batch, product)`; channels_first flattens with the channels (axis 1) moved last."""

    name = "Flatten"
    params = (Param("data_format", Choice(choices=("channels_last", "channels_first")), "channels_last",
                    doc="channels_first: axis 1 is moved last before flattening (the values' order changes)"),)

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        size = product(shape[1:])
        if size is None:
            raise ShapeError(
                f"Flatten needs every dimension after the batch to be known, but received {format_shape(shape)}",
                hint="give the input a fixed length (e.g. Input(100, 32)), or use GlobalAveragePooling1D",
                code="E302")
        return (shape[0], size)


class RepeatVector(LayerType):
    """`(batch, F)` -> `(batch, n, F)`: the one-to-many bridge into a recurrent decoder."""

    name = "RepeatVector"
    params = (Param("n", Int(min=1), positional=True),)

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        require_rank(self.name, shape, 2, "(batch, features)")
        return (shape[0], a.n, shape[1])


class Reshape(LayerType):
    name = "Reshape"
    params = (Param("target_shape", IntTuple(allow_minus_one=True), positional=True,
                    doc="dimensions after the batch; one may be -1"),)

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        target = a.target_shape
        size = product(shape[1:])
        fixed = product(tuple(d for d in target if d != -1))
        if -1 in target:
            if size is None:
                return (shape[0], *(None if d == -1 else d for d in target))
            if fixed == 0 or size % fixed:
                raise ShapeError(f"Reshape cannot fit {format_shape(shape)} into {format_shape(target)}: "
                                 f"{size} values do not divide into parts of {fixed}")
            return (shape[0], *(size // fixed if d == -1 else d for d in target))
        if size is not None and size != fixed:
            raise ShapeError(f"Reshape cannot turn {format_shape(shape)} ({size} values per sample) into "
                             f"{format_shape(target)} ({fixed} values)")
        return (shape[0], *target)
