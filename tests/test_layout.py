"""The module graph of blog/, drawn from the imports (ast, nothing imported): no cycle, no import
inside a function (CLI commands excepted), and arrows only downward: the domain packages never
import the web layer, the API or the cache; only the web layer, the API and the factory import
the cache (STYLE.md, Layout)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.paths import ROOT

BLOG = ROOT / "blog"
DOMAIN = ("blog.posts", "blog.comments", "blog.accounts", "blog.mail", "blog.porting")
ABOVE_DOMAIN = ("blog.web", "blog.api", "blog.cache")
CACHE_USERS = ("blog.web", "blog.api", "blog")  # "blog": blog/__init__.py, create_app
FUNCTION_IMPORTS_ALLOWED = ("blog.cli",)  # CLI commands import what they run, when they run


# Known exceptions in blog/comments, owned by the helper regrouping comments (issue 14, item 2),
# as "module imports module". The lead empties this list when that branch is merged.
@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (or package)
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(BLOG.rglob("*.py"))}


def _resolve(source: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = source if MODULES[source].name == "__init__.py" else source.rsplit(".", 1)[0]
    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _targets(source: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    module = _resolve(source, node)
    for alias in node.names:
        # ``from blog.web import admin`` imports the module blog.web.admin
        submodule = f"{module}.{alias.name}"
        yield submodule if submodule in MODULES else module


def _imports_of(source: str) -> Iterator[Import]:
    tree = ast.parse(MODULES[source].read_text())

    def visit(node: ast.AST, in_function: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in _targets(source, child):
                    yield Import(source, target, child.lineno, in_function)
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            yield from visit(child, inner)

    yield from visit(tree, False)


def _under_type_checking(source: str) -> set[int]:
    """Lines of imports inside ``if TYPE_CHECKING:`` (never run, so never a cycle)."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(MODULES[source].read_text())):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            lines |= {
                n.lineno for child in node.body for n in ast.walk(child) if hasattr(n, "lineno")
            }
    return lines


IMPORTS = [
    found
    for source in MODULES
    for found in _imports_of(source)
    if found.target.startswith("blog") or found.in_function
    if found.line not in _under_type_checking(source)
]


def _in(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _graph() -> dict[str, set[str]]:
    """Module -> the blog modules it imports, at module level or inside a function (a cycle
    closed by an import inside a function is a cycle all the same; the CLI's commands aside).
    Importing ``blog.x.y`` runs ``blog/x/__init__.py`` first, so a module also depends on each
    package above its target."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for found in IMPORTS:
        if not found.target.startswith("blog") or _in(found.source, FUNCTION_IMPORTS_ALLOWED):
            continue
        parts = found.target.split(".")
        for depth in range(1, len(parts) + 1):
            target = ".".join(parts[:depth])
            # A package above the importing module is loaded before it: no edge, unless the
            # module names it (``from blog.web.admin import bp`` inside blog.web.admin.posts).
            above = found.source.startswith(target + ".") and target != found.target
            if target in MODULES and target != found.source and not above:
                graph[found.source].add(target)
    return graph


def _reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph[node])
    return seen


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The modules on a cycle, grouped by the modules that reach each other."""
    reach = {node: _reach(graph, node) for node in graph}
    groups = {
        tuple(sorted(m for m in reach[node] if node in reach[m]))
        for node in graph
        if node in reach[node]
    }
    return [list(group) for group in sorted(groups)]


def test_the_graph_sees_the_packages() -> None:
    # A sanity check of the drawing itself.
    assert {"blog.models", "blog.database"} <= _graph()["blog.settings"]
    assert "blog.web.admin" in _graph()["blog.web.admin.forms"] or len(MODULES) > 50


def test_no_import_cycle() -> None:
    cycles = _cycles(_graph())
    assert cycles == []


def test_no_import_inside_a_function() -> None:
    inside = [
        f"{found.source}:{found.line} imports {found.target}"
        for found in IMPORTS
        if found.in_function and not _in(found.source, FUNCTION_IMPORTS_ALLOWED)
    ]
    assert inside == []


def test_the_domain_never_imports_the_web_layer_the_api_or_the_cache() -> None:
    upward = [
        f"{found.source}:{found.line} imports {found.target}"
        for found in IMPORTS
        if _in(found.source, DOMAIN) and _in(found.target, ABOVE_DOMAIN)
    ]
    assert upward == []


def test_only_the_web_layer_the_api_and_the_factory_import_the_cache() -> None:
    users = {
        found.source
        for found in IMPORTS
        if _in(found.target, ("blog.cache",)) and not _in(found.source, ("blog.cache",))
    }
    others = sorted(u for u in users if u != "blog" and not _in(u, CACHE_USERS[:2]))
    assert others == []


def test_the_cache_imports_neither_the_web_layer_nor_the_api() -> None:
    # The seam sits below the web layer: told what makes a page personal, never asking for it.
    upward = [
        f"{found.source}:{found.line} imports {found.target}"
        for found in IMPORTS
        if _in(found.source, ("blog.cache",)) and _in(found.target, ("blog.web", "blog.api"))
    ]
    assert upward == []


@pytest.mark.parametrize("package", ["blog.web.admin", "blog.api"])
def test_a_blueprint_package_does_not_import_its_own_modules_back(package: str) -> None:
    # Covered by test_no_import_cycle; named apart because it was the common way to make one.
    cycles = [c for c in _cycles(_graph()) if package in c]
    assert cycles == []
