"""What a Newswire entry point imports, read from the source (nothing is imported).

The slim fetcher image installs only the packages the fetcher needs; this walks the
import statements from `services.fetcher.__main__` through every Newswire module they
reach (imports inside functions included: a lazy import fails in production just the
same) and names the other modules they import. The lock check
(tests/unit/deploy/test_fetcher_image.py) maps those to distributions, and
`make test-image` imports each of them inside the slim image.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

from services.common.settings import PROJECT_ROOT

PACKAGE = "services"
FETCHER_ENTRY = "services.fetcher.__main__"
# What `newswire fetcher` runs before the fetcher's own code: the console script's module
# at import time (its commands import their own modules lazily, and the slim image
# runs none of them but `fetcher`).
CLI_MODULE = "services.cli"


@dataclass(frozen=True)
class ImportGraph:
    modules: frozenset[str]  # Newswire's own modules reached
    external: frozenset[str]  # every other module named (dotted), stdlib left out

    @property
    def top_level(self) -> frozenset[str]:
        return frozenset(name.split(".")[0] for name in self.external)


def module_file(name: str, root: Path = PROJECT_ROOT) -> Path | None:
    path = root.joinpath(*name.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return None


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST, *, top_only: bool) -> list[ast.stmt]:
    """Import statements, leaving out `if TYPE_CHECKING:` blocks (never run)."""
    out: list[ast.stmt] = []
    todo: list[ast.AST] = list(ast.iter_child_nodes(tree))
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and _type_checking_only(node):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            out.append(node)
        elif not top_only or not isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        ):
            todo.extend(ast.iter_child_nodes(node))
    return out


def imported_names(source: str, module: str, *, is_package: bool, top_only: bool) -> list[str]:
    """Dotted names a module's source imports: `from a import b` gives `a` and `a.b`
    (b may be a submodule); relative imports resolved against `module`."""
    names: list[str] = []
    for node in _nodes(ast.parse(source), top_only=top_only):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
            continue
        assert isinstance(node, ast.ImportFrom)
        base = node.module or ""
        if node.level:
            parts = module.split(".")
            keep = len(parts) - node.level + (1 if is_package else 0)
            base = ".".join(parts[:keep] + ([node.module] if node.module else []))
        names.append(base)
        names.extend(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def walk(
    entries: tuple[str, ...] = (FETCHER_ENTRY,),
    *,
    top_only: tuple[str, ...] = (CLI_MODULE,),
    root: Path = PROJECT_ROOT,
) -> ImportGraph:
    """Every Newswire module reachable from `entries` (plus `top_only`, whose imports
    inside functions are not followed) and the non-stdlib modules they import."""
    seen: set[str] = set()
    external: set[str] = set()
    todo = [(name, False) for name in entries] + [(name, True) for name in top_only]
    while todo:
        name, shallow = todo.pop()
        if name in seen:
            continue
        path = module_file(name, root)
        if path is None:  # `from services.x import attribute`
            continue
        seen.add(name)
        source = path.read_text(encoding="utf-8")
        for imported in imported_names(
            source, name, is_package=path.name == "__init__.py", top_only=shallow
        ):
            top = imported.split(".")[0]
            if top == PACKAGE:
                parts = imported.split(".")
                todo.extend((".".join(parts[:n]), False) for n in range(1, len(parts) + 1))
            elif top and top not in sys.stdlib_module_names and top != "__future__":
                external.add(imported)
    return ImportGraph(frozenset(seen), frozenset(external))
