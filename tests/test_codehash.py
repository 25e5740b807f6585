"""Content keys follow the code: import closures from the source, prose-blind hashes, no silent gaps."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rgsym.codehash import CodeIndex, normalised_code

FILES = {
    "__init__.py": '"""Top."""\n_LAZY = {"thing": "pkg.deep"}\n',
    "a.py": '''
        """Module a: uses b lazily, inside a function."""
        def f(x):
            """Double then add."""
            from .b import g  # a comment
            return g(x) * 2
        ''',
    "b.py": '''
        """Module b."""
        def g(x):
            return x + 1
        ''',
    "c.py": '''
        """Unrelated."""
        from rgsym import pkg
        def h():
            return pkg.deep_value()
        ''',
    "lonely.py": "X = 1\n",
    "pkg/__init__.py": '"""A package re-exporting deep."""\nfrom .deep import deep_value\n',
    "pkg/deep.py": "from .. import b\n\ndef deep_value():\n    return b.g(41)\n",
}


@pytest.fixture()
def pkg(tmp_path) -> Path:
    root = tmp_path / "rgsym"
    for name, text in FILES.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip())
    return root


def test_closure_follows_imports_inside_functions_and_package_reexports(pkg):
    idx = CodeIndex(pkg)
    assert idx.module_closure("rgsym.a") == ("rgsym.a", "rgsym.b")
    assert idx.module_closure("rgsym.c") == ("rgsym.b", "rgsym.c", "rgsym.pkg", "rgsym.pkg.deep")
    assert idx.module_closure("rgsym.lonely") == ("rgsym.lonely",)
    # ``import rgsym`` depends on what its lazy table names
    assert "rgsym.pkg.deep" in idx.module_closure("rgsym")


def test_body_change_changes_every_dependent_key_and_only_those(pkg):
    before = {m: CodeIndex(pkg).code_hash(m) for m in ("rgsym.a", "rgsym.b", "rgsym.c", "rgsym.lonely")}
    (pkg / "b.py").write_text((pkg / "b.py").read_text().replace("x + 1", "x + 2"))
    after = {m: CodeIndex(pkg).code_hash(m) for m in before}
    assert after["rgsym.b"] != before["rgsym.b"]
    assert after["rgsym.a"] != before["rgsym.a"]  # a imports b inside a function
    assert after["rgsym.c"] != before["rgsym.c"]  # c reaches b through the package re-export
    assert after["rgsym.lonely"] == before["rgsym.lonely"]  # outside the closure: unchanged


def test_docstring_comment_and_layout_edits_change_no_key(pkg):
    before = CodeIndex(pkg).code_hash("rgsym.a")
    text = (pkg / "a.py").read_text()
    text = text.replace('"""Double then add."""', '"""Double, then add: a longer and\n    reworded docstring."""')
    text = text.replace("# a comment", "# another comment") + "\n\n# trailing note\n"
    (pkg / "a.py").write_text(text)
    assert CodeIndex(pkg).code_hash("rgsym.a") == before
    assert normalised_code("x = 1  # c\n") == normalised_code('"""doc"""\nx = 1\n')
    assert normalised_code("x = 1\n") != normalised_code("x = 2\n")


def test_missing_module_is_an_error_not_a_gap(pkg):
    (pkg / "b.py").unlink()
    with pytest.raises(FileNotFoundError, match="rgsym.b"):
        CodeIndex(pkg).code_hash("rgsym.a")
    with pytest.raises(FileNotFoundError, match="rgsym.nope"):
        CodeIndex(pkg).code_hash("rgsym.nope")


def test_script_imports_are_absolute_rgsym_imports(pkg):
    idx = CodeIndex(pkg)
    script = "import numpy\nfrom rgsym.a import f\nfrom rgsym import pkg, b\nimport rgsym.c\n"
    assert idx.script_imports(script) == ("rgsym.a", "rgsym.b", "rgsym.c", "rgsym.pkg")


def test_one_index_sees_a_file_edited_while_the_process_runs(pkg):
    """Cache keys of sweeps come from a long-lived index (a kernel that reloads an edited module): it must
    key on the file's content, never on the module's name alone."""
    idx = CodeIndex(pkg)
    before = idx.code_hash("rgsym.a")
    (pkg / "b.py").write_text((pkg / "b.py").read_text().replace("x + 1", "x + 3"))
    assert idx.code_hash("rgsym.a") != before
    (pkg / "a.py").write_text((pkg / "a.py").read_text().replace("from .b import g", "from .lonely import X as g"))
    assert "rgsym.lonely" in idx.module_closure("rgsym.a") and "rgsym.b" not in idx.module_closure("rgsym.a")


def test_the_dump_does_not_depend_on_fields_newer_pythons_add():
    """Python 3.12 adds ``type_params=[]`` to every function: an unset or empty field never reaches the key."""
    import ast

    from rgsym.codehash import _dump

    tree = ast.parse("def f(x):\n    return x\n")
    plain = _dump(tree)
    tree.body[0].type_params = []
    tree.body[0].some_future_field = None
    tree.body[0]._fields = tuple(tree.body[0]._fields) + ("type_params", "some_future_field")
    assert _dump(tree) == plain
    assert _dump(ast.parse("def f(x):\n    return x + 1\n")) != plain


def test_training_cache_keys_leave_out_the_figure_style():
    """A cached network is invalidated exactly when code it depends on changes: the sweep engines record
    the device through rgsym.devices, not rgsym.config, so the plotting style is not in their keys."""
    from pathlib import Path

    import rgsym
    from rgsym import codehash

    idx = codehash.CodeIndex(Path(rgsym.__file__).parent)
    for engine in ("rgsym.learn.mlp_sweep", "rgsym.learn.gnn_sweep", "rgsym.symmetry.breaking"):
        closure = idx.module_closure(engine)
        assert "rgsym.devices" in closure or engine == "rgsym.learn.gnn_sweep"
        assert "rgsym.plotting" not in closure and "rgsym.config" not in closure, (engine, closure)
