"""Warnings: specs that are legal, and that Keras builds, but that probably do not do what they read as.

A warning is an RnnspecError with severity "warning" and a W code; `rnnspec check` reports it and fails on it only
with --strict.
"""
from __future__ import annotations

from rnnspec.errors import RnnspecError
from rnnspec.infer import ModelReport, Row
from rnnspec.layers.base import LayerNode

# Layers through which Keras passes a mask unchanged; the rest of the non-recurrent layers drop it.
MASK_PASSES = frozenset({
    "Dense", "Activation", "Dropout", "SpatialDropout1D", "LayerNormalization", "BatchNormalization", "TimeDistributed",
    "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "ActivityRegularization", "UnitNormalization",
})  # Keras: supports_masking with the default compute_mask, checked in tests/test_lint.py
MASK_MAKERS = {"Embedding", "Masking"}
MASK_CONSUMERS = {"GlobalAveragePooling1D"}
RECURRENT = {"SimpleRNN", "LSTM", "GRU", "Bidirectional"}


def _warning(code: str, message: str, row: Row, hint: str) -> RnnspecError:
    return RnnspecError(code, message, row.span, hint, severity="warning")


def _returns_sequences(row: Row) -> bool:
    args = row.node.args
    inner = args.get("layer")
    return bool(args.get("return_sequences") or (inner is not None and inner.args.get("return_sequences")))


def _unrolled(row: Row) -> bool:
    """Whether a recurrent row unrolls: itself, or a Bidirectional's forward or backward layer."""
    args = row.node.args
    if "layer" not in args:
        return bool(args.get("unroll"))
    backward = args.get("backward_layer")
    return bool(args.layer.args.get("unroll") or backward is not None and backward.args.get("unroll"))


def _deprecated(row: Row) -> list[RnnspecError]:
    """W109 for each deprecated argument given, on the row's layer or a layer it wraps."""
    if not row.node.kind.may_hold_deprecated:  # most layers: nothing to look at
        return []
    found = []
    stack = [row.node]
    while stack:
        node = stack.pop()
        for param in node.kind.deprecated:
            if node.args.get(param.name) != param.default:
                found.append(RnnspecError("W109", f"{node.type_name}'s '{param.name}' is deprecated: {param.deprecated}",
                                          node.arg_spans.get(param.name, node.span),
                                          f"remove {param.name}=; rnnspec and Keras ignore it", severity="warning"))
        stack += [node.args[name] for name in node.kind.layer_params if isinstance(node.args[name], LayerNode)]
    return found


def lint_rows(report: ModelReport) -> list[RnnspecError]:
    """The warnings about one layer alone, for a functional model (the others follow a chain's order)."""
    found: list[RnnspecError] = []
    for row in report.rows:
        found += _deprecated(row)
        kind = row.type
        if kind in ("Dropout", "SpatialDropout1D") and row.node.args.rate == 0:
            found.append(_warning("W101", f"{kind} with rate 0 does nothing", row, "remove it, or give it a rate"))
        if kind in RECURRENT and len(row.input_shape) > 1 and row.input_shape[1] is None and _unrolled(row):
            found.append(_warning(
                "W104", f"'{row.name}' unrolls over an unknown number of steps", row,
                "Keras unrolls again for every new length; give the input a fixed length, e.g. Input(100, ...)"))
    return found


def lint(report: ModelReport) -> list[RnnspecError]:
    """Warnings for one model that checked; the order follows the layers."""
    found: list[RnnspecError] = []
    masked = False
    last_recurrent = max((i for i, r in enumerate(report.rows) if r.type in RECURRENT), default=-1)
    before: Row | None = None  # the last row that is not a Dropout or an Activation
    for index, row in enumerate(report.rows):
        kind, args = row.type, row.node.args
        if row.node.kind.may_hold_deprecated:
            found += _deprecated(row)
        if kind in ("Dropout", "SpatialDropout1D") and args.rate == 0:
            found.append(_warning("W101", f"{kind} with rate 0 does nothing", row, "remove it, or give it a rate"))
        if kind in RECURRENT:
            if row.input_shape[1] is None and _unrolled(row):
                found.append(_warning(
                    "W104", f"'{row.name}' unrolls over an unknown number of steps", row,
                    "Keras unrolls again for every new length; give the input a fixed length, e.g. Input(100, ...)"))
        if masked and kind not in MASK_PASSES | MASK_MAKERS | MASK_CONSUMERS | RECURRENT:
            found.append(_warning(
                "W103", f"{kind} drops the mask made earlier: the padding steps count as real from '{row.name}' on",
                row, "put the layers that use the mask (recurrent layers, GlobalAveragePooling1D) before it"))
        if kind in MASK_MAKERS:
            masked = kind == "Masking" or bool(args.mask_zero)
        elif kind in RECURRENT:
            masked = masked and _returns_sequences(row)
        elif kind not in MASK_PASSES:
            masked = False
        if kind == "Dense" and len(row.input_shape) == 3 and index > last_recurrent:
            if before is not None and before.type in RECURRENT and _returns_sequences(before):
                found.append(_warning(
                    "W100", f"'{before.name}' returns every step (seq), so this Dense acts on each time step",
                    row, f"for one output per sequence drop `seq` from '{before.name}'; for one per step write "
                    "TimeDistributed(Dense(...))"))
        if kind not in ("Dropout", "Activation"):
            before = row
    return found
