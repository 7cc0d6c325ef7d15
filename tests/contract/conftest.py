"""The contract suites: one per capability, each run against every adapter that has it.

A test declares its capability with `@pytest.mark.capability("returns")` (a module's
`pytestmark` does for all of it) and takes the `world` fixture; it is then parametrised over
every world in `worlds.WORLDS` that lists the capability. So `-m` style selection works per
capability (`pytest tests/contract -k "shopify"`, or the registry picking marks), and a new
adapter inherits every suite of what it declares by adding one world builder.

These are adapter tests: no database, no network (FakeShopify answers in process).
"""

from __future__ import annotations

import pytest

from tests.contract.worlds import CAPABILITIES, WORLDS


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "capability(name): the store capability a contract test checks (" + ", ".join(sorted(CAPABILITIES)) + ")"
    )


def capabilities_of(item_or_definition) -> set[str]:
    names = set()
    for mark in item_or_definition.iter_markers("capability"):
        if len(mark.args) != 1 or mark.args[0] not in CAPABILITIES:
            raise pytest.UsageError(f"{item_or_definition.nodeid}: capability mark must name one of {sorted(CAPABILITIES)}")
        names.add(mark.args[0])
    return names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "world" not in metafunc.fixturenames:
        return
    wanted = capabilities_of(metafunc.definition)
    if not wanted:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: a contract test must be marked with its capability")
    builders = [w for w in WORLDS if wanted <= w.capabilities]
    metafunc.parametrize("world", builders, ids=[w.name for w in builders], indirect=True)


@pytest.fixture
def world(request):
    built = request.param()
    yield built
    built.close()
