"""Every document the project sends validates against the 2026-10 Admin schema, and stays
under Shopify's single-query cost limit."""

from __future__ import annotations

import pytest
from graphql import parse

from integrations.shopify import documents
from integrations.shopify.documents import ALL_DOCUMENTS
from tests.fakes.shopify import MAX_QUERY_COST, SCHEMA_PATH, estimate_cost, load_reference_schema, validate_document


def test_reference_schema_ships_with_the_tests():
    assert SCHEMA_PATH.is_file()
    assert SCHEMA_PATH.name == "admin_schema_2026-10.json.gz"
    notice = (SCHEMA_PATH.parent / "NOTICE.md").read_text()
    assert SCHEMA_PATH.name in notice and "ISC" in notice
    schema = load_reference_schema()
    assert "createdAt" in schema.get_type("Return").fields  # not in 2025-01
    assert "returnProcess" in schema.mutation_type.fields
    assert schema.get_directive("idempotent") is not None


def test_the_default_api_version_is_the_schema_the_documents_are_checked_against():
    from bot.settings import DEFAULT_SHOPIFY_API_VERSION
    from tests.fakes.shopify import API_VERSION

    assert DEFAULT_SHOPIFY_API_VERSION == API_VERSION == "2026-10"


def test_no_document_uses_the_deprecated_return_refund():
    assert not any("returnRefund(" in source for source in ALL_DOCUMENTS.values())


def test_all_documents_lists_every_document_constant():
    constants = {
        name: value
        for name, value in vars(documents).items()
        if name.isupper() and isinstance(value, str) and value.lstrip().startswith(("query", "mutation"))
    }
    assert constants == ALL_DOCUMENTS


@pytest.mark.parametrize("name", sorted(ALL_DOCUMENTS))
def test_document_validates_against_2026_10_schema(name):
    errors = validate_document(ALL_DOCUMENTS[name])
    assert errors == [], f"{name}: {[e.message for e in errors]}"


@pytest.mark.parametrize("name", sorted(ALL_DOCUMENTS))
def test_document_cost_is_under_the_single_query_limit(name):
    source = ALL_DOCUMENTS[name]
    variables = {"ids": ["gid://shopify/Return/1"] * documents.RETURNS_BATCH, "first": 25}
    cost = estimate_cost(load_reference_schema(), parse(source), variables)
    assert 0 < cost <= MAX_QUERY_COST * 0.75, f"{name} costs {cost}"


def test_a_wrong_field_is_caught():
    errors = validate_document("query { order(id: \"gid://shopify/Order/1\") { requestedAt } }")
    assert errors and "requestedAt" in errors[0].message
