"""The fetcher's layers, read from its import statements (nothing is imported).

parse/ at the bottom (pure: it imports none of net/, state/ or the top level), net/ and
state/ beside it (never the top level), the wiring on top (app, pipeline, bootstrap,
inspect, discovery, fallback); no import circle among the fetcher's modules, and nothing
from the development tools. Imports inside functions and under TYPE_CHECKING count too:
a circle through them is still a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

from services.common.settings import PROJECT_ROOT

PACKAGE = "services.fetcher"
SUBPACKAGES = ("parse", "net", "state")


def fetcher_modules(root: Path = PROJECT_ROOT) -> dict[str, Path]:
    """Every module under services/fetcher by dotted name (a package by its own name)."""
    base = root / "services" / "fetcher"
    modules = {}
    for path in sorted(base.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """What a module imports, as dotted names: `from a import b` gives `a.b` when that is
    a module of the fetcher, else `a`; relative imports resolved against `name`."""
    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in known else base)
    return out


def import_graph(root: Path = PROJECT_ROOT) -> dict[str, set[str]]:
    modules = fetcher_modules(root)
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def layer(name: str) -> str:
    """parse, net or state for a module of those sub-packages, else top."""
    rest = name.removeprefix(PACKAGE + ".").split(".")
    return rest[0] if name != PACKAGE and rest[0] in SUBPACKAGES else "top"


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """parse importing net/state/top, or net/state importing the top level."""
    allowed = {"parse": {"parse"}, "net": {"parse", "net", "state"}}
    allowed["state"] = allowed["net"]
    found = []
    for name, imported in sorted(graph.items()):
        own = layer(name)
        if own == "top":
            continue
        for target in sorted(imported):
            ours = target.startswith(PACKAGE + ".") or target == PACKAGE
            if ours and layer(target) not in allowed[own]:
                found.append(f"{name} ({own}) imports {target} ({layer(target)})")
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import circles among the fetcher's modules (one path per circle found)."""
    edges = {name: sorted(t for t in imported if t in graph) for name, imported in graph.items()}
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for target in edges[name]:
            if state.get(target) == 1:
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[name] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name)
    return found


def devtools_imports(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{name} imports {target}"
        for name, imported in sorted(graph.items())
        for target in sorted(imported)
        if target == "services.devtools" or target.startswith("services.devtools.")
    ]


def test_the_sub_packages_are_there() -> None:
    layers = {layer(name) for name in import_graph()}
    assert layers == {"parse", "net", "state", "top"}


def test_nothing_imports_upward() -> None:
    assert upward_imports(import_graph()) == []


def test_no_import_circle() -> None:
    assert cycles(import_graph()) == []


def test_the_fetcher_imports_no_development_tool() -> None:
    assert devtools_imports(import_graph()) == []


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    """The checks on a made-up fetcher with each fault: a parser taking the HTTP client,
    robots taking the pipeline, two parsers importing each other (inside a function), and
    inspect reading through a development tool."""
    base = tmp_path / "services" / "fetcher"
    sources = {
        "__init__.py": "",
        "pipeline.py": "from services.fetcher.net import robots\n",
        "inspect.py": "from services.devtools.tail import read_topic\n",
        "parse/__init__.py": "",
        "parse/rss.py": "def f():\n    from services.fetcher.parse import fastfeed\n",
        "parse/fastfeed.py": "from services.fetcher.parse.rss import f\n"
        "from services.fetcher.net.http import HttpClient\n",
        "net/__init__.py": "",
        "net/http.py": "",
        "net/robots.py": "from ..pipeline import x\n",
    }
    for relative, text in sources.items():
        (base / relative).parent.mkdir(parents=True, exist_ok=True)
        (base / relative).write_text(text)
    graph = import_graph(tmp_path)
    assert upward_imports(graph) == [
        "services.fetcher.net.robots (net) imports services.fetcher.pipeline (top)",
        "services.fetcher.parse.fastfeed (parse) imports services.fetcher.net.http (net)",
    ]
    assert cycles(graph) == [
        [
            "services.fetcher.net.robots",
            "services.fetcher.pipeline",
            "services.fetcher.net.robots",
        ],
        [
            "services.fetcher.parse.fastfeed",
            "services.fetcher.parse.rss",
            "services.fetcher.parse.fastfeed",
        ],
    ]
    assert devtools_imports(graph) == ["services.fetcher.inspect imports services.devtools.tail"]
