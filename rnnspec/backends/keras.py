"""The Keras backend: a checked model becomes a built `keras.Sequential` with the same rows.

Layer names are the ones rnnspec inferred, so `model.summary()` matches `rnnspec summary` row for row.
This is the only module that imports Keras.
"""
from __future__ import annotations

from typing import Any

from rnnspec.errors import RnnspecError
from rnnspec.infer import ModelReport
from rnnspec.layers.base import LayerNode
from rnnspec.layers.objects import KerasObject


def _keras() -> Any:
    try:
        import keras
    except ImportError as err:
        raise RnnspecError("E501", f"the Keras backend needs Keras ({err})",
                           hint="install it with: pip install 'rnnspec[keras]'") from None
    return keras


def keras_layer(node: LayerNode, name: str | None = None) -> Any:
    """`keras.layers.<Type>(**arguments)`; layers given as arguments (wrappers) are built first."""
    keras = _keras()
    kwargs = {key: _keras_value(keras, value) for key, value in node.kind.keras_kwargs(node.args).items()}
    if name is not None:
        kwargs["name"] = name
    return getattr(keras.layers, node.type_name)(**kwargs)


def _keras_value(keras: Any, value: Any) -> Any:
    """A resolved argument as Keras takes it: a layer built, an initialiser, regulariser or constraint made."""
    if isinstance(value, LayerNode):
        return keras_layer(value)
    if isinstance(value, tuple) and value and all(isinstance(v, LayerNode) for v in value):
        return [keras_layer(v) for v in value]  # StackedRNNCells' cells
    if isinstance(value, KerasObject):
        module = {"initializer": keras.initializers, "regularizer": keras.regularizers,
                  "constraint": keras.constraints}[value.kind]
        return getattr(module, value.name)(**dict(value.args))
    return value


def build(report: ModelReport) -> Any:
    """A built Keras model for a checked report (its input, then one Keras layer per row); a functional model
    becomes a functional `keras.Model`."""
    keras = _keras()
    if report.network is not None:
        return build_functional(report)
    assert report.input is not None, "build() takes a report that checked without errors"
    written = report.graph.input_node if report.graph is not None else None
    inputs = keras.Input(**written.kind.keras_kwargs(written.args)) if written is not None else \
        keras.Input(shape=report.input.shape[1:], batch_size=report.input.shape[0], dtype=report.input.dtype)
    layers = [keras_layer(row.node, row.name) for row in report.rows]
    try:
        return keras.Sequential([inputs, *layers], name=report.name)
    except Exception as err:  # Keras refusing a model rnnspec accepted is a bug worth a clear report
        raise RnnspecError("E501", f"Keras could not build model '{report.name}': {err}", report.span) from None


def build_functional(report: ModelReport) -> Any:
    """Every layer made once, in the order the spec makes them (a shared layer is one Keras layer), then called as
    the spec's calls say: `layer(x, initial_state=[...], mask=m)`, a merge on a list."""
    keras = _keras()
    network = report.network
    graph = network.graph
    made: dict[int, Any] = {}
    for index, node in enumerate(graph.layers):  # all made first, in order, as Keras counts names (_count_name)
        if node.type_name != "Input":
            made[index] = keras_layer(node, network.names[index])
            _count_name(node.type_name)
    tensors: dict[int, list[Any]] = {}
    for index, call in enumerate(graph.calls):  # every call, as written: a shared layer's node indices count them all
        node = graph.layers[call.layer]
        if not call.inputs:
            x = keras.Input(**node.kind.keras_kwargs(node.args), name=network.names[call.layer])
            tensors[index] = [x]
            continue
        layer = made[call.layer]
        inputs = [tensors[ref.call][ref.index] for ref in call.inputs]
        kwargs: dict[str, Any] = node.kind.call_options(node.args)
        if call.states:
            kwargs["initial_state"] = nested_states(node, [tensors[ref.call][ref.index] for ref in call.states])
        if call.mask is not None:
            kwargs["mask"] = tensors[call.mask.call][call.mask.index]
        if call.several and node.kind.several_as_arguments:
            out = layer(*inputs, **kwargs)
        else:
            out = layer(inputs if call.several else inputs[0], **kwargs)
        tensors[index] = keras.tree.flatten(out)  # a stack of cells returns its states nested per cell
    inputs = [tensors[index][0] for index in network.input_rows]
    outputs = [tensors[ref.call][ref.index] for ref in network.outputs]
    try:
        return keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs[0] if len(outputs) == 1 else outputs,
                           name=report.name)
    except Exception as err:  # Keras refusing a model rnnspec accepted is a bug worth a clear report
        raise RnnspecError("E501", f"Keras could not build model '{report.name}': {err}", report.span) from None


def nested_states(node: LayerNode, states: list[Any]) -> list[Any]:
    """`initial_state` as Keras's StackedRNNCells takes it: one item per cell (a list for an LSTMCell's h and c);
    the spec lists the states flat, as the layer returns them."""
    cell = node.args.get("cell")
    if cell is None or cell.type_name != "StackedRNNCells":
        return states
    nested, start = [], 0
    for inner in cell.args.cells:
        count = len(inner.kind.state_names(inner.args))
        nested.append(states[start] if count == 1 else list(states[start:start + count]))
        start += count
    return nested


def _count_name(type_name: str) -> None:
    """Count a layer made with a name as Keras counts one it names itself: the operations Keras adds for masks
    are named by the same counters, and a Concatenate of masked tensors adds one called `concatenate`, which
    would otherwise take the name of a Concatenate layer and make Keras refuse the model (names must be unique)."""
    try:
        from keras.src.utils.naming import auto_name
    except ImportError:  # a Keras without it names its operations some other way
        return
    auto_name(type_name)
