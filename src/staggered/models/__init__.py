"""Model specs and PyMC model builders."""

from staggered.models.builder import build_model
from staggered.models.spec import ModelSpec, available_specs, load_spec, spec_from_dict

__all__ = ["ModelSpec", "available_specs", "build_model", "load_spec", "spec_from_dict"]
