"""The contract suites: one per capability, each run against every adapter that has it.

A test names what it checks with marks, in the connector registry's words:
`@pytest.mark.capability("returns")` (a module's `pytestmark` marks all of it) and, for the
store actions it calls, `@pytest.mark.operations("approve_return", …)`. It takes the `world`
fixture and is parametrised over every world in `worlds.WORLDS` that has the capability and
the operations. A test that also takes `act` is parametrised over its module's `ACTS` (one
per store action) too, pairing each world only with the actions it executes. So a new
adapter inherits every suite of what it declares by adding one world, and the registry can
pick tests by capability (`capabilities_of`, `operations_of`).

These are adapter tests: no database, no network (FakeShopify answers in process).
"""

from __future__ import annotations

import pytest

from tests.contract.worlds import CAPABILITIES, OPERATIONS, WORLDS


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "capability(name): the store capability a contract test checks (" + ", ".join(sorted(CAPABILITIES)) + ")"
    )
    config.addinivalue_line(
        "markers", "operations(*names): the store actions a contract test calls (" + ", ".join(sorted(OPERATIONS)) + ")"
    )


def _marked(node, mark_name: str, allowed: frozenset[str]) -> set[str]:
    names: set[str] = set()
    for mark in node.iter_markers(mark_name):
        unknown = set(mark.args) - allowed
        if not mark.args or unknown:
            raise pytest.UsageError(f"{node.nodeid}: {mark_name} mark names {sorted(unknown) or 'nothing'}; "
                                    f"known: {sorted(allowed)}")
        names |= set(mark.args)
    return names


def capabilities_of(node) -> set[str]:
    return _marked(node, "capability", CAPABILITIES)


def operations_of(node) -> set[str]:
    return _marked(node, "operations", OPERATIONS)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "world" not in metafunc.fixturenames:
        return
    node = metafunc.definition
    capabilities, operations = capabilities_of(node), operations_of(node)
    if not capabilities:
        raise pytest.UsageError(f"{node.nodeid}: a contract test must be marked with its capability")
    worlds = [w for w in WORLDS if capabilities <= w.capabilities and operations <= w.operations]
    if "act" not in metafunc.fixturenames:
        metafunc.parametrize("world", worlds, ids=[w.name for w in worlds], indirect=True)
        return
    pairs = [(w, act) for w in worlds for act in metafunc.module.ACTS if act.name in w.operations]
    metafunc.parametrize(("world", "act"), pairs, ids=[f"{w.name}-{act.name}" for w, act in pairs],
                         indirect=["world"])


@pytest.fixture
def world(request):
    built = request.param()
    yield built
    built.close()
