"""nearid's science and engine; never imports streamlit.

Grouped by layer, imports pointing down only (STYLE.md, "Growing the house"):
``views`` -> ``runs`` -> ``studies`` -> ``engine`` -> ``science`` -> ``config``; the command
line (``cli``, ``commands``, ``settings``, ``__main__``) sits on top.

The flat module names of nearid 0.1 (``nearid_core.export``, ``nearid_core.alignment``, ...)
still import, with a ``DeprecationWarning`` naming the new place, until nearid 0.3.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

_LAYERS = {
    "science": ("data", "models", "training", "adam", "lipschitz", "alignment", "kernels", "ica",
                "ica_kernels", "metrics", "infomec", "dci", "fits", "efficiency", "projection"),
    "engine": ("executors", "lifecycle", "faults", "budget", "costs", "calibration"),
    "studies": ("sweep", "analysis", "presets", "claims", "summary"),
    "runs": ("store", "_sqlite", "_open", "_files", "_artefacts", "_liveness", "jobs", "export",
             "exported"),
    "views": ("results", "ident_views", "explore", "plots", "plots_ident", "plots_latent",
              "report"),
}
MOVED = {f"{__name__}.{m}": f"{__name__}.{layer}.{m}"
         for layer, mods in _LAYERS.items() for m in mods}


class _Moved(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``nearid_core.<old flat name>`` and hands back the module at its new place."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return None  # a placeholder: exec_module puts the real module in its place

    def exec_module(self, module) -> None:
        new = MOVED[module.__name__]
        warnings.warn(f"{module.__name__} moved to {new}; the old name goes in nearid 0.3",
                      DeprecationWarning, stacklevel=2)
        sys.modules[module.__name__] = importlib.import_module(new)


if not any(isinstance(f, _Moved) for f in sys.meta_path):
    sys.meta_path.append(_Moved())
