import ast
import importlib
import pkgutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import nearid_core

PKG = Path(nearid_core.__file__).parent
ORDER = ("science", "engine", "studies", "runs", "views")  # each may import those before it


def test_core_does_not_import_streamlit():
    code = (
        "import sys, importlib, pkgutil, nearid_core\n"
        "for m in pkgutil.walk_packages(nearid_core.__path__, 'nearid_core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('streamlit', 'umap')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_sweeps_coordinator_does_not_import_the_analysis_science():
    # The sweep command's own process only coordinates (its pool's workers fit): importing
    # the science and scikit-learn there cost 2-3 s of the command's start-up (issue 13).
    # The workers get them from the fork server's preload instead.
    code = (
        "import sys\n"
        "import nearid_core.__main__, nearid_core.commands.sweeps, nearid_core.runs.jobs\n"
        "import nearid_core.studies.analysis, nearid_core.studies.sweep\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'\n"
        "             or m in ('scipy.stats', 'nearid_core.science.metrics'))\n"
        "assert not bad, bad[:5]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    from nearid_core.engine.executors import _PRELOAD

    assert {"nearid_core.science.metrics", "nearid_core.science.alignment"} <= set(_PRELOAD)


def _imported(path: Path) -> set[str]:
    """Absolute names of the nearid_core modules a file imports (top level or lazily)."""
    layer = path.parent.name if path.parent != PKG else None
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = "nearid_core" + (f".{layer}" if layer else "")
                base = f"{here}.{base}" if base else here
            out |= {base} | {f"{base}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return {m for m in out if m.startswith("nearid_core")}


@pytest.mark.parametrize("layer", ORDER)
def test_imports_point_down_only(layer):
    # STYLE.md, "Growing the house": views -> runs -> studies -> engine -> science -> config.
    above = set(ORDER[ORDER.index(layer) + 1:]) | {"cli", "commands", "settings", "__main__"}
    bad = []
    for path in sorted((PKG / layer).glob("*.py")):
        for name in _imported(path):
            parts = name.split(".")
            if len(parts) > 1 and parts[1] in above:
                bad.append(f"{path.relative_to(PKG)} imports {name}")
    assert not bad, bad


def test_old_flat_module_names_still_import_with_a_warning():
    from nearid_core.runs import export

    sys.modules.pop("nearid_core.export", None)
    with pytest.warns(DeprecationWarning, match="moved to nearid_core.runs.export"):
        old = importlib.import_module("nearid_core.export")
    assert old is export and old.load is export.load
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from nearid_core.alignment import align  # noqa: F401 - the 0.1 spelling
    flat = {m.name for m in pkgutil.iter_modules(nearid_core.__path__)}
    assert flat == {"__main__", "cli", "commands", "config", "settings", "engine", "runs",
                    "science", "studies", "views"}
