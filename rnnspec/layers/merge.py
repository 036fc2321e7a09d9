"""The merge layers: one output from a tuple of tensors, `(a, b) > Add`, with Keras 3's shape rules.

Keras checks a merge when it is called on symbolic tensors, so these rules mirror `keras/src/layers/merging/`:
the elementwise merges broadcast the shapes after the batch from the last axis (an unknown size wins over 1),
Concatenate wants equal sizes except on its axis, Dot wants equal sizes on the two axes it sums over. The few
calls Keras accepts but cannot mean anything sensible (joining samples on the batch axis, an axis Keras wraps
around the rank) are refused with the reason; the module says where.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from rnnspec.errors import RnnspecError, Span
from rnnspec.layers.base import ArgType, Args, Bool, Int, LayerType, Param, ShapeError, Tensor, type_error
from rnnspec.shape import Dim, Shape, format_shape
from rnnspec.syntax import Literal, TupleLit, Value


def _listed(shapes: tuple[Shape, ...]) -> str:
    """`(None, 3) and (None, 4)`, or a comma list for three or more: how the messages quote what was received."""
    shown = [format_shape(s) for s in shapes]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _batch(name: str, shapes: tuple[Shape, ...]) -> Dim:
    """The one known batch size among the inputs (None if none is known); Keras refuses two different ones."""
    known = {s[0] for s in shapes} - {None}
    if len(known) > 1:
        raise ShapeError(f"{name} cannot merge tensors with different batch sizes: received {_listed(shapes)}",
                         hint="give the inputs the same batch_size, or leave it unknown")
    return known.pop() if known else None


class Merge(LayerType):
    """Base of the merges: called on a tuple of tensors, never inside a plain chain; no weights."""

    family = "merge"
    takes_several = True
    fewest: ClassVar[int] = 2
    most: ClassVar[int | None] = None  # Subtract and Dot take exactly two
    count_hint: ClassVar[str] = ""  # the hint when `most` is not met

    def output(self, a: Args, x: Tensor) -> Tensor:
        raise ShapeError(f"{self.name} merges several tensors: write (a, b) > {self.name}",
                         hint=f"name the tensors with bindings (a = ..., b = ...) and give {self.name} the tuple; "
                              "a chain passes one tensor on")

    def outputs(self, a: Args, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        shapes = tuple(t.shape for t in inputs)
        self.check_count(shapes)
        # Keras's merges produce its compute dtype (float32) whatever they receive (KerasTensor of compute_dtype)
        return (Tensor(self.merged_shape(a, shapes), "float32"),)

    def check_count(self, shapes: tuple[Shape, ...]) -> None:
        count = len(shapes)
        if self.most is not None and count != self.most:
            raise ShapeError(f"{self.name} takes exactly {self.most} tensors, but received {count}: "
                             f"{_listed(shapes)}", hint=self.count_hint)
        if count < self.fewest:
            # Keras 3 accepts a single tensor (and passes it through); a one-tensor merge is a slip, so it is refused
            raise ShapeError(f"{self.name} merges at least {self.fewest} tensors, but received {count}: "
                             f"{_listed(shapes)}", hint=f"write ({', '.join('abc'[:self.fewest])}) > {self.name}")

    def merged_shape(self, a: Args, shapes: tuple[Shape, ...]) -> Shape:
        raise NotImplementedError


# ---------------------------------------------------------------- the elementwise merges


class Elementwise(Merge):
    """Keras's `Merge`: shapes after the batch broadcast from the last axis (`_compute_elemwise_op_output_shape`)."""

    def merged_shape(self, a: Args, shapes: tuple[Shape, ...]) -> Shape:
        batch = _batch(self.name, shapes)
        merged = shapes[0][1:]
        for shape in shapes[1:]:
            merged = self.broadcast(merged, shape[1:], shapes)
        return (batch, *merged)

    def broadcast(self, left: Shape, right: Shape, shapes: tuple[Shape, ...]) -> Shape:
        """Keras's pairwise rule: the longer shape's leading dims are kept, the rest paired from the end; None with
        anything is None (even with 1), 1 takes the other size, two known sizes must be equal."""
        if len(left) < len(right):
            left, right = right, left
        if not right:
            return left
        lead = left[:len(left) - len(right)]
        paired: list[Dim] = []
        for offset, (i, j) in enumerate(zip(left[len(lead):], right)):
            if i is None or j is None:
                paired.append(None)
            elif i == 1 or j == 1:
                paired.append(j if i == 1 else i)
            elif i != j:
                axis = offset - len(right)  # counted from the end: the same axis in every input
                raise ShapeError(
                    f"{self.name} cannot combine the shapes {_listed(shapes)}: on axis {axis} the sizes {i} and "
                    f"{j} differ (shapes are matched from the last axis; only a size of 1 broadcasts)",
                    hint=self.broadcast_hint(shapes))
            else:
                paired.append(i)
        return (*lead, *paired)

    def broadcast_hint(self, shapes: tuple[Shape, ...]) -> str:
        if len({len(s) for s in shapes}) > 1:
            return ("Keras lines the shapes up from the last axis: a (batch, F) tensor combines with every step of a "
                    "(batch, T, F) one, not with the steps")
        return "bring the inputs to the same size first, e.g. with Dense(units) on the features"


class Add(Elementwise):
    """The elementwise sum of several tensors, `(a, b) > Add`: residual connections and skip paths."""

    name = "Add"


class Subtract(Elementwise):
    """The first tensor minus the second, `(a, b) > Subtract`: the difference of two encodings."""

    name = "Subtract"
    most = 2
    count_hint = "Subtract computes a - b: write (a, b) > Subtract"


class Multiply(Elementwise):
    """The elementwise product of several tensors, `(a, b) > Multiply`: gates (one branch scales another)."""

    name = "Multiply"


class Average(Elementwise):
    """The elementwise mean of several tensors, `(a, b) > Average`: ensembles of branches."""

    name = "Average"


class Maximum(Elementwise):
    """The elementwise maximum of several tensors, `(a, b) > Maximum`; a masked step does not win."""

    name = "Maximum"


class Minimum(Elementwise):
    """The elementwise minimum of several tensors, `(a, b) > Minimum`; a masked step does not win."""

    name = "Minimum"


# ---------------------------------------------------------------- Concatenate


class Concatenate(Merge):
    """Joins several tensors along one axis, `(a, b) > Concatenate`: features (-1) or steps (1); the rest must agree."""

    name = "Concatenate"
    params = (Param("axis", Int(), -1, positional=True,
                    doc="-1 joins the features, 1 the steps; the batch axis cannot be joined"),)

    def validate(self, a: Args, spans: Mapping[str, Span]) -> None:
        if a.axis == 0:
            raise _batch_axis_error("axis", spans.get("axis"))

    def merged_shape(self, a: Args, shapes: tuple[Shape, ...]) -> Shape:
        ranks = {len(s) for s in shapes}
        if len(ranks) > 1:
            raise ShapeError(f"Concatenate needs inputs of the same rank, but received {_listed(shapes)}",
                             hint="RepeatVector(n) turns a (batch, F) vector into (batch, n, F) steps")
        rank = ranks.pop()
        axis = a.axis + rank if a.axis < 0 else a.axis
        if not 0 <= axis < rank:
            raise ShapeError(f"Concatenate axis {a.axis} is out of range for inputs of shape {_listed(shapes)}",
                             hint=f"axis -1 joins the features{', 1 the steps' if rank > 2 else ''}")
        if axis == 0:
            # Keras accepts it and joins the samples: the output's batch no longer matches the model's inputs
            raise ShapeError(f"Concatenate axis {a.axis} is the batch axis of {_listed(shapes)}: it would join "
                             "samples, not features", hint="axis -1 joins the features, 1 the steps")
        for position in range(rank):
            sizes = list(dict.fromkeys(s[position] for s in shapes if s[position] is not None))  # in input order
            if position != axis and len(sizes) > 1:
                where = "the batch sizes" if position == 0 else f"the sizes on axis {position}"
                raise ShapeError(
                    f"Concatenate(axis={a.axis}) needs equal sizes on every axis but {a.axis}, but received "
                    f"{_listed(shapes)}: {where} differ ({', '.join(str(d) for d in sizes)})",
                    hint=f"only axis {a.axis} may differ; bring the others to the same size first")
        joined = [s[axis] for s in shapes]
        total = None if None in joined else sum(d for d in joined if d is not None)
        # Keras keeps the first input's other sizes, even where it has None and a later input a known size
        return (*shapes[0][:axis], total, *shapes[0][axis + 1:])


# ---------------------------------------------------------------- Dot


@dataclass(frozen=True)
class DotAxes(ArgType):
    """Dot's `axes`: one axis for both inputs, or a pair (the first input's, the second's); negative counts from
    the end. Axis 0 is the batch, which Keras's batch_dot refuses when it runs (its shape rule still accepts it)."""

    description: str = "an axis or a pair of axes"

    def convert(self, param: str, value: Value, resolver: Any) -> int | tuple[int, int]:
        items = value.items if isinstance(value, TupleLit) else (value,)
        for item in items:
            if not (isinstance(item, Literal) and type(item.value) is int):
                raise type_error(param, self.description, item)
        axes = tuple(item.value for item in items)  # type: ignore[union-attr]
        if isinstance(value, TupleLit) and len(axes) != 2:
            raise RnnspecError("E203", f"'{param}' takes one axis or a pair (one per input), found {len(axes)}",
                               value.span, "e.g. axes=(2, 1): axis 2 of the first input with axis 1 of the second")
        if 0 in axes:
            raise _batch_axis_error(param, value.span)
        return axes if isinstance(value, TupleLit) else axes[0]

    def show(self, value: Any) -> str:
        return str(value) if isinstance(value, int) else f"({value[0]}, {value[1]})"


AXES = DotAxes()


def _batch_axis_error(param: str, span: Span | None) -> RnnspecError:
    return RnnspecError("E203", f"'{param}' cannot be 0: axis 0 is the batch", span,
                        "axes count from the batch: 1 is the first axis after it, -1 the last")


class Dot(Merge):
    """Sums the product of two tensors over one axis of each, `(a, b) > Dot(-1)`: similarity or attention scores."""

    name = "Dot"
    most = 2
    count_hint = "Dot multiplies two tensors: write (a, b) > Dot(axes)"
    params = (
        Param("axes", AXES, positional=True, doc="summed over: one axis for both, or (axis of a, axis of b)"),
        Param("normalize", Bool(), False, doc="L2-normalise both along the axes first: the cosine similarity"),
    )

    def resolve_axes(self, a: Args, shapes: tuple[Shape, ...]) -> tuple[int, int]:
        """Each input's axis, counted from the front. Keras wraps a negative int axis modulo the rank (-4 on a rank
        3 input is axis 2); rnnspec refuses an axis past the rank instead, as a pair of axes does in Keras."""
        pair = (a.axes, a.axes) if isinstance(a.axes, int) else a.axes
        resolved = []
        for axis, shape in zip(pair, shapes):
            position = axis + len(shape) if axis < 0 else axis
            if not 0 <= position < len(shape):
                raise ShapeError(f"Dot axis {axis} is out of range for an input of shape {format_shape(shape)} "
                                 f"(received {_listed(shapes)})", hint="axis -1 is the last axis, 1 the first after "
                                 "the batch")
            if position == 0:
                raise ShapeError(f"Dot axis {axis} is the batch axis of {format_shape(shape)}: Keras cannot sum "
                                 "over the batch", hint="axis -1 is the last axis, 1 the first after the batch")
            resolved.append(position)
        return resolved[0], resolved[1]

    def merged_shape(self, a: Args, shapes: tuple[Shape, ...]) -> Shape:
        first, second = shapes
        if len(first) < 2 or len(second) < 2:
            raise ShapeError(f"Dot needs inputs with at least one axis after the batch, but received {_listed(shapes)}",
                             hint="give the inputs features, e.g. Input(8)")
        a0, a1 = self.resolve_axes(a, shapes)
        if first[0] is not None and second[0] is not None and first[0] != second[0]:
            raise ShapeError(f"Dot cannot multiply tensors with different batch sizes: received {_listed(shapes)}",
                             hint="give the inputs the same batch_size, or leave it unknown")
        d0, d1 = first[a0], second[a1]
        if d0 != d1:
            unknown = None in (d0, d1)
            raise ShapeError(
                f"Dot(axes={AXES.show(a.axes)}) sums axis {a0} of {format_shape(first)} against "
                f"axis {a1} of {format_shape(second)}, but their sizes differ ({d0} and {d1})"
                + ("; Keras wants them equal, and an unknown size does not equal a known one" if unknown else ""),
                hint="make the sizes equal on those axes (both known and the same, or both unknown)" if unknown
                else "choose axes of equal size, or bring one input to the other's size with Dense")
        # Keras's compute_output_shape: the first shape less its axis, then the second less its batch and axis
        merged = [*first[:a0], *first[a0 + 1:], *(d for i, d in enumerate(second) if i not in (0, a1))]
        if len(merged) == 1:
            merged.append(1)  # two vectors give one score per sample: (batch, 1)
        return tuple(merged)
