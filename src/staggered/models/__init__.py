"""Model specs and PyMC model builders (the builder, which imports PyMC, loads on first use)."""

from staggered.models.spec import ModelSpec, available_specs, load_spec, spec_from_dict

__all__ = ["ModelSpec", "available_specs", "build_model", "load_spec", "spec_from_dict"]


def __getattr__(name: str):
    if name == "build_model":
        from staggered.models.builder import build_model

        return build_model
    raise AttributeError(f"module 'staggered.models' has no attribute {name!r}")
