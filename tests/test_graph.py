"""`rnnspec graph`: the DOT, Mermaid and SVG drawings read back and compared with the model they draw (a tiny
DOT reader below; xml.etree for SVG), the command's errors and speed, and a real headless browser (`browser` mark)
showing every label and painting the boxes."""
from __future__ import annotations

import html.parser
import re
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from rnnspec import api
from rnnspec.cli import main
from rnnspec.drawing import drawing_of, render
from rnnspec.shape import format_shape

from .conftest import SPECS

SVG_NS = "{http://www.w3.org/2000/svg}"

CHAIN = "Embedding(100, 8) > LSTM(16, seq) > LSTM(16) > Dense(3)"
REPEAT = "Input(5, 3) > LSTM(4, seq) x3 > Dense(2)"
GROUP = "Input(5, 8) > (LSTM(8, seq) > Dropout(0.1) x2) x3 > Dense(3)"
SHARED = """model shared:
    a = Input(None, 8)
    enc = LSTM(4)
    (a > enc, a > Dense(8, name="d<&'x#quot;|`") > enc) > Add > Dense(2) x2
"""
STATES = """model states:
    enc_in = Input(None, 7)
    dec_in = Input(None, 9)
    _, h, c = enc_in > LSTM(16, state)
    y, _, _ = dec_in > LSTM(16, seq, state, initial_state=(h, c))
    probs = y > Dense(9, activation=softmax)
    output probs, h
"""
FUNCTIONAL_REPEAT = """model deep:
    x = Input(5, 4)
    x > (Dense(4) > (Dense(4) > Dropout(0.1)) x2) x3 > LSTM(3)
"""


def report_of(spec: str):  # type: ignore[no-untyped-def]
    report = api.check(spec)[0]
    assert report.ok, report.errors
    return report


# ------------------------------------------------------------------ a tiny DOT reader

_TOKEN = re.compile(r'\s*(?:(->)|([{}\[\];=,])|"((?:[^"\\]|\\.)*)"|([A-Za-z0-9_#.]+))', re.S)


def _unescape(text: str) -> str:
    """DOT's escString as a label shows it: `\\n` a line break, `\\"` and `\\\\` the character."""
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text)


def read_dot(text: str) -> dict:
    """Nodes (id -> attributes, with the clusters they sit in), edges (source, target, attributes), clusters
    (id -> label, parent): all a drawing's test needs, and a syntax error for anything else."""
    tokens, at = [], 0
    text = text.strip()
    while at < len(text):
        match = _TOKEN.match(text, at)
        assert match and match.end() > at, f"DOT syntax error at {text[at:at + 40]!r}"
        arrow, punct, string, ident = match.groups()
        tokens.append(("id", _unescape(string)) if string is not None else ("p", arrow or punct)
                      if ident is None else ("id", ident))
        at = match.end()
        if at < len(text) and text[at:].strip() == "":
            break
    position = 0

    def take(kind: str | None = None, value: str | None = None) -> str:
        nonlocal position
        got_kind, got = tokens[position]
        assert (kind is None or got_kind == kind) and (value is None or got == value), (tokens[position], value)
        position += 1
        return got

    def attributes() -> dict[str, str]:
        found: dict[str, str] = {}
        take("p", "[")
        while tokens[position] != ("p", "]"):
            key = take("id")
            take("p", "=")
            found[key] = take("id")
            if tokens[position] == ("p", ","):
                take()
        take("p", "]")
        return found

    graph: dict = {"nodes": {}, "edges": [], "clusters": {}}
    assert take("id") == "digraph"
    graph["name"] = take("id")
    take("p", "{")
    stack: list[str] = []
    while True:
        if tokens[position] == ("p", "}"):
            take()
            if not stack:
                break
            stack.pop()
            continue
        word = take("id")
        if word == "subgraph":
            cluster = take("id")
            graph["clusters"][cluster] = {"parent": stack[-1] if stack else None, "label": None}
            stack.append(cluster)
            take("p", "{")
            continue
        if tokens[position] == ("p", "="):
            take()
            value = take("id")
            if word == "label" and stack:
                graph["clusters"][stack[-1]]["label"] = value
        elif tokens[position] == ("p", "->"):
            take()
            target = take("id")
            graph["edges"].append((word, target, attributes()))
        else:
            attrs = attributes()
            if word not in ("node", "edge", "graph"):
                assert word not in graph["nodes"], f"node {word} declared twice"
                graph["nodes"][word] = {**attrs, "clusters": tuple(stack)}
        take("p", ";")
    assert position == len(tokens), "text after the graph"
    return graph


def ordered(dot: dict) -> list[dict]:
    """The nodes in the drawing's order (n0, n1, ...), whatever cluster each is declared in."""
    return [node for _, node in sorted(dot["nodes"].items(), key=lambda item: int(item[0][1:]))]


def labels(dot: dict) -> list[str]:
    return [node["label"] for node in ordered(dot)]


def edges(dot: dict) -> list[tuple[str, str, str]]:
    """Edges as (source label's first line, target label's first line, edge label)."""
    title = {name: node["label"].split("\n")[0] for name, node in dot["nodes"].items()}
    return [(title[s], title[t], a["label"]) for s, t, a in dot["edges"]]


# ------------------------------------------------------------------ DOT: structure equals the model


def test_chain_nodes_and_edges_are_the_summary_rows() -> None:
    report = report_of(CHAIN)
    dot = read_dot(render(report, "dot"))
    assert labels(dot) == ["Input\n(None, None) int32"] + [
        f"{row.type}\n{format_shape(row.output_shape)}\n{row.params:,} params" for row in report.rows] + ["output"]
    shapes = ["(None, None)"] + [format_shape(row.output_shape) for row in report.rows]
    chain = ["Input"] + [row.type for row in report.rows] + ["output"]
    assert edges(dot) == [(a, b, s) for a, b, s in zip(chain, chain[1:], shapes)]


def test_wrapper_shows_the_layer_it_wraps() -> None:
    dot = read_dot(render(report_of("Input(5, 3) > Bidirectional(LSTM(4, seq)) > TimeDistributed(Dense(2))"), "dot"))
    assert [label.split("\n")[0] for label in labels(dot)] == [
        "Input", "Bidirectional(LSTM)", "TimeDistributed(Dense)", "output"]


def test_repeat_is_one_node_with_its_count() -> None:
    dot = read_dot(render(report_of(REPEAT), "dot"))
    assert labels(dot) == ["Input\n(None, 5, 3)", "LSTM ×3\n(None, 5, 4)\n416 params in 3 layers",
                           "Dense\n(None, 5, 2)\n10 params", "output"]
    assert edges(dot) == [("Input", "LSTM ×3", "(None, 5, 3)"), ("LSTM ×3", "Dense", "(None, 5, 4)"),
                          ("Dense", "output", "(None, 5, 2)")]


def test_repeated_group_is_a_cluster_with_its_count() -> None:
    report = report_of(GROUP)
    dot = read_dot(render(report, "dot"))
    nodes = {node["label"].split("\n")[0]: node for node in dot["nodes"].values()}
    assert set(nodes) == {"Input", "LSTM", "Dropout ×2", "Dense", "output"}
    (cluster, info), = dot["clusters"].items()
    assert info == {"parent": None, "label": "×3"}
    assert nodes["LSTM"]["clusters"] == nodes["Dropout ×2"]["clusters"] == (cluster,)
    assert nodes["Dense"]["clusters"] == ()
    assert nodes["LSTM"]["label"].endswith(f"{sum(r.params for r in report.rows if r.type == 'LSTM'):,} params "
                                           "in 3 layers")
    assert nodes["Dropout ×2"]["label"].endswith("0 params in 6 layers")
    assert edges(dot) == [("Input", "LSTM", "(None, 5, 8)"), ("LSTM", "Dropout ×2", "(None, 5, 8)"),
                          ("Dropout ×2", "Dense", "(None, 5, 8)"), ("Dense", "output", "(None, 5, 3)")]


def test_functional_repeats_are_found_again_nested() -> None:
    dot = read_dot(render(report_of(FUNCTIONAL_REPEAT), "dot"))
    outer, inner = dot["clusters"]
    assert dot["clusters"][outer] == {"parent": None, "label": "×3"}
    assert dot["clusters"][inner] == {"parent": outer, "label": "×2"}
    assert [(n["label"], n["clusters"]) for n in ordered(dot)] == [
        ("x: Input\n(None, 5, 4)", ()), ("Dense\n(None, 5, 4)\n60 params in 3 layers", (outer,)),
        ("Dense\n(None, 5, 4)\n120 params in 6 layers", (outer, inner)),
        ("Dropout\n(None, 5, 4)\n0 params in 6 layers", (outer, inner)), ("LSTM\n(None, 3)\n96 params", ()),
        ("output", ())]
    assert len(dot["edges"]) == 5  # a path: no edge back from a copy to the next


def test_merge_and_shared_layer() -> None:
    report = report_of(SHARED)
    dot = read_dot(render(report, "dot"))
    assert edges(dot) == [
        ("a: Input", "enc: LSTM (call 1 of 2)", "a (None, None, 8)"),
        ("a: Input", "d<&'x#quot;|`: Dense", "a (None, None, 8)"),
        ("d<&'x#quot;|`: Dense", "enc: LSTM (call 2 of 2)", "(None, None, 8)"),
        ("enc: LSTM (call 1 of 2)", "Add", "(None, 4)"), ("enc: LSTM (call 2 of 2)", "Add", "(None, 4)"),
        ("Add", "Dense ×2", "(None, 4)"), ("enc: LSTM (call 1 of 2)", "enc: LSTM (call 2 of 2)", "same weights"),
        ("Dense ×2", "output", "(None, 2)")]
    shared = [n for n in dot["nodes"].values() if "enc: LSTM" in n["label"]]
    assert [n["label"].split("\n")[2] for n in shared] == ["shared: 208 params", "shared: same weights as call 1"]
    assert all(n["peripheries"] == "2" for n in shared)
    same = [a for _, _, a in dot["edges"] if a["label"] == "same weights"][0]
    assert (same["dir"], same["constraint"], same["style"]) == ("none", "false", "dashed")


def test_states_and_several_outputs() -> None:
    dot = read_dot(render(report_of(STATES), "dot"))
    assert [label.split("\n")[0] for label in labels(dot)] == [
        "enc_in: Input", "dec_in: Input", "LSTM", "LSTM", "Dense", "output 1: probs", "output 2: h"]
    lstm = [n["label"] for n in dot["nodes"].values() if n["label"].startswith("LSTM")]
    assert lstm[0] == "LSTM\noutput (None, 16)\nh (None, 16)\nc (None, 16)\n1,536 params"
    found = [(s, t, label) for s, t, label in edges(dot)]
    assert ("LSTM", "LSTM", "initial_state=h (None, 16)") in found
    assert ("LSTM", "LSTM", "initial_state=c (None, 16)") in found
    assert found[-2:] == [("Dense", "output 1: probs", "probs (None, None, 9)"),
                          ("LSTM", "output 2: h", "h (None, 16)")]
    states = [a for _, _, a in dot["edges"] if a["label"].startswith("initial_state")]
    assert len(states) == 2 and all(a["color"] == "#1a73e8" for a in states)


def _bundled():  # type: ignore[no-untyped-def]
    for path in sorted(SPECS.glob("*.rnn")):
        for report in api.check(path.read_text(), path=str(path)):
            yield pytest.param(report, id=f"{path.stem}-{report.name}")


@pytest.mark.parametrize("report", list(_bundled()))
def test_every_bundled_model_in_three_formats(report) -> None:  # type: ignore[no-untyped-def]
    """The formats agree with each other and with the report: the drawn parameters add up to its total."""
    drawing = drawing_of(report)
    dot = read_dot(render(report, "dot"))
    assert labels(dot) == ["\n".join((n.title, *n.lines)) for n in drawing.nodes]
    assert len(dot["edges"]) == len(drawing.edges)
    counted = sum(int(m.group(1).replace(",", "")) for label in labels(dot)
                  for m in re.finditer(r"(?:^|\n)(?:shared: )?([\d,]+) params", label))
    assert counted == report.total
    texts = svg_texts(render(report, "svg"))
    for node in drawing.nodes:
        assert all(line in texts for line in (node.title, *node.lines))
    assert mermaid_labels(render(report, "mermaid")) == labels(dot)


# ------------------------------------------------------------------ SVG and Mermaid


def svg_texts(svg: str) -> set[str]:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    return {el.text for el in root.iter(f"{SVG_NS}text") if el.text}


NASTY = 'Input(5, 3) > Dense(2, name="a<b>&c\'d\\"\x1b[31m\ufffe\u202e") > Dense(1)'


def test_svg_escapes_names_and_control_characters() -> None:
    spec = NASTY.replace('\\"', "")  # the lexer has no escape for a quote in a string
    text = render(report_of(spec), "svg")
    texts = svg_texts(text)  # parses: no raw <, &, ESC or U+FFFE in the XML
    assert "a<b>&c'd\\x1b[31m\\ufffe\\u202e: Dense" in texts
    assert "\x1b" not in text and "\ufffe" not in text and "\u202e" not in text
    assert "&lt;b&gt;&amp;c" in text


def test_dot_escapes_quotes_and_backslashes() -> None:
    from rnnspec.drawing.dot import quote

    spec = 'Input(5, 3) > Dense(2, name="say \\\\n hi")'  # the name holds two backslashes and an n
    assert read_dot(render(report_of(spec), "dot"))["nodes"]["n1"]["label"].split("\n")[0] == "say \\\\n hi: Dense"
    assert quote('a"b\\') == '"a\\"b\\\\"'
    assert read_dot("digraph " + quote('q"x') + " { }")["name"] == 'q"x'
    tab = report_of('Input(3) > Dense(2, name="tab\tq")')
    assert read_dot(render(tab, "dot"))["nodes"]["n1"]["label"].startswith("tab\\x09q: Dense")


_MERMAID_NODE = re.compile(r'^ {4,}(n\d+)(\[|\(\[)"([^"]*)"(\]|\]\)):::(\w+)$')
_MERMAID_EDGE = re.compile(r'^ {4}(n\d+) (-->|==>|-\.->|-\.-)(?:\|"([^"]*)"\|)? (n\d+)$')
_ENTITY = {"#quot;": '"', "#lt;": "<", "#gt;": ">", "#amp;": "&", "#124;": "|", "#96;": "`", "#35;": "#"}


def _decode(label: str) -> str:
    assert not re.search(r"[<>|`]", label.replace("<br/>", "")), label
    return re.sub(r"#\w+;", lambda m: _ENTITY[m.group()], label.replace("<br/>", "\n"))


def mermaid_labels(text: str) -> list[str]:
    """Every line a node, an edge, a subgraph, its end, a class or a comment; the node labels decoded."""
    lines = text.splitlines()
    assert lines[1] == "flowchart TB"
    found, depth = [], 0
    for line in lines[2:]:
        node, edge = _MERMAID_NODE.match(line), _MERMAID_EDGE.match(line)
        if node:
            found.append(_decode(node.group(3)))
        elif re.match(r'^ *subgraph g\d+ \["[^"]*"\]$', line):
            depth += 1
        elif line.strip() == "end":
            depth -= 1
        else:
            assert edge or line.startswith("    classDef "), line
    assert depth == 0
    return found


def test_mermaid_labels_are_quoted_and_escaped() -> None:
    text = render(report_of(SHARED), "mermaid")
    assert 'n2["d#lt;#amp;\'x#35;quot;#124;#96;: Dense<br/>(None, None, 8)<br/>72 params"]:::layer' in text
    assert '    n1 -.-|"same weights"| n3' in text
    assert mermaid_labels(text)[2] == "d<&'x#quot;|`: Dense\n(None, None, 8)\n72 params"
    text = render(report_of(STATES), "mermaid")
    assert '    n2 ==>|"initial_state=h (None, 16)"| n3' in text
    text = render(report_of(GROUP), "mermaid")
    assert re.search(r'subgraph g0 \["×3"\]\n {8}n1\["LSTM<br/>', text)


# ------------------------------------------------------------------ size and speed


def test_thousand_layer_chain_and_huge_repeat_are_quick() -> None:
    spec = "Input(5, 3) > " + " > ".join(f"Dense({i % 7 + 1})" for i in range(1000))
    start = time.perf_counter()
    report = report_of(spec)
    svg = render(report, "svg")
    assert time.perf_counter() - start < 5
    assert svg.count('<g class="node') == 1002
    huge = report_of("Input(5, 8) > LSTM(8, seq) x 100000 > Dense(2)")
    start = time.perf_counter()
    dot = read_dot(render(huge, "dot"))
    assert time.perf_counter() - start < 1
    assert labels(dot)[1] == f"LSTM ×100,000\n(None, 5, 8)\n{huge.total - 18:,} params in 100,000 layers"
    deep = report_of("model deep:\n    x = Input(5, 4)\n    x > Dense(4) x 20000\n")
    assert [n.title for n in drawing_of(deep).nodes] == ["x: Input", "Dense ×20,000", "output"]


def test_layout_keeps_a_chain_straight_and_boxes_apart() -> None:
    from rnnspec.drawing.layout import layout

    placed = layout(drawing_of(report_of(SHARED)))
    boxes = list(placed.boxes.values())
    for i, a in enumerate(boxes):  # no two boxes overlap
        for b in boxes[i + 1:]:
            assert a.right <= b.x or b.right <= a.x or a.bottom <= b.y or b.bottom <= a.y
    chain = layout(drawing_of(report_of(CHAIN)))
    assert len({round(box.cx, 3) for box in chain.boxes.values()}) == 1
    assert [box.y for box in chain.boxes.values()] == sorted(box.y for box in chain.boxes.values())


# ------------------------------------------------------------------ the command


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["graph", *args])


def test_command_writes_stdout_or_a_file(tmp_path: Path) -> None:
    result = invoke("-e", REPEAT, "--format", "dot")
    assert result.exit_code == 0 and read_dot(result.output)["name"] == "model"
    out = tmp_path / "m.svg"
    result = invoke(str(SPECS / "functional.rnn"), "--model", "translator", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "saved the svg graph of translator" in result.output
    assert "encoder_inputs: Input" in svg_texts(out.read_text(encoding="utf-8"))
    mmd = tmp_path / "m.mmd"
    assert invoke("-e", REPEAT, "-o", str(mmd)).exit_code == 0
    assert mmd.read_text().splitlines()[1] == "flowchart TB"


def test_command_refuses_models_with_errors_like_check() -> None:
    result = invoke("-e", "Input(5, 3) > LSTM(4) > LSTM(4)", "--format", "svg")
    assert result.exit_code == 1
    assert "<expr>:1:25: error[E" in result.output and "^" in result.output
    assert "<svg" not in result.output


def test_command_usage_errors(tmp_path: Path) -> None:
    assert invoke("-e", REPEAT).exit_code == 2  # no format, no -o to tell it
    assert "give --format" in invoke("-e", REPEAT, "-o", str(tmp_path / "x.txt")).output
    several = invoke(str(SPECS / "seed.rnn"), "--format", "dot")
    assert several.exit_code == 2 and "pick one with --model" in several.output
    missing = invoke(str(SPECS / "seed.rnn"), "--model", "nope", "--format", "dot")
    assert missing.exit_code == 2
    unwritable = invoke("-e", REPEAT, "-o", str(tmp_path / "no" / "dir.svg"))
    assert unwritable.exit_code == 2 and "error[E500]" in unwritable.output


def test_command_imports_no_numpy_or_tensorflow(tmp_path: Path) -> None:
    code = ("import sys\nfrom rnnspec.cli import main\ntry:\n    main(['graph', '-e', %r, '-o', %r])\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'tensorflow', 'keras'}))")
    run = subprocess.run([sys.executable, "-c", code % (STATES, str(tmp_path / "g.svg"))], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]"


# ------------------------------------------------------------------ a real browser


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:  # type: ignore[type-arg]
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.texts.append(data)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    binary = shutil.which("chromium")
    assert binary is not None
    return subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--user-data-dir={tmp_path / 'profile'}", *args], capture_output=True, timeout=60)


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and rows of RGB(A) pixels of an 8-bit truecolour PNG, unfiltered (no imaging library)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, chunks, header = 8, [], b""
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        at += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6)
    step = 3 if colour == 2 else 4
    raw, stride, rows, previous = zlib.decompress(b"".join(chunks)), width * step, [], bytearray(width * step)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, rows


BROWSER_MODELS = [REPEAT, GROUP, SHARED, STATES, FUNCTIONAL_REPEAT, NASTY.replace('\\"', "")]


@pytest.mark.browser
def test_browser_shows_every_label(tmp_path: Path) -> None:
    """One page with every model's SVG inline, and the nastiest one as a standalone file (an XML error would show
    as a parsererror page): Chromium's DOM holds every node's and edge's text."""
    reports = [report_of(spec) for spec in BROWSER_MODELS]
    page = tmp_path / "page.html"
    page.write_text("<!doctype html><meta charset=utf-8><body>" + "".join(render(r, "svg") for r in reports),
                    encoding="utf-8")
    standalone = tmp_path / "nasty.svg"
    standalone.write_text(render(reports[-1], "svg"), encoding="utf-8")
    for target, shown in ((page, reports), (standalone, reports[-1:])):
        run = chromium(tmp_path, "--dump-dom", target.as_uri())
        assert run.returncode == 0, run.stderr[-2000:]
        parser = _Text()
        parser.feed(run.stdout.decode("utf-8"))
        assert "parsererror" not in parser.tags and parser.tags.count("svg") == len(shown)
        texts = set(parser.texts)
        for report in shown:
            drawing = drawing_of(report)
            wanted = {line for node in drawing.nodes for line in (node.title, *node.lines)}
            wanted |= {edge.label for edge in drawing.edges if edge.kind != "weights"}
            assert wanted <= texts, wanted - texts


@pytest.mark.browser
def test_browser_paints_the_drawing(tmp_path: Path) -> None:
    """A screenshot of a standalone SVG: the size asked for, the input box's fill, dark text and edges."""
    target = tmp_path / "shared.svg"
    target.write_text(render(report_of(SHARED), "svg"), encoding="utf-8")
    shot = tmp_path / "shot.png"
    run = chromium(tmp_path, f"--screenshot={shot}", "--window-size=500,400", target.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    width, height, rows = png_pixels(shot.read_bytes())
    assert (width, height) == (500, 400)
    step = len(rows[0]) // width
    pixels = [row[i:i + 3] for row in rows for i in range(0, len(row), step)]
    input_fill = sum(p == bytes((0xE8, 0xF0, 0xFE)) for p in pixels)
    dark = sum(max(p) < 100 for p in pixels)
    red = sum(p[0] > 180 and p[1] < 90 and p[2] < 90 for p in pixels)  # the shared layer's border
    assert input_fill > 1000 and dark > 500 and red > 50, (input_fill, dark, red)


# ------------------------------------------------------------------ the documentation's examples

DOCS = SPECS.parent / "docs"


def test_graph_page_examples_are_what_the_command_prints() -> None:
    import shlex

    page = (DOCS / "graph.md").read_text(encoding="utf-8")
    examples = re.findall(r"```console\n\$ rnnspec (graph .*?)\n(.*?)```", page, re.S)
    assert len(examples) == 2
    for command, shown in examples:
        result = CliRunner().invoke(main, shlex.split(command))
        assert result.exit_code == 0 and result.output == shown, command
    svg = render(api.check((SPECS / "functional.rnn").read_text(), path="specs/functional.rnn")[0], "svg")
    assert (DOCS / "graph-translator.svg").read_text(encoding="utf-8") == svg


def test_mask_input_is_a_dashed_edge() -> None:
    report = next(r for r in api.check((SPECS / "functional.rnn").read_text()) if r.name == "video")
    dot = read_dot(render(report, "dot"))
    mask = [(s, t, a) for s, t, a in dot["edges"] if a["label"].startswith("mask=")]
    assert [(dot["nodes"][s]["label"].split("\n")[0], a["label"], a["style"]) for s, _, a in mask] == [
        ("mask: Input", "mask=mask (None, 20)", "dashed")]
