"""staggered: Bayesian causal inference for staggered programme rollout."""

from staggered.data import Panel, PanelError, encode_panel
from staggered.design import Design, build_design
from staggered.fit import Fit, SamplingWarning, fit
from staggered.io import load, save
from staggered.model_comparison import compare_models
from staggered.models import ModelSpec, available_specs, load_spec
from staggered.simulate import Simulation, simulate

__all__ = [
    "Design",
    "Fit",
    "ModelSpec",
    "Panel",
    "PanelError",
    "SamplingWarning",
    "Simulation",
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
