"""The command line with several outcomes: column lists, ``joint.csv``, side-by-side tables."""

from __future__ import annotations

from pathlib import Path

__all__ = ["column_list", "joint_headline", "print_sites_side_by_side", "write_joint_outputs"]


def column_list(values: list[str] | None, columns) -> str | list[str] | None:
    """``--outcome`` / ``--exposure`` values (repeated or comma lists) as one name or a list.

    A value that is itself a column of the panel is kept whole, even with a comma in it.
    """
    if not values:
        return None
    names: list[str] = []
    for value in values:
        names += [value] if value in columns else [v.strip() for v in value.split(",")]
    return names[0] if len(names) == 1 else names


def write_joint_outputs(fit, out: Path) -> list[str]:
    """Write ``joint.csv`` (:meth:`Fit.joint`, rounded) for a fit of several outcomes."""
    from staggered.joint_effects import joint_for_csv

    if len(fit.outcomes) < 2 or not fit.spec.is_count:
        return []
    joint_for_csv(fit.joint()).to_csv(out / "joint.csv", index=False)
    return ["joint.csv"]


def joint_headline(fit, rope: float) -> str:
    """The pooled effects side by side, each outcome's pre-trend check, the site correlation."""
    from staggered.outcome_report import pooled_side_by_side

    level = fit.config.get("level", 0.9)
    lines = [
        f"\nPooled relative effects by event time, outcomes side by side ({level:.0%} "
        "intervals; P(...) = posterior probability):",
        pooled_side_by_side(fit).round(4).to_string(index=False),
    ]
    if fit.pretrend is not None:
        for name in fit.outcomes:
            lines.append(f"\n{name}: {fit.outcome_fit(name).pretrends(rope=rope)}")
    joint = fit.joint()
    step = joint[joint.measure == "step_correlation"]
    for row in step.itertuples():
        lines.append(
            f"\nCorrelation of the sites' deviations, {row.outcome_a} vs {row.outcome_b}: "
            f"{row.mean:+.2f} ({level:.0%} interval {row.lower:+.2f} to {row.upper:+.2f})"
        )
    return "\n".join(lines)


def print_sites_side_by_side(fit, results: Path, scope: str, event_time: int | None) -> None:
    """Print and write (``compare_<scope>_outcomes.csv``) the sites' effects side by side."""
    from staggered.outcome_figures import scatter_event_time
    from staggered.outcome_report import sites_side_by_side

    if scope != "unit":
        return
    e = scatter_event_time(fit) if event_time is None else event_time
    table = sites_side_by_side(fit, event_time=e)
    print(f"\nAreas at event time {e}, outcomes side by side (relative effects):")
    print(table.round(4).to_string(index=False))
    table.to_csv(results / f"compare_{scope}_outcomes.csv", index=False)
    print(f"Wrote {results}/compare_{scope}_outcomes.csv")
