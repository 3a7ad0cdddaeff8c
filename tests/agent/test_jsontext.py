"""The store's JSON text (orjson) reads back as the standard library's would, and the plan
body's ASCII-only form is the text the standard library writes."""

from __future__ import annotations

import json
import math

import pytest

from agent.store import jsontext

VALUES = [
    {"b": [1, 2.5, None, True], "a": "plain"},
    {"name": "£ café 𝄞 ñ", "keys": {"é": "ü", "2": "x\\u00e9"}},
    {1: "int key", "nested": {"list": [{"z": 0}, {"y": -1.25e-7}]}},
    ["\u2028 line separator", "\u00a0nbsp", "tab\tand newline\n"],
]


@pytest.mark.parametrize("value", VALUES)
def test_text_reads_back_as_the_value(value: object) -> None:
    expected = json.loads(json.dumps(value))
    assert jsontext.loads(jsontext.dumps(value)) == expected
    assert jsontext.loads(jsontext.dump_bytes(value, sort_keys=True)) == expected


@pytest.mark.parametrize("value", [v for v in VALUES if not isinstance(v, dict) or 1 not in v])
def test_ascii_only_is_what_the_standard_library_writes(value: object) -> None:
    data = jsontext.dump_bytes(value, sort_keys=True, ascii_only=True)
    assert data.isascii()
    assert data.decode() == json.dumps(value, sort_keys=True, separators=(",", ":"))


def test_what_orjson_refuses_falls_back_to_the_standard_library() -> None:
    big = {"counter": 2**70}
    assert jsontext.loads(jsontext.dumps(big)) == big
    assert math.isnan(jsontext.loads('{"x": NaN}')["x"])  # written by an older version


@pytest.mark.parametrize("per", [1, 2, 1000])
@pytest.mark.parametrize(
    "doc",
    [
        {"a": 1, "assets": [{"x": 1.5}, {"y": "£ café"}, None], "z": [1, {"k": "v"}]},
        {"assets": []},
        {"assets": [1, 2, 3]},
        {"b": {"nested": [2]}, "assets": ["only before"]},
        {"assets": ["only after"], "c": 3},
        {"no": "list to split"},
        {"assets": "not a list", "b": 1},
    ],
)
def test_pieces_join_into_the_whole_text(doc: dict[str, object], per: int) -> None:
    pieces = list(jsontext.dump_pieces(doc, "assets", per=per, ascii_only=True))
    assert b"".join(pieces) == jsontext.dump_bytes(doc, sort_keys=True, ascii_only=True)
    items = doc.get("assets")
    if isinstance(items, list) and per == 1:
        assert len(pieces) == len(items) + 2  # what comes before, each item, what comes after


def test_the_details_dictionary_never_changes() -> None:
    """Every detail stored packed needs this very dictionary to be read back: a change to it
    is a new dictionary beside it (agent.store.detail_words), never an edit."""
    import hashlib

    from agent.store.detail_words import DETAIL_WORDS_1

    assert hashlib.sha256(DETAIL_WORDS_1).hexdigest() == (
        "68ced79842a576794da5be94971825c08754d0ef83fbecd06aeebb0ef6ddb2db"
    )


@pytest.mark.parametrize("value", VALUES)
def test_a_packed_detail_reads_back_as_its_text(value: object) -> None:
    text = jsontext.dump_bytes(value, ascii_only=True)
    packed = jsontext.pack_detail(text)
    assert jsontext.detail_text("", packed) == text
    assert jsontext.detail_text(text.decode(), None) == text.decode()  # stored before 0012


def test_a_detail_that_does_not_unpack_is_named() -> None:
    import zlib

    text = b'{"factors":[{"name":"os_support","evidence":"no OS or firmware reported"}]}'
    packed = jsontext.pack_detail(text)
    other = zlib.compressobj(1, zdict=b'{"factors":[{"name":"someone else\'s words"}]}')
    for bad in (packed[:-6], b"not zlib at all", other.compress(text) + other.flush()):
        with pytest.raises(ValueError, match=r"cw_plan_detail\.detail_zlib does not unpack"):
            jsontext.detail_text("", bad)
