"""Apps talk through each other's public services and selectors: no module imports a
`_private` name (or anything inside a `_private` module) that belongs to another module.
A private name is private to the module (or package) that defines it."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ["config", "core", "ledger", "trading", "risk", "settlement", "bench"]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imported_paths(tree: ast.AST, module: str, is_package: bool):
    """(line, dotted path) of everything the module imports by name."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _is_private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def private_imports_violations(source: str, module: str, *, is_package=False) -> list[str]:
    """Imports in `source` (module `module`) that reach a private name of another module:
    the owner of `a.b._c.d` is `a.b`, and only modules inside `a.b` may import it."""
    found = []
    for line, dotted in _imported_paths(ast.parse(source), module, is_package):
        parts = dotted.split(".")
        private = next((i for i, part in enumerate(parts) if _is_private(part)), None)
        if private is None:
            continue
        owner = ".".join(parts[:private])
        if not (module == owner or module.startswith(owner + ".")):
            found.append(f"{module}:{line} imports {dotted}")
    return found


def test_no_module_imports_another_modules_private_names():
    found = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            found += private_imports_violations(
                path.read_text(), _module_name(path), is_package=path.name == "__init__.py"
            )
    assert found == []


def test_the_scan_catches_what_it_is_for():
    """The scan must fail on the import issue 10 removed, and on its variants."""
    assert private_imports_violations(
        "from ledger.services import _transfers_apply_locked\n", "ledger.adjustments"
    )
    assert private_imports_violations(
        "from ledger.services._apply import write\n", "trading.services"
    )
    assert private_imports_violations("import ledger.services._apply\n", "settlement.jobs")
    assert private_imports_violations("from .services._apply import write\n", "ledger.adjustments")
    assert private_imports_violations("from ledger.admin.base import _x\n", "ledger.admin.journal")
    # Inside the package that owns them, private modules are its own business.
    assert not private_imports_violations(
        "from ledger.services._apply import write\n", "ledger.services.reversals"
    )
    assert not private_imports_violations(
        "from . import _holdops\n", "ledger.services", is_package=True
    )
    assert not private_imports_violations("from ledger.services import ledger_apply\n", "x.y")
