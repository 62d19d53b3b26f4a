"""The result of a fit: :class:`Fit`, posterior draws plus everything needed to read them.

:func:`staggered.fit.fit` and :func:`staggered.io.load` build it; its methods give the effects
table, the pre-trend check, the sensitivity analysis and a short summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import arviz as az
import pandas as pd

from staggered.data import Panel
from staggered.design import Design
from staggered.diagnostics_text import kept_draws_text, problems_text, walk_refit_text
from staggered.effects import effects_table, sort_effects
from staggered.guard import guard_lines
from staggered.models import ModelSpec
from staggered.season_check import season_note

__all__ = ["Fit"]


@dataclass
class Fit:
    """A fitted model: posterior draws plus everything needed to interpret them.

    Attributes
    ----------
    idata : arviz.InferenceData
        Posterior draws with named dims (``unit``, ``period``, ``event_time``, ...).
    design : Design
        The encoded panel and its event-time design.
    spec : ModelSpec
        The model spec that was fitted.
    config : dict
        Column roles, sampler settings and seed (stored with the fit).
    diagnostics : dict
        Max R-hat, min bulk/tail ESS, divergences, tree depth, sampler, seconds.
    pretrend : Fit or None
        The separate pre-trend check fit (untreated cells only, placebo effects).
    source_panel : Panel or None
        The whole encoded panel (the estimation design may leave cells out).
    """

    idata: az.InferenceData
    design: Design
    spec: ModelSpec
    config: dict
    diagnostics: dict = field(default_factory=dict)
    pretrend: Fit | None = None
    # the encoded panel before any cells were left out of the estimation fit
    source_panel: Panel | None = None
    # effects tables already computed from these draws (fit writes a table, figures, report)
    _effects_cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    # --- repr (issue 12 part 6): one line, no arrays ------------------------------------------
    def __repr__(self) -> str:
        """Spec, panel size, cohorts, draws and convergence, e.g. ``<Fit negbin-rw: ...>``."""
        from staggered.diagnostics import find_problems

        p = self.panel
        d = self.diagnostics
        cohorts = len(set(p.adoption_idx[p.adoption_idx >= 0].tolist()))
        draws = f"{d.get('chains', '?')} chains x {d.get('draws', '?')} draws" + kept_draws_text(d)
        problems = find_problems(d)
        status = "converged" if not problems else "NOT CONVERGED (" + "; ".join(problems) + ")"
        check = "" if self.pretrend is None else ", with pre-trend check fit"
        return (
            f"<Fit {self.spec.name}: {p.n_units} units, {p.n_periods} periods "
            f"({p.period_labels[0]} to {p.period_labels[-1]}), {cohorts} cohorts, "
            f"{draws}, {status}{check}>"
        )

    @property
    def panel(self) -> Panel:
        """The validated panel."""
        return self.design.panel

    @property
    def outcomes(self) -> tuple[str, ...]:
        """The outcome columns fitted (one, or several fitted jointly)."""
        from staggered.outcomes import outcome_names

        return outcome_names(self.panel)

    def outcome_fit(self, outcome: str) -> Fit:
        """One outcome's view of a joint fit, read like a fit of that outcome alone.

        Its posterior holds that outcome's variables without their ``"outcome::"`` prefix and
        its panel that outcome's counts and exposure, so every single-outcome tool (figures,
        :meth:`pretrends`, :mod:`staggered.compare`) works on it. A single-outcome fit is its
        own view.

        Parameters
        ----------
        outcome : str
            One of :attr:`outcomes`.

        Returns
        -------
        Fit
        """
        from staggered.outcomes import outcome_view

        return outcome_view(self, outcome)

    def joint(self, *, level: float | None = None):
        """Joint estimands of a fit of several outcomes (see :func:`joint_table`).

        P(reduction in both), P(reduction in one but not the other), the difference between
        the outcomes' relative effects, and the correlation of site effects, pooled and per
        site.

        Returns
        -------
        pandas.DataFrame
        """
        from staggered.joint_effects import joint_table

        level = self.config.get("level", 0.9) if level is None else level
        key = ("joint", level)
        if key not in self._effects_cache:  # the report and figures ask for it several times
            self._effects_cache[key] = joint_table(self, level=level)
        return self._effects_cache[key].copy()

    def effects(self, *, level: float | None = None, scopes=None) -> pd.DataFrame:
        """Posterior effects table (DESIGN output contract), one block per outcome.

        Parameters
        ----------
        level : float, optional
            Interval mass; default the fit's ``level`` (0.9).
        scopes : tuple of str, optional
            Subset of ``("pooled", "predictive", "group", "unit")``.

        Returns
        -------
        pandas.DataFrame
        """
        kwargs = {} if scopes is None else {"scopes": tuple(scopes)}
        level = self.config.get("level", 0.9) if level is None else level
        seed = self.config.get("random_seed")
        key = (level, seed, kwargs.get("scopes"))
        if key not in self._effects_cache:
            table = effects_table(
                self.idata.posterior,
                self.design,
                self.spec,
                level=level,
                random_seed=seed,
                **kwargs,
            )
            if self.pretrend is not None:  # placebo rows come from the separate check
                placebo = self.pretrend.effects(level=level, scopes=scopes)
                table = sort_effects(pd.concat([placebo, table], ignore_index=True))
            self._effects_cache[key] = table
        return self._effects_cache[key].copy()

    def modifiers(self, *, level: float | None = None) -> pd.DataFrame:
        """Effect modifiers by event time: coefficients and the variance share they explain.

        Needs a fit made with ``modifiers=[...]``; see
        :func:`staggered.modifier_effects.modifiers_table` for the columns and measures.

        Returns
        -------
        pandas.DataFrame
        """
        from staggered.modifier_effects import modifiers_table

        level = self.config.get("level", 0.9) if level is None else level
        if len(self.outcomes) > 1:  # one block per outcome, named in a first column
            parts = [
                self.outcome_fit(name).modifiers(level=level).assign(outcome=name)
                for name in self.outcomes
            ]
            table = pd.concat(parts, ignore_index=True)
            return table[["outcome", *table.columns[:-1]]]
        return modifiers_table(self.idata.posterior, self.design, self.spec, level=level)

    def pretrends(self, *, rope: float = 0.02, level: float | None = None):
        """Pre-trend check: the pooled placebo effects of the separate check fit.

        Needs a fit made with ``placebo > 0`` (the default).

        Returns
        -------
        staggered.checks.PretrendCheck
        """
        from staggered.checks import pretrend_check

        self._one_outcome("pretrends")
        return pretrend_check(self, rope=rope, level=level)

    def sensitivity(self, *, level: float | None = None) -> pd.DataFrame:
        """Breakdown multiplier M of each pooled effect (see :func:`breakdown_sensitivity`).

        Returns
        -------
        pandas.DataFrame
        """
        from staggered.checks import breakdown_sensitivity

        self._one_outcome("sensitivity")
        return breakdown_sensitivity(self, level=level)

    def _one_outcome(self, method: str) -> None:
        """Refuse a one-outcome method on a joint fit, naming the per-outcome call."""
        if len(self.outcomes) > 1:
            raise ValueError(
                f"this fit has {len(self.outcomes)} outcomes ({', '.join(self.outcomes)}): "
                f"call fit.outcome_fit(name).{method}() for one of them"
            )

    def save(self, path: str | Path) -> Path:
        """Save to netCDF (reload with :func:`staggered.load`)."""
        from staggered.io import save

        return save(self, path)

    def summary(self) -> str:
        """A few lines: the panel, the model, the sampler and its diagnostics."""
        warning = problems_text(self.diagnostics)
        lines = [warning] if warning else []
        lines += [
            self.panel.summary(),
            f"model: {self.spec.name} ({self.spec.likelihood}); "
            f"anticipation={self.design.anticipation}, horizon={self.design.horizon}, "
            f"placebo={self.config.get('placebo', 0)} (pre-trend check, fitted apart), "
            f"comparison={self.design.comparison}",
            "estimation: " + _sampler_line(self.diagnostics),
        ]
        season = season_note(self)
        if season:
            lines.append(season)
        lines += guard_lines(self.idata.posterior, self.config.get("level", 0.9))
        if self.pretrend is not None:
            check_warning = problems_text(self.pretrend.diagnostics)
            if check_warning:
                lines.append("pre-trend check: " + check_warning)
            lines.append("pre-trend check fit: " + _sampler_line(self.pretrend.diagnostics))
        return "\n".join(lines)


def _sampler_line(d: dict) -> str:
    return (
        f"{d.get('sampler')} {d.get('chains')} chains x {d.get('draws')} draws"
        f"{kept_draws_text(d)} ({d.get('tune')} tune) in {d.get('seconds', float('nan')):.1f} s"
        f"{walk_refit_text(d)}; "
        f"max R-hat {d.get('max_rhat', float('nan')):.3f}, "
        f"min ESS bulk {d.get('min_ess_bulk', float('nan')):.0f} / "
        f"tail {d.get('min_ess_tail', float('nan')):.0f}, "
        f"divergences {d.get('divergences')}, "
        f"mean tree depth {d.get('mean_tree_depth', float('nan')):.1f}"
    )
