"""No module of hubs reaches itself through its imports, function-level imports
included (docs/architecture.md); imports under TYPE_CHECKING are hints only.
The delivery task and the services that queue it were such a circle."""

from __future__ import annotations

import grimp


def hubs_import_cycles() -> list[tuple[str, ...]]:
    graph = grimp.build_graph("hubs", exclude_type_checking_imports=True)
    cycles: list[tuple[str, ...]] = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain:
                cycles.append((module, *chain))
    return cycles


def test_no_module_of_hubs_imports_itself_back():
    assert hubs_import_cycles() == []
