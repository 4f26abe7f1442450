import subprocess
import sys


def test_core_does_not_import_streamlit():
    code = (
        "import sys, importlib, pkgutil, nearid_core\n"
        "for m in pkgutil.iter_modules(nearid_core.__path__):\n"
        "    importlib.import_module('nearid_core.' + m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('streamlit', 'umap')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
