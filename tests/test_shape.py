"""The package's shape: dependencies between `bot` modules go one way.

Every module under bot/ is parsed with `ast` and each import it makes, at module
level or inside a function, becomes an edge of the graph of bot.* modules:

- `import bot.x.y` and `from bot.x.y import name` are edges to bot.x.y;
- `from bot.x import y`, where bot/x/y.py (or bot/x/y/) exists, is an edge to
  bot.x.y, not to the package bot.x: a package's __init__ re-exporting its
  submodules does not make a false cycle with them;
- an import of a package is an edge to its __init__;
- importing a submodule also runs its parents' __init__, but those implicit
  edges are left out: they would turn every re-export into a cycle.

Imports under `if TYPE_CHECKING:` are left out of the cycle check (they never
run, and annotations may name a type from a module that imports this one) but
count for the layer rules: a lower layer may not even name a higher one's types.

The rules (docs/architecture.md draws them):

1. No cycle among bot.* modules.
2. Layers, bottom to top; a layer imports itself and the layers below it, never
   one above (LAYERS):

       bot, bot.datafiles, bot.folders, bot.logsafe   helpers that import only one another
       bot.review      the judgement: taxonomy, engine, rewrites, LLM path, Reviewer
       bot.config      the settings file; its sections are the review's options
       bot.store       SQLite persistence
       bot.render      a review drawn for each surface; a user's figures
       bot.coach       DM coaching conversations
       bot.app         services opened once, the desk every surface uses
       bot.platforms   Slack, Discord, the console
       bot.cli         the command line

   So, among others, the forbidden directions are: bot.review importing anything
   but itself and the bottom helpers (not bot.config, bot.store, bot.render,
   bot.coach, bot.app, bot.platforms); bot.render importing bot.coach; anything
   below bot.platforms importing it; anything importing bot.cli.
3. Siblings stay apart (APART): the Slack, Discord and console adapters do not
   import one another.

An exception is listed in ALLOWED with its reason, and fails the test once the
import it excuses is gone, so that the list only shrinks.

bot/app/ may or may not exist; the rules hold either way. A new top-level module
fails test_every_module_has_a_layer until it is given a layer here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bot"

# Bottom to top; the prefixes in one tuple share a layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("bot", "bot.datafiles", "bot.folders", "bot.logsafe"),
    ("bot.review",),
    ("bot.config",),
    ("bot.store",),
    ("bot.render",),
    ("bot.coach",),
    ("bot.app",),
    ("bot.platforms",),
    ("bot.cli", "bot.doctor"),
)
# Siblings that must stay apart, both ways.
APART: tuple[tuple[str, str], ...] = (
    ("bot.platforms.slack", "bot.platforms.discord"),
    ("bot.platforms.slack", "bot.platforms.console"),
    ("bot.platforms.discord", "bot.platforms.console"),
)
# (importer, imported) -> why it is tolerated for now.
ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    type_checking: bool

    def __str__(self) -> str:
        hint = " (TYPE_CHECKING)" if self.type_checking else ""
        return f"{self.source}:{self.line} -> {self.target}{hint}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The bot.* module an imported name stands for: the longest existing prefix."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, guarded: bool = False) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement, anywhere in the tree, and whether TYPE_CHECKING guards it."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, guarded
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), True)
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), guarded)
        else:
            yield from _imports(node, guarded)


def edges_of(name: str, path: Path, modules: dict[str, Path]) -> list[Edge]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Edge] = []
    for node, guarded in _imports(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from bot.x import y`: the submodule bot.x.y when there is one.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        for target in targets:
            if not (target == "bot" or target.startswith("bot.")):
                continue
            resolved = _resolve(target, modules)
            if resolved is not None and resolved != name:
                found.append(Edge(name, resolved, node.lineno, guarded))
    return found


def graph() -> list[Edge]:
    return list(_graph())


@cache
def _graph() -> tuple[Edge, ...]:
    """Parsed once per test session: every test reads the same tree."""
    modules = all_modules()
    return tuple(e for name, path in modules.items() for e in edges_of(name, path, modules))


def ruled(edges: list[Edge]) -> list[Edge]:
    """The edges the layer rules judge: all but the ALLOWED exceptions."""
    return [e for e in edges if (e.source, e.target) not in ALLOWED]


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_of(module: str) -> int:
    """Index in LAYERS of the most specific prefix naming the module."""
    best, depth = -1, -1
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            if within(module, prefix) and prefix.count(".") > depth:
                best, depth = index, prefix.count(".")
    return best


def find_cycles(edges: list[Edge]) -> list[tuple[list[str], set[str]]]:
    """Per strongly connected component of more than one module (Tarjan): a shortest
    cycle through it, and all its modules."""
    succ: dict[str, set[str]] = {}
    for e in edges:
        succ.setdefault(e.source, set()).add(e.target)
        succ.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:
        # Recursion depth is bounded by the number of modules (a few dozen).
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(succ[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component: set[str] = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(succ):
        if v not in index:
            visit(v)
    return [(_a_cycle(c, succ), c) for c in components]


def _a_cycle(component: set[str], succ: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first)."""
    start = min(component)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for v in frontier:
            for w in sorted(succ[v] & component):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if w not in came_from:
                    came_from[w] = v
                    following.append(w)
        frontier = following
    return sorted(component)  # unreachable: a component is strongly connected


def test_the_graph_is_read() -> None:
    edges = graph()
    targets = {(e.source, e.target) for e in edges}
    # Sanity: a module-level import, a function-local one and a submodule import.
    assert ("bot.review.engine", "bot.review.models") in targets
    assert ("bot.cli", "bot.review.reviewer") in targets
    assert ("bot.review.llm.client", "bot.review.llm.followup") in targets
    assert ("bot.review.llm.client", "bot.review.llm") not in targets
    # An import under TYPE_CHECKING is told apart.
    assert any(e.type_checking for e in edges if e.source == "bot.cli" and e.target == "bot.config")


def test_a_knot_is_found_and_named() -> None:
    edges = [Edge(a, b, 1, False) for a, b in (("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e"))]
    assert find_cycles(edges) == [(["a", "b", "c", "a"], {"a", "b", "c"})]
    assert find_cycles(edges[1:]) == []


def test_no_import_cycle() -> None:
    cycles = find_cycles([e for e in graph() if not e.type_checking])
    assert not cycles, "import cycles:\n" + "\n".join(
        f"{' -> '.join(cycle)}  (modules in the knot: {', '.join(sorted(knot))})" for cycle, knot in cycles)


def test_every_module_has_a_layer() -> None:
    missing = [m for m in all_modules() if layer_of(m) < 0]
    assert not missing, f"modules outside every layer of LAYERS: {missing}"


def test_dependencies_go_down() -> None:
    upward = [e for e in ruled(graph()) if layer_of(e.target) > layer_of(e.source)]
    assert not upward, "imports of a higher layer:\n" + "\n".join(map(str, upward))


def test_siblings_stay_apart() -> None:
    crossing = [
        e for e in ruled(graph()) for a, b in APART
        if (within(e.source, a) and within(e.target, b)) or (within(e.source, b) and within(e.target, a))
    ]
    assert not crossing, "imports between siblings:\n" + "\n".join(map(str, crossing))


def test_the_review_is_the_bottom_layer() -> None:
    """Spelled out, though test_dependencies_go_down implies it: the judgement
    imports nothing but itself and the bottom helpers."""
    wrong = [e for e in ruled(graph()) if within(e.source, "bot.review")
             and not (within(e.target, "bot.review") or e.target in LAYERS[0])]
    assert not wrong, "bot.review imports outside itself:\n" + "\n".join(map(str, wrong))


def test_lower_layers_never_import_the_platforms() -> None:
    lower = ("bot.review", "bot.app", "bot.coach", "bot.render", "bot.store", "bot.config")
    wrong = [e for e in ruled(graph()) if within(e.target, "bot.platforms")
             and any(within(e.source, p) for p in lower)]
    assert not wrong, "imports of bot.platforms from below:\n" + "\n".join(map(str, wrong))


def test_the_render_never_imports_the_coach() -> None:
    wrong = [e for e in ruled(graph()) if within(e.source, "bot.render") and within(e.target, "bot.coach")]
    assert not wrong, "imports of bot.coach from bot.render:\n" + "\n".join(map(str, wrong))


def test_every_exception_is_still_needed() -> None:
    edges = {(e.source, e.target) for e in graph()}
    stale = [pair for pair in ALLOWED if pair not in edges]
    assert not stale, f"exceptions no longer needed, remove them from ALLOWED: {stale}"
