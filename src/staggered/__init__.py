"""staggered: Bayesian causal inference for staggered programme rollout."""

from staggered.data import Panel, PanelError, encode_panel

__all__ = ["Panel", "PanelError", "encode_panel"]
__version__ = "0.1.0"
