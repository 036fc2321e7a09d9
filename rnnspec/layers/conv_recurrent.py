"""ConvLSTM1D and ConvLSTM2D: an LSTM whose input and recurrent products are convolutions, over
`(batch, time, [rows,] cols, channels)` (channels_last only)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from rnnspec.errors import RnnspecError, Span
from rnnspec.layers.base import (
    Activation, Args, Bool, Choice, Int, IntTuple, LayerType, Param, ShapeError, Tensor, Weight, require_rank,
)
from rnnspec.layers.objects import ACTIVITY_REGULARIZER, SEED, weight_arguments
from rnnspec.layers.wrappers import WRAPPER_GENERIC
from rnnspec.layers.recurrent import RATE, STATEFUL, Recurrent, stateful_without_batch
from rnnspec.shape import Shape, conv_length, format_shape
from rnnspec.syntax import TupleLit, Value

_WEIGHTS = weight_arguments(("kernel", "glorot_uniform"), ("recurrent", "orthogonal"), ("bias", "zeros"),
                            activity=False)


@dataclass(frozen=True)
class Window(IntTuple):
    """A size per spatial axis; one integer stands for all of them (Keras's `standardize_tuple`)."""

    def convert(self, param: str, value: Value, resolver: Any) -> tuple[int, ...] | None:
        if not isinstance(value, TupleLit) and self.length:
            value = TupleLit((value,) * self.length, value.span)
        return super().convert(param, value, resolver)


class ConvLSTM(LayerType):
    """The shared rule of ConvLSTM1D and ConvLSTM2D (`rank` spatial axes). The input convolution has the layer's
    strides, padding and dilation; the recurrent one runs on h with stride 1 and `same` padding, so the state has
    the input convolution's output shape."""

    family = "recurrent"
    flags = Recurrent.flags
    call_arguments = ("initial_state", "mask")
    rank: ClassVar[int] = 1
    # Keras 3 does not hand `trainable` to the ConvLSTM's cell: ConvLSTM2D(trainable=False) still trains every weight
    generic = WRAPPER_GENERIC
    unsupported = {"trainable": "Keras 3 does not freeze a ConvLSTM's weights with trainable=False: they still "
                                "train (and count as trainable)"}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        window = Window(length=cls.rank)
        cls.params = (
            Param("filters", Int(min=1), positional=True),
            Param("kernel_size", window, positional=True),
            Param("strides", window, (1,) * cls.rank),
            Param("padding", Choice(choices=("valid", "same")), "valid"),
            Param("data_format", Choice(choices=("channels_last",), nullable=True), None,
                  doc="None is Keras's configured layout, channels_last; channels_first is not supported yet"),
            Param("dilation_rate", window, (1,) * cls.rank),
            Param("activation", Activation(), "tanh"),
            Param("recurrent_activation", Activation(), "sigmoid"),
            Param("use_bias", Bool(), True),
            *_WEIGHTS[:3],
            Param("unit_forget_bias", Bool(), True, doc="initialise the forget gate's bias to 1"),
            *_WEIGHTS[3:6], ACTIVITY_REGULARIZER, *_WEIGHTS[6:],
            Param("dropout", RATE, 0.0, doc="input dropout (training only)"),
            Param("recurrent_dropout", RATE, 0.0, doc="state dropout (training only)"),
            SEED,
            Param("return_sequences", Bool(), False, doc="every step (flag: seq) or only the last"),
            Param("return_state", Bool(), False, doc="the final states too, after the output (flag: state)"),
            Param("go_backwards", Bool(), False, doc="read the sequence in reverse (flag: backwards)"),
            STATEFUL,
            Param("unroll", Bool(), False),
        )
        super().__init_subclass__(**kwargs)

    def validate(self, a: Args, spans: Mapping[str, Span]) -> None:
        if max(a.strides) > 1 and max(a.dilation_rate) > 1:
            raise RnnspecError("E203", f"{self.name} cannot combine strides > 1 with dilation_rate > 1 (Keras "
                               "refuses it)", spans.get("dilation_rate") or spans.get("strides"))

    def meaning(self) -> str:
        return "(batch, time, " + ("rows, " if self.rank == 2 else "") + "cols, channels)"

    def state_shape(self, a: Args, shape: Shape) -> Shape:
        """`(batch, [rows,] cols, filters)`: one step's input convolved (Keras needs known spatial sizes)."""
        require_rank(self.name, shape, self.rank + 3, self.meaning(), reason="no_time_axis")
        spatial, channels = shape[2:-1], shape[-1]
        if None in spatial or channels is None:
            raise ShapeError(f"{self.name} needs known spatial sizes and channels, but received "
                             f"{format_shape(shape)}", hint="give the input fixed sizes after the time axis, "
                             f"e.g. Input(None, {', '.join(['8'] * self.rank)}, 3)", code="E302")
        out = []
        for size, k, s, d in zip(spatial, a.kernel_size, a.strides, a.dilation_rate):
            length = conv_length(size, k, s, d, a.padding)
            if length is None or length <= 0:
                raise ShapeError(
                    f"{self.name} with a window of {(k - 1) * d + 1} over {size} ('{a.padding}' padding) leaves "
                    f"no output positions; received {format_shape(shape)}",
                    hint="use padding=same, a smaller kernel_size, or a larger input")
            out.append(length)
        return (shape[0], *out, a.filters)

    def output_shape(self, a: Args, shape: Shape) -> Shape:
        state = self.state_shape(a, shape)
        if shape[0] is None and a.get("stateful"):
            raise stateful_without_batch(self.name, shape)
        return (state[0], shape[1], *state[1:]) if a.return_sequences else state

    def outputs(self, a: Args, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        x = inputs[0]
        out = self.output(a, x)
        if not a.return_state:
            return (out,)
        state = Tensor(self.state_shape(a, x.shape), out.dtype)
        return (out, state, state)

    def output_names(self, a: Mapping[str, Any]) -> tuple[str, ...]:  # type: ignore[override]
        return ("output", "h", "c") if a.get("return_state") else ("output",)

    def state_shapes(self, a: Args, x: Tensor) -> tuple[Shape, ...]:
        state = self.state_shape(a, x.shape)
        return (state, state)

    def declared_weights(self, a: Args, shape: Shape) -> list[Weight]:
        self.state_shape(a, shape)
        channels, width = shape[-1], 4 * a.filters
        weights = [Weight("kernel", (*a.kernel_size, channels, width)),
                   Weight("recurrent_kernel", (*a.kernel_size, a.filters, width))]
        if a.use_bias:
            weights.append(Weight("bias", (width,)))
        return weights


class ConvLSTM1D(ConvLSTM):
    """ConvLSTM over `(batch, time, cols, channels)`."""

    name = "ConvLSTM1D"
    rank = 1


class ConvLSTM2D(ConvLSTM):
    """ConvLSTM over `(batch, time, rows, cols, channels)`."""

    name = "ConvLSTM2D"
    rank = 2
