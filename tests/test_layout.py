"""The code's shape, by mechanism: no import cycle, no module past ~400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKEND = ROOT / "backend"
# The composition root wires everything together (create_app registers every blueprint,
# the CLI every command); its lazy imports are not dependencies of the domain. A job
# calling ``create_app`` for its worker context is the same wiring, seen from below.
COMPOSITION = {"backend", "backend.cli"}
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in BACKEND.rglob("*.py") if "emulator" not in p.parts or p.name}


def import_graph() -> dict[str, set[str]]:
    """Module → the backend modules it imports, at module level or inside functions."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and target not in COMPOSITION and name not in COMPOSITION:
                    graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_cycle():
    assert _cycles(import_graph()) == []


def test_no_module_is_longer_than_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in BACKEND.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_a_package_imports_another_packages_service_never_its_api():
    """DESIGN §2: views are the top; nothing below imports them (the app factory
    registers them)."""
    views = ("api", "admin_api", "campaign_api", "notify_api", "statements_api")
    offenders = sorted(
        (name, target) for name, targets in import_graph().items() for target in targets
        if target.rpartition(".")[2] in views and target.split(".")[1] != name.split(".")[1]
    )
    assert offenders == []


def test_every_api_blueprint_parses_bodies_with_our_checks():
    """A blueprint made from flask_smorest directly would parse JSON without the depth,
    surrogate and NUL checks of ``backend.json_input``."""
    offenders = [str(p.relative_to(BACKEND.parent)) for p in BACKEND.rglob("*.py")
                 if "from flask_smorest import Blueprint" in p.read_text(encoding="utf-8")]
    assert offenders == [], "use `from backend.apidoc import Blueprint`"
