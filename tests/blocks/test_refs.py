from __future__ import annotations

import pytest

from blocks.refs import MAX_LENGTH, BadRef, CaseRef


def test_round_trip() -> None:
    ref = CaseRef(case_id=42, version=3)
    assert str(ref) == "v1:case:42:3"
    assert ref.encode() == "v1:case:42:3"
    assert CaseRef.parse("v1:case:42:3") == ref
    assert CaseRef.parse(str(CaseRef(case_id=2**63 - 1, version=0))).case_id == 2**63 - 1


def test_bad_ref_is_a_value_error() -> None:
    assert issubclass(BadRef, ValueError)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "42",
        "v2:case:42:3",  # another format version
        "v1:order:42:3",  # another prefix
        "V1:CASE:42:3",
        "v1:case:42",
        "v1:case:42:3:1",
        "v1:case::3",
        "v1:case:42:",
        "v1:case:x:3",
        "v1:case:42:three",
        "v1:case:4.2:3",
        "v1:case:-1:3",
        "v1:case:+1:3",
        "v1:case:042:3",  # only the canonical form
        "v1:case:0:3",  # no case 0
        "v1:case:١٢:3",  # Arabic-Indic digits: int() would take them
        " v1:case:42:3",
        "v1:case:42:3 ",
        "v1:case:42:3\n",
        "v1:case:42:3" + "0" * MAX_LENGTH,  # too long
        "v1:case:" + "9" * 30 + ":3",
        "v1:case:9223372036854775808:3",  # beyond BIGINT
        "v1:case:1:2147483648",
    ],
)
def test_parse_rejects_anything_else(raw: str) -> None:
    with pytest.raises(BadRef):
        CaseRef.parse(raw)


@pytest.mark.parametrize("raw", [None, 42, b"v1:case:42:3", ["v1:case:42:3"]])
def test_parse_rejects_non_strings(raw: object) -> None:
    with pytest.raises(BadRef):
        CaseRef.parse(raw)


@pytest.mark.parametrize(("case_id", "version"), [(0, 1), (-1, 1), (1, -1), (True, 1), (1, 1.0), ("1", 1)])
def test_constructor_refuses_what_parse_would(case_id: object, version: object) -> None:
    with pytest.raises(BadRef):
        CaseRef(case_id=case_id, version=version)  # type: ignore[arg-type]


def test_longest_valid_ref_fits_a_button_value_and_private_metadata() -> None:
    longest = str(CaseRef(case_id=2**63 - 1, version=2**31 - 1))
    assert len(longest) == MAX_LENGTH <= 150
