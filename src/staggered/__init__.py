"""staggered: Bayesian causal inference for staggered programme rollout.

The public names are imported on first use (``stg.fit`` imports PyMC, ``stg.load`` ArviZ), so
that ``import staggered`` and the command line's ``--help`` start in well under a second.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from staggered.assurance import AssuranceResult, assurance, assurance_text
    from staggered.data import Panel, PanelError, encode_panel
    from staggered.design import Design, build_design
    from staggered.diagnostics import SamplingWarning
    from staggered.fit import Fit, fit
    from staggered.io import load, save
    from staggered.model_comparison import compare_models
    from staggered.models import ModelSpec, available_specs, load_spec
    from staggered.simulate import Simulation, simulate

# public name -> module that defines it
_LAZY = {
    "CovariateWarning": "staggered.covariates",
    "AssuranceResult": "staggered.assurance",
    "Design": "staggered.design",
    "Fit": "staggered.fit",
    "ModelSpec": "staggered.models",
    "Panel": "staggered.data",
    "PanelError": "staggered.data",
    "SamplingWarning": "staggered.diagnostics",
    "Simulation": "staggered.simulate",
    "assurance": "staggered.assurance",
    "assurance_text": "staggered.assurance",
    "available_specs": "staggered.models",
    "build_design": "staggered.design",
    "compare_models": "staggered.model_comparison",
    "encode_panel": "staggered.data",
    "fit": "staggered.fit",
    "load": "staggered.io",
    "load_spec": "staggered.models",
    "save": "staggered.io",
    "simulate": "staggered.simulate",
}
# functions named like the submodule that defines them: ``staggered.fit`` is the function
_SHADOWED = ("assurance", "fit", "simulate")

__all__ = [
    "AssuranceResult",
    "CovariateWarning",
    "Design",
    "Fit",
    "ModelSpec",
    "Panel",
    "PanelError",
    "SamplingWarning",
    "Simulation",
    "assurance",
    "assurance_text",
    "available_specs",
    "build_design",
    "compare_models",
    "encode_panel",
    "fit",
    "load",
    "load_spec",
    "save",
    "simulate",
]
__version__ = "0.1.0"

# Notices of other libraries that say nothing about the user's analysis, matched by message so
# that every other warning of theirs still shows: ArviZ's (daily) announcement of its refactor,
# and PyTensor's note that pip installs cannot link BLAS (the C fallbacks give the same results,
# and the samplers here run on JAX).
_QUIET = (
    (r"\s*ArviZ is undergoing a major refactor", FutureWarning),
    ("PyTensor could not link to a BLAS installation", UserWarning),
)


def _quiet_notices() -> None:
    """Ignore the :data:`_QUIET` notices (again after a ``warnings.simplefilter`` call)."""
    for message, category in _QUIET:
        warnings.filterwarnings("ignore", message=message, category=category)


_quiet_notices()


# submodules reachable as attributes without an explicit import (``stg.datasets.mpdta()``)
_SUBMODULES = ("datasets", "sweeps", "checks", "effects", "compare", "plots")


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"staggered.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'staggered' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


class _Package(types.ModuleType):
    """Keeps ``staggered.fit`` / ``staggered.simulate`` the functions after their modules load.

    Importing a submodule sets it as an attribute of the package; the eager package did
    ``from staggered.fit import fit`` afterwards, which put the function back. Here the
    function replaces the module whenever the import system sets it.
    """

    def __setattr__(self, name, value):
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
