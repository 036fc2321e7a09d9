"""The syntax: every construct of the grammar, exact spans, and syntax errors as people should see them.

Only `rnnspec.parser` and `rnnspec.syntax` are exercised here (no registry, no TensorFlow); what the names mean is
tested in test_resolve.py.
"""
from __future__ import annotations

from typing import Any

import pytest

from rnnspec.errors import RnnspecError, Span
from rnnspec import parser
from rnnspec.lexer import SpecLexer
from rnnspec.parser import ANONYMOUS_MODEL, describe_expected, parse, parse_blocks
from rnnspec.syntax import Arg, Assertion, Call, Chain, Group, Literal, ModelDef, Module, Repeat, Stage, TupleLit


# ---------------------------------------------------------------- helpers


def chain_of(text: str) -> Chain:
    module = parse(text)
    assert len(module.models) == 1
    return module.models[0].chain


def first_call(text: str) -> Call:
    element = chain_of(text).stages[0].element
    assert isinstance(element, Call)
    return element


def plain(value: Any) -> Any:
    """A syntax value as plain Python: literals as themselves, bare names as ("name", n), calls as ("call", ...)."""
    if isinstance(value, Literal):
        return value.value
    if isinstance(value, TupleLit):
        return tuple(plain(item) for item in value.items)
    if isinstance(value, Call) and not value.has_parens:
        return ("name", value.name)
    if isinstance(value, Call):
        return ("call", value.name, tuple((a.name, plain(a.value)) for a in value.args))
    raise AssertionError(f"unexpected value {value!r}")


def args_of(text: str) -> list[tuple[str | None, Any]]:
    return [(a.name, plain(a.value)) for a in first_call(text).args]


def shape(node: Any) -> Any:
    """A syntax tree without its spans and source text: what two spellings of the same model share."""
    if isinstance(node, Module):
        return tuple(shape(m) for m in node.models)
    if hasattr(node, "_fields") and not isinstance(node, Span):
        return (type(node).__name__,) + tuple(
            shape(getattr(node, name)) for name in node._fields if "span" not in name)
    if isinstance(node, tuple):
        return tuple(shape(item) for item in node)
    return node


def at(span: Span) -> tuple[int, int, int, int]:
    return (span.line, span.column, span.end_line, span.end_column)


def syntax_error(text: str) -> RnnspecError:
    with pytest.raises(RnnspecError) as info:
        parse(text)
    return info.value


# Lark's vocabulary must never reach a user: token reprs, terminal names, the end marker.
LARK_WORDS = ("Token(", "Tree(", "RPAR", "LPAR", "MORETHAN", "COMMA", "COLON", "EQUAL", "$END", "__ANON",
              "NAME", "INT", "FLOAT", "STRING", "REPEAT", "EXPECT", "MODEL", "Unexpected", "lark")


def assert_plain_words(err: RnnspecError) -> None:
    for text in (err.message, err.hint or ""):
        for word in LARK_WORDS:
            assert word not in text, f"{word!r} leaked into {text!r}"


# ---------------------------------------------------------------- values


@pytest.mark.parametrize("written, value", [
    ("1_000", 1000),
    ("0", 0),
    ("-1", -1),
    ("+2", 2),
    ("007", 7),
    ("0.2", 0.2),
    ("1e-3", 1e-3),
    ("2E3", 2000.0),
    ("1.", 1.0),
    (".5", 0.5),
    ("-0.1", -0.1),
    ("1_000.5", 1000.5),
    ("'a'", "a"),
    ('"a"', "a"),
    ('"it\'s"', "it's"),
    ("''", ""),
    ("'# not a comment'", "# not a comment"),
    ("relu", ("name", "relu")),
    ("true", ("name", "true")),
    ("false", ("name", "false")),
    ("None", ("name", "None")),
    ("x3", ("name", "x3")),       # `x3` after '(' is a name, not a repeat
    ("(3,)", (3,)),
    ("()", ()),
    ("(3)", (3,)),                # as a value, parentheses always make a tuple
    ("(None, 32)", (("name", "None"), 32)),
    ("(None, 32,)", (("name", "None"), 32)),
    ("((1, 2), (3,))", ((1, 2), (3,))),
    ("Dense(2)", ("call", "Dense", ((None, 2),))),
    ("BatchNormalization", ("name", "BatchNormalization")),
])
def test_every_kind_of_value(written: str, value: Any) -> None:
    assert args_of(f"F({written})") == [(None, value)]


def test_number_types_are_kept_apart() -> None:
    (one,), (two,), (three,) = (first_call(f"F({n})").args for n in ("1", "1.0", "1e0"))
    assert type(one.value.value) is int  # type: ignore[union-attr]
    assert type(two.value.value) is float  # type: ignore[union-attr]
    assert type(three.value.value) is float  # type: ignore[union-attr]


def test_bare_identifiers_are_calls_without_parentheses() -> None:
    """The parser cannot tell `relu` from a bare layer like `BatchNormalization`: both are a Call with
    has_parens False, and the registry decides (rnnspec.layers.base.ident_of reads either)."""
    (arg,) = first_call("Dense(3, activation=relu)").args[1:]
    assert isinstance(arg.value, Call) and not arg.value.has_parens and arg.value.args == ()
    assert first_call("Flatten()").has_parens and first_call("Flatten()").args == ()
    assert not first_call("Flatten").has_parens


def test_positional_and_keyword_arguments() -> None:
    assert args_of("LSTM(32, tanh, seq, dropout=0.2, recurrent_activation='sigmoid', unroll=false)") == [
        (None, 32), (None, ("name", "tanh")), (None, ("name", "seq")), ("dropout", 0.2),
        ("recurrent_activation", "sigmoid"), ("unroll", ("name", "false"))]


@pytest.mark.parametrize("text", ["Dense(3,)", "Dense(3, activation=relu,)", "Dense(\n  3,\n  activation=relu,\n)"])
def test_trailing_commas(text: str) -> None:
    assert args_of(text)[0] == (None, 3)


def test_nested_calls_as_arguments() -> None:
    assert args_of("TimeDistributed(TimeDistributed(Dense(2)))") == [
        (None, ("call", "TimeDistributed", ((None, ("call", "Dense", ((None, 2),))),)))]
    assert args_of("Bidirectional(LSTM(3, seq), merge_mode=sum)") == [
        (None, ("call", "LSTM", ((None, 3), (None, ("name", "seq"))))), ("merge_mode", ("name", "sum"))]
    assert args_of("Bidirectional(layer=GRU(4,),)") == [("layer", ("call", "GRU", ((None, 4),)))]


# ---------------------------------------------------------------- chains, repeats, groups


def names(chain: Chain) -> list[str]:
    return [s.element.name if isinstance(s.element, Call) else "(group)" for s in chain.stages]


@pytest.mark.parametrize("text", [
    "LSTM(3, seq) x3", "LSTM(3, seq) x 3", "LSTM(3,seq)x3", "LSTM(3, seq)\tx\t3", "LSTM(3, seq)\n  x3",
    "LSTM(3, seq) x0_3", "LSTM(3, seq) x3 # three of them",
])
def test_repeat_spellings(text: str) -> None:
    (stage,) = chain_of(text).stages
    assert stage.repeat is not None and stage.repeat.count == 3


def test_repeat_counts_follow_integer_rules() -> None:
    assert chain_of("LSTM(3) x1_000").stages[0].repeat == Repeat(1000, Span("<spec>", 1, 9, 1, 15))
    assert chain_of("LSTM(3) x0").stages[0].repeat.count == 0  # type: ignore[union-attr]  # refused later (E207)
    assert chain_of("BatchNormalization x2 > Dense(2)").stages[0].repeat.count == 2  # type: ignore[union-attr]


def test_names_starting_with_x_are_names() -> None:
    """`x<digits>` is a repeat only right after a layer or a group; elsewhere it is an ordinary name."""
    assert names(chain_of("xLSTM(3) > LSTM(3) > xLSTM(2)")) == ["xLSTM", "LSTM", "xLSTM"]
    assert names(chain_of("LSTM(3) > x2(1)")) == ["LSTM", "x2"]
    assert names(chain_of("x3 > Dense(2)")) == ["x3", "Dense"]  # the start of the file is not after a layer
    assert args_of("Dense(3, activation=x3)") == [(None, 3), ("activation", ("name", "x3"))]
    assert args_of("F(x3, x)") == [(None, ("name", "x3")), (None, ("name", "x"))]
    assert [m.name for m in parse("model x3: LSTM(3)").models] == ["x3"]
    assert names(chain_of("LSTM(3) > xavier")) == ["LSTM", "xavier"]


def test_repeated_group() -> None:
    (stage,) = chain_of("(LSTM(64, seq) > Dropout(0.2)) x2").stages
    assert isinstance(stage.element, Group)
    assert names(stage.element.chain) == ["LSTM", "Dropout"]
    assert stage.repeat is not None and stage.repeat.count == 2


def test_nested_groups() -> None:
    chain = chain_of("Embedding(10, 4) > ((LSTM(4, seq) x2 > Dropout(0.1)) x3 > GRU(4, seq)) x2 > LSTM(2)")
    assert names(chain) == ["Embedding", "(group)", "LSTM"]
    outer = chain.stages[1]
    assert isinstance(outer.element, Group) and outer.repeat.count == 2  # type: ignore[union-attr]
    inner = outer.element.chain.stages[0]
    assert isinstance(inner.element, Group) and inner.repeat.count == 3  # type: ignore[union-attr]
    assert inner.element.chain.stages[0].repeat.count == 2  # type: ignore[union-attr]
    assert names(inner.element.chain) == ["LSTM", "Dropout"]


def test_group_of_one_and_group_without_repeat() -> None:
    assert names(chain_of("(LSTM(3, seq)) x2 > (Dense(2))")) == ["(group)", "(group)"]


def test_shape_notes() -> None:
    stages = chain_of("Embedding(10, 4) : (None, None, 4) > LSTM(8, seq) x2 : (None, None, 8) > LSTM(2)").stages
    assert [plain(s.shape_note) if s.shape_note else None for s in stages] == [
        (("name", "None"), ("name", "None"), 4), (("name", "None"), ("name", "None"), 8), None]
    assert stages[1].repeat.count == 2  # type: ignore[union-attr]
    (group,) = chain_of("(LSTM(3, seq) > Dropout(0.1)) x2 : (None, None, 3)").stages
    assert isinstance(group.element, Group) and group.shape_note is not None


# ---------------------------------------------------------------- files


@pytest.mark.parametrize("text", ["", "   \n\t\n", "# only a comment", "# one\n# two\n\n   # three\n", "\ufeff",
                                  "\ufeff# a comment\r\n"])
def test_files_without_models(text: str) -> None:
    assert parse(text).models == ()


def test_a_lone_chain_is_a_model_named_model() -> None:
    (model,) = parse("Embedding(10, 4) > LSTM(3)\nexpect shape (None, 3)").models
    assert model.name == "model"
    assert [a.kind for a in model.assertions] == ["shape"]


def test_several_models_and_every_assertion_kind() -> None:
    module = parse(
        "model a: Embedding(10, 4) > LSTM(3)\n"
        "    expect shape (None, 3)\n"
        "    expect params 1_000\n"
        "    expect trainable 900\n"
        "    expect non_trainable 100\n"
        "model b: LSTM(4) model c: GRU(5)\n"
        "    expect latency 3   # an unknown kind parses; checking it is the registry's job (E209)\n",
        path="f.rnn",
    )
    assert [m.name for m in module.models] == ["a", "b", "c"]
    a, b, c = module.models
    assert [(x.kind, plain(x.value)) for x in a.assertions] == [
        ("shape", (("name", "None"), 3)), ("params", 1000), ("trainable", 900), ("non_trainable", 100)]
    assert b.assertions == () and [x.kind for x in c.assertions] == ["latency"]
    assert module.path == "f.rnn" and a.span.path == "f.rnn"


SPREAD = """\
# A stacked model written over several lines.
model stacked:
    Embedding(10000, 32)          # ids to vectors
    > SimpleRNN(32, seq) x3       # '>' at the start of a line
    : (None, None, 32) >          # ... and at the end of one
    # a comment between two layers

    SimpleRNN(32)
    expect shape (None, 32)
    expect params 328_320
"""
ONE_LINE = ("model stacked: Embedding(10000, 32) > SimpleRNN(32, seq) x3 : (None, None, 32) > SimpleRNN(32) "
            "expect shape (None, 32) expect params 328_320")


def test_chains_span_lines() -> None:
    assert shape(parse(SPREAD)) == shape(parse(ONE_LINE))


def test_crlf_line_endings_change_nothing() -> None:
    """'\\r' is whitespace at the end of a line, so even the spans are the same."""
    assert parse(SPREAD.replace("\n", "\r\n")).models == parse(SPREAD).models


def test_a_byte_order_mark_is_skipped() -> None:
    """Columns are counted after the BOM, as editors show them."""
    assert parse("\ufeff" + SPREAD).models == parse(SPREAD).models
    assert at(first_call("\ufeffLSTM(3)").span) == (1, 1, 1, 8)


def test_tabs_count_as_one_column() -> None:
    assert at(first_call("\t\tLSTM(3)").span) == (1, 3, 1, 10)


def test_keywords_are_names_where_no_keyword_can_stand() -> None:
    """`model` and `expect` are keywords only at the very start of the input and right after a layer or a value
    (where only `>`, a repeat, a shape note, `expect` or the next `model` can follow). Everywhere else, after
    `(`, `,`, `=`, `>`, `:` or the keyword `model` itself, they are ordinary names."""
    module = parse("model model: model(expect=1, model=2) > expect(model, (None, expect)) > model\n"
                   "    expect expect 3\n"
                   "model expect: Dense(3, activation=model)")
    assert [m.name for m in module.models] == ["model", "expect"]
    first = module.models[0]
    assert names(first.chain) == ["model", "expect", "model"]
    assert [(a.name, plain(a.value)) for a in first.chain.stages[0].element.args] == [  # type: ignore[union-attr]
        ("expect", 1), ("model", 2)]
    assert [a.kind for a in first.assertions] == ["expect"]
    assert names(chain_of("LSTM(3) > model > expect")) == ["LSTM", "model", "expect"]


def test_keywords_at_the_start_of_a_lone_chain_are_keywords() -> None:
    """The flip side: a lone chain cannot start with a layer called `model` or `expect`."""
    err = syntax_error("model(3) > Dense(2)")
    assert (err.code, err.span.line, err.span.column) == ("E100", 1, 6)  # type: ignore[union-attr]
    assert "the model's name" in err.message
    err = syntax_error("expect(3)")
    assert (err.code, err.span.column) == ("E100", 1)  # type: ignore[union-attr]
    assert "a layer, 'model' or the end of the spec" in err.message


# ---------------------------------------------------------------- spans


SPANNED = """\
# header comment
model tagger:
    Embedding(100, 8, mask_zero=true)
    > (LSTM(16, seq) > Dropout(0.2)) x2 : (None, None, 16)
    > TimeDistributed(Dense(3, activation='softmax'))
    expect shape (None, None, 3)
"""


def test_the_path_is_given_by_keyword() -> None:
    """The path is keyword-only, as in check() and select(): a second positional string is refused."""
    with pytest.raises(TypeError):
        parse("Input(3) > Dense(1)", "f.rnn")  # type: ignore[misc]
    (model,) = parse("Input(3) > Dense(1)", path="f.rnn").models
    assert model.span.path == "f.rnn"


def test_every_node_has_exact_spans() -> None:
    (model,) = parse(SPANNED, path="t.rnn").models
    assert model.span == Span("t.rnn", 2, 1, 6, 33)
    assert at(model.name_span) == (2, 7, 2, 13)
    assert at(model.chain.span) == (3, 5, 5, 54)
    embedding_stage, group_stage, td_stage = model.chain.stages

    # line 3: Embedding(100, 8, mask_zero=true)
    assert at(embedding_stage.span) == (3, 5, 3, 38)
    embedding = embedding_stage.element
    assert isinstance(embedding, Call)
    assert at(embedding.span) == (3, 5, 3, 38) and at(embedding.name_span) == (3, 5, 3, 14)
    hundred, eight, mask = embedding.args
    assert at(hundred.span) == at(hundred.value.span) == (3, 15, 3, 18) and hundred.name_span is None
    assert at(eight.span) == (3, 20, 3, 21)
    assert at(mask.span) == (3, 23, 3, 37)
    assert at(mask.name_span) == (3, 23, 3, 32)  # type: ignore[arg-type]
    assert at(mask.value.span) == (3, 33, 3, 37)

    # line 4: > (LSTM(16, seq) > Dropout(0.2)) x2 : (None, None, 16)
    assert at(group_stage.span) == (4, 7, 4, 59)
    group = group_stage.element
    assert isinstance(group, Group)
    assert at(group.span) == (4, 7, 4, 37)
    assert at(group.chain.span) == (4, 8, 4, 36)
    lstm_stage, dropout_stage = group.chain.stages
    lstm = lstm_stage.element
    assert isinstance(lstm, Call)
    assert at(lstm_stage.span) == at(lstm.span) == (4, 8, 4, 21)
    assert at(lstm.name_span) == (4, 8, 4, 12)
    assert [at(a.span) for a in lstm.args] == [(4, 13, 4, 15), (4, 17, 4, 20)]
    assert at(lstm.args[1].value.span) == (4, 17, 4, 20)
    assert at(dropout_stage.span) == (4, 24, 4, 36)
    assert at(dropout_stage.element.args[0].span) == (4, 32, 4, 35)  # type: ignore[union-attr]
    assert at(group_stage.repeat.span) == (4, 38, 4, 40)  # type: ignore[union-attr]
    note = group_stage.shape_note
    assert note is not None and at(note.span) == (4, 43, 4, 59)
    assert [at(i.span) for i in note.items] == [(4, 44, 4, 48), (4, 50, 4, 54), (4, 56, 4, 58)]

    # line 5: > TimeDistributed(Dense(3, activation='softmax'))
    td = td_stage.element
    assert isinstance(td, Call)
    assert at(td_stage.span) == at(td.span) == (5, 7, 5, 54)
    assert at(td.name_span) == (5, 7, 5, 22)
    (inner_arg,) = td.args
    dense = inner_arg.value
    assert isinstance(dense, Call)
    assert at(inner_arg.span) == at(dense.span) == (5, 23, 5, 53)
    assert at(dense.name_span) == (5, 23, 5, 28)
    units, activation = dense.args
    assert at(units.span) == (5, 29, 5, 30)
    assert at(activation.span) == (5, 32, 5, 52)
    assert at(activation.name_span) == (5, 32, 5, 42)  # type: ignore[arg-type]
    assert at(activation.value.span) == (5, 43, 5, 52)

    # line 6: expect shape (None, None, 3)
    (assertion,) = model.assertions
    assert isinstance(assertion, Assertion)
    assert at(assertion.span) == (6, 5, 6, 33)
    assert at(assertion.kind_span) == (6, 12, 6, 17)
    assert at(assertion.value.span) == (6, 18, 6, 33)


def test_spans_of_a_lone_chain_and_of_repeats() -> None:
    (model,) = parse("Dense(3)\n  x 2\nexpect params 8").models
    (stage,) = model.chain.stages
    assert at(stage.span) == (1, 1, 2, 6)
    assert at(stage.repeat.span) == (2, 3, 2, 6)  # type: ignore[union-attr]
    assert at(model.name_span) == at(model.chain.span) == (1, 1, 2, 6)
    assert at(model.span) == (1, 1, 3, 16)  # the assertions belong to the model, as in `model NAME:`
    assert at(first_call("Flatten").span) == (1, 1, 1, 8)
    assert at(first_call("F(())").args[0].span) == (1, 3, 1, 5)
    assert at(first_call("F(-1.5e3)").args[0].span) == (1, 3, 1, 9)


def test_the_syntax_tree_is_frozen() -> None:
    model = parse("LSTM(3)").models[0]
    with pytest.raises(AttributeError):
        model.name = "other"  # type: ignore[misc]
    assert isinstance(model, ModelDef) and isinstance(model.chain.stages[0], Stage)
    assert isinstance(first_call("F(a=1)").args[0], Arg)


# ---------------------------------------------------------------- syntax errors


@pytest.mark.parametrize("text, code, line, column, message, hint", [
    # a missing ')' is reported where the parser gives up, and the hint names the '(' that is still open
    ("model a:\n    LSTM(32,\n         seq\n    > Dense(2)\n", "E101", 4, 5,
     "expected ',' or ')', found '>'", "the '(' at line 2, column 9 is not closed"),
    ("Embedding(10, 4) > LSTM(3", "E101", 1, 26, "expected ',' or ')', found the end of the spec",
     "the '(' at line 1, column 24 is not closed"),
    ("model a: LSTM(3\nmodel b: LSTM(2)", "E101", 2, 1, "found 'model'", "the '(' at line 1, column 14 is not closed"),
    ("Embedding(10, 4)\n> (LSTM(3, seq) > Dropout(0.1)\n> Dense(2)", "E101", 3, 11,
     "expected '>' and another layer, ',' or ')', found the end of the spec", "the '(' at line 2, column 3 is not closed"),
    ("Bidirectional(LSTM(3 > Dense(2))", "E101", 1, 22, "expected ',' or ')', found '>'",
     "the '(' at line 1, column 19 is not closed"),
    ("LSTM(3) expect shape (None, 3", "E101", 1, 30, "expected ',' or ')'", "line 1, column 22"),
    # '>' problems
    ("LSTM(3) >> Dense(2)", "E100", 1, 10, "expected a layer after '>', found another '>'", "a single '>'"),
    ("Embedding(10, 4)\n  > LSTM(3) >\n# done\n", "E100", 2, 14,
     "expected a layer after '>', found the end of the spec", "trailing '>'"),
    ("model a: Embedding(10, 4) > > LSTM(3)", "E100", 1, 29, "expected a layer after '>'", "a single '>'"),
    # separators
    ("Dense(3; activation=relu)", "E100", 1, 8, "unexpected ';'; expected ',' or ')'", "separate arguments with ','"),
    ("LSTM(3)\nDense(2)", "E100", 2, 1, "expected '>' and another layer, 'expect' or the end of the spec, "
     "found 'Dense'", "join layers with '>'"),
    ("LSTM(3) (Dense(2))", "E100", 1, 9, "expected '>' and another layer", "join layers with '>'"),
    # repeats
    ("LSTM(3) x > Dense(2)", "E100", 1, 9, "expected a repeat count after 'x'", "as in 'x3'"),
    ("LSTM(3) x", "E100", 1, 9, "expected a repeat count after 'x'", "as in 'x3'"),
    ("LSTM(3) x\n3", "E100", 1, 9, "expected a repeat count after 'x'", "as in 'x3'"),
    ("LSTM(3) : (None, 3) x2", "E100", 1, 21, "found 'x2'", "before any shape note"),
    ("LSTM(3) x3 x2", "E100", 1, 12, "found 'x2'", "a repeat follows a layer or a group"),
    # unbalanced ')'
    ("LSTM(3)) > Dense(2)", "E101", 1, 8, "unbalanced ')': expected '>' and another layer", "no matching '('"),
    ("(LSTM(3) > Dense(2)))", "E101", 1, 21, "unbalanced ')'", "no matching '('"),
    # numbers
    ("Dense(1_)", "E102", 1, 7, "'1_' is not a valid number", "1_000"),
    ("Dense(1__0)", "E102", 1, 7, "'1__0' is not a valid number", "1_000"),
    ("Dense(3) x3_", "E102", 1, 10, "'x3_' is not a valid repeat count", "x3"),
    # characters no token starts with
    ("Dense(3) → Dense(2)", "E100", 1, 10, "unexpected '→' (U+2192); expected '>' and another layer",
     "join layers with '>'"),
    ("Dense(3)\n  ×3", "E100", 2, 3, "unexpected '×' (U+00D7)", "the letter x"),
    ("Dense(3, activation=é)", "E100", 1, 21, "unexpected 'é' (U+00E9); expected a value", None),
    ("Dense(3)\u200b", "E100", 1, 9, "unexpected character U+200B; expected '>' and another layer", None),
    ("Dense(3, activation='relu)", "E100", 1, 21, "unterminated string", "close it with '"),
    ("Dense(3) ! Dense(2)", "E100", 1, 10, "unexpected '!'", None),
    # arguments
    ("Dense(a=)", "E100", 1, 9, "expected a value, found ')'", None),
    ("Dense(=3)", "E100", 1, 7, "expected a value or ')', found '='", "name=value"),
    ("Dense(3,,)", "E100", 1, 9, "expected a value or ')', found ','", None),
    ("Dense(3 4)", "E100", 1, 9, "expected ',' or ')', found '4'", None),
    ("LSTM(3) expect shape (None 3)", "E100", 1, 28, "expected ',' or ')', found '3'", None),
    # statements
    ("model a LSTM(3)", "E100", 1, 9, "expected ':', found 'LSTM'", None),
    ("model a: ", "E100", 1, 9, "expected a layer, found the end of the spec", None),
    ("model : LSTM(3)", "E100", 1, 7, "expected the model's name, found ':'", None),
    ("LSTM(3) expect", "E100", 1, 15, "expected what to check, such as 'shape' or 'params'", None),
    ("LSTM(3) expect shape", "E100", 1, 21, "expected a value, found the end of the spec", None),
    ("Dense(3) : 3", "E100", 1, 12, "expected a shape such as (None, 32), found '3'", None),
    ("LSTM(3) model b: LSTM(2)", "E100", 1, 9, "found 'model'", "'model <name>:', the first one too"),
    ("model a: LSTM(3) expect shape (None, 3) > Dense(2)", "E100", 1, 41,
     "expected 'expect', 'model' or the end of the spec, found '>'", "come after the whole chain"),
])
def test_syntax_errors(text: str, code: str, line: int, column: int, message: str, hint: str | None) -> None:
    err = syntax_error(text)
    assert (err.code, err.span.line, err.span.column) == (code, line, column), err  # type: ignore[union-attr]
    assert message in err.message
    if hint is None:
        assert err.hint is None
    else:
        assert err.hint is not None and hint in err.hint
    assert_plain_words(err)
    assert err.message.startswith(("expected", "unexpected", "unbalanced", "unterminated", "'"))
    assert "expected" in err.message or code == "E102" or "unterminated" in err.message


def test_syntax_errors_carry_the_path_and_a_span_of_the_token() -> None:
    err = syntax_error_at("models/x.rnn", "LSTM(3)\n  Dense(2)")
    assert err.span == Span("models/x.rnn", 2, 3, 2, 8)
    assert str(err).startswith("models/x.rnn:2:3: error[E100]: expected '>'")
    end = syntax_error("LSTM(3) >   # trailing comment\n\n")
    assert at(end.span) == (1, 10, 1, 10)  # type: ignore[arg-type]  # just after the last token, not the comment


def syntax_error_at(path: str, text: str) -> RnnspecError:
    with pytest.raises(RnnspecError) as info:
        parse(text, path=path)
    return info.value


def test_a_paren_closed_later_is_not_blamed() -> None:
    """Only a '(' that is never closed earns the 'is not closed' hint (and E101)."""
    err = syntax_error("LSTM(3 Dense(2))")
    assert (err.code, err.hint) == ("E100", None)
    assert err.message == "expected ',' or ')', found 'Dense'"


def test_describe_expected_uses_words() -> None:
    assert describe_expected({"NAME", "LPAR", "INT", "FLOAT", "STRING"}) == "a value"
    assert describe_expected({"NAME", "LPAR"}) == "a layer"
    assert describe_expected({"COMMA", "RPAR", "LPAR", "EQUAL"}) == "',' or ')'"
    assert describe_expected({"MORETHAN", "REPEAT", "COLON", "EXPECT", "$END"}) == \
        "'>' and another layer, 'expect' or the end of the spec"
    assert describe_expected(set()) == "something else"


# ---------------------------------------------------------------- a file of model blocks, some broken

BLOCKS = """# three models, the first and third broken
model a:
    Input(5, 3) > LSTM(4,, seq)
    expect shape (None, 4)

model b:  # fine
    Input(5, 3) > (GRU(4, seq) > Dropout(0.1)) x2
    > Dense(1)

model c:
    Input(5, 3) > Dense(4 > Dense(1)
"""


def blanked(text: str, keep: str) -> str:
    """The file with every line outside the block `model KEEP:` turned to spaces: what a whole-file parse of
    that block alone sees, at the same lines and columns."""
    lines = text.split("\n")
    first = next(i for i, line in enumerate(lines) if line.startswith(f"model {keep}:"))
    last = next((i for i in range(first + 1, len(lines)) if lines[i].startswith("model ")), len(lines))
    return "\n".join(line if first <= i < last else " " * len(line) for i, line in enumerate(lines))


def test_broken_blocks_keep_the_errors_and_spans_of_a_whole_file_parse() -> None:
    modules, broken = parse_blocks(BLOCKS, "f.rnn")
    assert [m.name for module in modules for m in module.models] == ["b"]
    assert modules[0].models == parse(blanked(BLOCKS, "b"), path="f.rnn").models
    assert [(b.name, b.span) for b in broken] == [("a", Span("f.rnn", 2, 7, 2, 8)), ("c", Span("f.rnn", 10, 7, 10, 8))]
    for block in broken:
        alone = syntax_error_at("f.rnn", blanked(BLOCKS, block.name))
        assert (block.error.code, block.error.message, block.error.hint, block.error.span) == \
            (alone.code, alone.message, alone.hint, alone.span)
    assert broken[1].error.hint == "the '(' at line 11, column 24 is not closed"  # counted in the file, not the block


def test_a_broken_block_error_holds_nothing_of_the_parse() -> None:
    """An error keeps its message and span only: no Lark exception as its context (which holds the parser's
    state and the text), no traceback (whose frames hold both)."""
    _, broken = parse_blocks(BLOCKS + "model d:\n    Input(3) > Dense(1) \u2192 Dense(2)\n", "f.rnn")
    assert len(broken) == 3
    for block in broken:
        error = block.error
        assert (error.__context__, error.__cause__, error.__traceback__) == (None, None, None)
        assert all(value is None or isinstance(value, (str, Span)) for value in vars(error).values())


def test_each_block_is_lexed_once_or_twice_not_the_whole_file_per_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """The characters handed to the lexer grow with the file, not with the file times its broken blocks."""
    lexed: list[int] = []
    real_lex = SpecLexer.lex

    def counting_lex(self: SpecLexer, source: Any, *rest: object) -> Any:
        lexed.append(source.end - source.start if hasattr(source, "end") else len(source))
        return real_lex(self, source, *rest)

    monkeypatch.setattr(SpecLexer, "lex", counting_lex)
    parser._parser.cache_clear()
    try:
        text = "".join(f"model m{i}:\n    Input(4) > Dense(4 >\n" for i in range(200))
        _, broken = parse_blocks(text)
    finally:
        parser._parser.cache_clear()
    assert len(broken) == 200
    assert sum(lexed) <= 4 * len(text)  # the whole file and its error once, then each block and its error


def test_text_before_the_first_model_block_is_not_dropped() -> None:
    """A misspelt first `model` line leaves its chain in no block: it is reported, not silently skipped."""
    text = "modle a:\n    Input(3) > Dense(1)\nmodel b:\n    Input(3) > Dense(1)\nmodel c:\n    Input(3) > Dense(1)\n"
    modules, broken = parse_blocks(text, "f.rnn")
    assert [m.name for module in modules for m in module.models] == ["b", "c"]
    assert [(b.name, b.span[:3], b.error.span[:3]) for b in broken] == [(ANONYMOUS_MODEL, ("f.rnn", 1, 1),
                                                                          ("f.rnn", 1, 7))]
    assert parse_blocks("# only comments\n\n" + text[9 + 24:], "f.rnn")[1] == []


def test_a_byte_order_mark_does_not_hide_the_first_block() -> None:
    modules, broken = parse_blocks("\ufeffmodel a:\n  Input(3) > Dense(1\nmodel b:\n  Input(3) > Dense(1)\n")
    assert [b.name for b in broken] == ["a"] and broken[0].error.span[1:3] == (2, 21)
    assert [m.name for module in modules for m in module.models] == ["b"]


def test_the_garbage_collector_is_left_as_it_was_found() -> None:
    """Parsing pauses the cyclic collector (it doubled the time of a 1 MiB spec) and restores it: after errors,
    when the caller had disabled it, and across threads parsing at once."""
    import gc
    from concurrent.futures import ThreadPoolExecutor

    assert gc.isenabled()
    parse("Input(3) > Dense(1)")
    with pytest.raises(RnnspecError):
        parse("Input(3) > Dense(1")
    assert gc.isenabled()
    gc.disable()
    try:
        parse("Input(3) > Dense(1)")
        assert not gc.isenabled()
    finally:
        gc.enable()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: parse_blocks(BLOCKS * 20), range(16)))
    assert gc.isenabled()
