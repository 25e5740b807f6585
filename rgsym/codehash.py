"""Content keys that follow the code: which rgsym modules a computation imports, and their hash.

A cached result, or an executed chapter, must be invalidated exactly when code it depends on changes.
Two pieces make that so, computed from the source text alone (nothing is imported):

* :func:`module_closure` -- the rgsym modules a module imports, transitively, found by reading its
  ``import`` statements with :mod:`ast` (imports inside functions count: they run when called).
  ``from pkg import name`` depends on ``pkg.name`` when that is a module, and otherwise on
  ``pkg/__init__.py`` and everything *it* imports. The ``__init__`` of an enclosing package is not
  followed: it only re-exports names for users.
* :func:`normalised_code` -- a module's code with docstrings and comments removed (the ``ast``
  dump without line numbers), so that editing prose changes no key.

A module that cannot be found is an error, never skipped.
"""
from __future__ import annotations

import ast
import hashlib
from pathlib import Path
from typing import Iterable

PACKAGE = "rgsym"
_ROOT = Path(__file__).resolve().parent


_PARSED: dict = {}
"""SHA-1 of a file's bytes -> (docstring-free tree, normalised code): every version of a file is parsed once
per process, and a file edited while the process runs is read afresh (all caches key on content)."""


def _parsed(f: Path) -> tuple[str, ast.Module, str]:
    """``(content key, tree, normalised code)`` of a source file, read now."""
    raw = f.read_bytes()
    key = hashlib.sha1(raw).hexdigest()
    hit = _PARSED.get(key)
    if hit is None:
        tree = _strip_docstrings(ast.parse(raw.decode(), filename=str(f)))  # docstrings hold no import
        hit = _PARSED[key] = (tree, _dump(tree))
    return (key, *hit)


class CodeIndex:
    """The rgsym sources under one package folder (default: this installed package), parsed once.

    Every function of this module is a method here; the module-level functions use the default index.
    """

    def __init__(self, package_dir: Path | str | None = None):
        self.root = Path(package_dir).resolve() if package_dir else _ROOT
        self._imports: dict[tuple[str, str], tuple[str, ...]] = {}  # (module, content key) -> imports

    def module_file(self, name: str) -> Path:
        """The source file of the rgsym module ``name`` (``'rgsym.clt.laws'``); ``FileNotFoundError``
        if there is none."""
        parts = name.split(".")
        if parts[0] != PACKAGE:
            raise ValueError(f"{name!r} is not an rgsym module")
        base = self.root.joinpath(*parts[1:])
        for cand in (base.with_suffix(".py"), base / "__init__.py"):
            if cand.is_file():
                return cand
        raise FileNotFoundError(f"rgsym module {name!r} not found (looked for {base}.py and {base}/__init__.py)")

    def _is_module(self, name: str) -> bool:
        try:
            self.module_file(name)
            return True
        except (FileNotFoundError, ValueError):
            return False

    def _resolve(self, current: str, level: int, target: str | None) -> str:
        """The absolute name of a (possibly relative) import inside module ``current``."""
        if level == 0:
            return target or ""
        is_pkg = self.module_file(current).name == "__init__.py"
        pkg = current.split(".") if is_pkg else current.split(".")[:-1]
        base = pkg[:len(pkg) - (level - 1)]
        return ".".join(base + ([target] if target else []))

    def _targets(self, current: str, tree: ast.AST) -> set[str]:
        deps: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
            elif isinstance(node, ast.ImportFrom):
                mod = self._resolve(current, node.level, node.module) if current else (node.module or "")
                if node.level and not current or mod.split(".")[0] != PACKAGE:
                    continue
                for a in node.names:
                    sub = f"{mod}.{a.name}"
                    deps.add(sub if a.name != "*" and self._is_module(sub) else mod)
        for d in deps:
            self.module_file(d)  # a missing module is an error, not a silent gap in the key
        return deps

    def direct_imports(self, name: str) -> tuple[str, ...]:
        """The rgsym modules that module ``name`` imports directly (sorted)."""
        f = self.module_file(name)
        key, tree, _ = _parsed(f)
        if (name, key) not in self._imports:
            deps = self._targets(name, tree)
            if f.name == "__init__.py":
                deps |= self._lazy_targets(name, tree)
            deps.discard(name)
            self._imports[(name, key)] = tuple(sorted(deps))
        return self._imports[(name, key)]

    def _lazy_targets(self, package: str, tree: ast.Module) -> set[str]:
        """Modules a package ``__init__`` imports on first use: the values of its ``_LAZY`` dict
        literal (``{"public_name": "subpackage.module"}``, relative to the package)."""
        out = set()
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_LAZY" for t in node.targets):
                for v in ast.literal_eval(node.value).values():
                    out.add(f"{package}.{v}")
        for d in out:
            self.module_file(d)
        return out

    def module_closure(self, *names: str) -> tuple[str, ...]:
        """``names`` and every rgsym module they import, transitively (sorted)."""
        seen: set[str] = set()
        todo = list(names)
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            self.module_file(n)
            seen.add(n)
            todo.extend(self.direct_imports(n))
        return tuple(sorted(seen))

    def normalised_source(self, name: str) -> str:
        """:func:`normalised_code` of the rgsym module ``name``, as the file reads now."""
        return _parsed(self.module_file(name))[2]

    def update(self, h, modules) -> None:
        """Feed the names and normalised code of ``modules`` (in the given order) into the hash ``h``."""
        for m in modules:
            h.update(m.encode() + b"\0" + self.normalised_source(m).encode() + b"\0")

    def code_hash(self, *names: str, closure: bool = True) -> str:
        """SHA-256 (hex, 16 chars) of the normalised code of ``names`` and, with ``closure``, of every
        rgsym module they import. Prose edits leave it unchanged; a change to code it runs changes it."""
        h = hashlib.sha256()
        self.update(h, self.module_closure(*names) if closure else tuple(sorted(set(names))))
        return h.hexdigest()[:16]

    def script_imports(self, text: str, filename: str = "<script>") -> tuple[str, ...]:
        """The rgsym modules that a script (a chapter's code) imports directly (absolute imports)."""
        return tuple(sorted(self._targets("", ast.parse(text, filename=filename))))

    def files_of(self, names: Iterable[str]) -> list[Path]:
        """The source files of rgsym modules (for "dirty" checks against git)."""
        return [self.module_file(n) for n in names]


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _dump(node) -> str:
    """A dump of an ``ast`` that is the same on every Python version from 3.10 on: node types and the
    fields that are set, no positions (``ast.dump`` itself changes between versions, e.g. 3.12 adds
    ``type_params=[]`` to every function)."""
    if isinstance(node, ast.AST):
        fields = [f"{k}={_dump(v)}" for k, v in ast.iter_fields(node) if v is not None and v != []]
        return f"{type(node).__name__}({','.join(fields)})"
    if isinstance(node, list):
        return "[" + ",".join(_dump(x) for x in node) + "]"
    return repr(node)


def normalised_code(text: str, filename: str = "<code>") -> str:
    """Python source reduced to its code: a version-independent dump of its ``ast`` with docstrings
    removed (comments and layout never reach the ``ast``)."""
    return _dump(_strip_docstrings(ast.parse(text, filename=filename)))


_DEFAULT = CodeIndex()


def code_hash(*names: str, closure: bool = True) -> str:
    """:meth:`CodeIndex.code_hash` over the installed package (the cache key of a computation:
    ``code_hash(__name__)`` in the module that runs it)."""
    return _DEFAULT.code_hash(*names, closure=closure)


def module_closure(*names: str) -> tuple[str, ...]:
    """:meth:`CodeIndex.module_closure` over the installed package."""
    return _DEFAULT.module_closure(*names)
