"""The scopes returnsbot asks for cover what its documents touch, by the 2026-10 schema's own
`offline_scopes` list (the access each type and field needs). The list is a lower bound:
Shopify's file does not annotate every mutation (refundCreate, metafieldsSet), so those
scopes are in REQUIRED_SCOPES by hand, with why."""

from __future__ import annotations

import pytest
from graphql import TypeInfo, TypeInfoVisitor, Visitor, get_named_type, parse, visit

from bot.shopify_connect import CURRENT_SCOPES
from integrations.shopify import auth, subscriptions
from integrations.shopify.documents import ALL_DOCUMENTS
from tests.fakes.shopify_oauth import offline_scopes_2026_10, schema_2026_10

DOCUMENTS = {**ALL_DOCUMENTS, **subscriptions.DOCUMENTS, "CURRENT_SCOPES": CURRENT_SCOPES}
OURS = {*auth.REQUIRED_SCOPES, *auth.RECOMMENDED_SCOPES}


def _needs() -> dict[tuple[str, str | None], set[str]]:
    needs: dict[tuple[str, str | None], set[str]] = {}
    for item in offline_scopes_2026_10():
        if item["offlineScopes"]:
            needs[(item["typeName"], item.get("fieldName"))] = set(item["offlineScopes"])
    return needs


def touched(source: str) -> set[tuple[str, str | None]]:
    """(type, None) for every object type selected from and (type, field) for every field."""
    schema = schema_2026_10()
    info = TypeInfo(schema)
    found: set[tuple[str, str | None]] = set()

    class Collect(Visitor):
        def enter_field(self, node, *_):
            parent = info.get_parent_type()
            if parent is not None:
                found.add((parent.name, node.name.value))
                found.add((parent.name, None))
            field_type = info.get_type()
            if field_type is not None:
                found.add((get_named_type(field_type).name, None))

    visit(parse(source), TypeInfoVisitor(info, Collect()))
    return found


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_our_scopes_cover_every_type_and_field_a_document_touches(name):
    needs = _needs()
    uncovered = {}
    for key in touched(DOCUMENTS[name]):
        any_of = needs.get(key)
        if any_of and not any(auth.covers(OURS, scope) for scope in any_of):
            uncovered[key] = sorted(any_of)
    assert uncovered == {}, f"{name} needs one of these per item: {uncovered}"


def test_every_scope_we_ask_for_is_a_shopify_scope():
    known = set()
    for item in offline_scopes_2026_10():
        known |= set(item["offlineScopes"])
    # read_all_orders is an add-on to read_orders that the schema file does not annotate.
    assert set(auth.REQUIRED_SCOPES) - known == set()
    assert set(auth.RECOMMENDED_SCOPES) == {"read_all_orders"}


def test_every_scope_says_why():
    for scope, why in {**auth.REQUIRED_SCOPES, **auth.RECOMMENDED_SCOPES}.items():
        assert len(why) > 20, scope


def test_the_check_is_not_vacuous():
    """Without write_returns (or read_returns), a Return document is not covered."""
    needs = _needs()
    keys = touched(ALL_DOCUMENTS["RETURN_BY_ID"])
    assert ("Return", None) in keys
    assert not any(auth.covers(OURS - {"write_returns"}, s) for s in needs[("Return", None)])
