"""Figures build from a real (tiny) fit and return Figures; files are written."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from staggered import plots  # noqa: E402


def test_simultaneous_band_covers_whole_curves_at_level():
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(4000, 8)) * np.linspace(1, 2, 8)
    lo, hi = plots.simultaneous_band(draws, 0.9)
    inside = ((draws >= lo) & (draws <= hi)).all(axis=1).mean()
    assert abs(inside - 0.9) < 0.01
    # wider than pointwise intervals
    p_lo, p_hi = np.quantile(draws, [0.05, 0.95], axis=0)
    assert (hi - lo > p_hi - p_lo).all()


def test_all_figures(tiny_fit, tmp_path):
    site = str(tiny_fit.panel.unit_labels[tiny_fit.design.treated_units[0]])
    figs = [
        plots.event_study(tiny_fit),
        plots.site_trajectories(tiny_fit),
        plots.site_trajectories(tiny_fit, scope="group"),
        plots.forest(tiny_fit),
        plots.observed_vs_counterfactual(tiny_fit, site),
        plots.rank_plot(tiny_fit),
    ]
    for fig in figs:
        assert isinstance(fig, matplotlib.figure.Figure)
        plt.close(fig)
    fig, ax = plt.subplots()
    assert plots.event_study(tiny_fit, ax=ax) is fig
    plt.close(fig)
    paths = plots.write_figures(tiny_fit, tmp_path)
    assert {p.name for p in paths} == {"event_study.png", "sites.png", "forest.png", "ranks.png"}
    assert all(p.stat().st_size > 10_000 for p in paths)


def test_report_html_has_every_section(tiny_fit, tmp_path):
    from html.parser import HTMLParser

    from staggered.report import write_report

    path = write_report(tiny_fit, tmp_path)

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__()
            self.h2, self.imgs, self._in_h2 = [], [], False

        def handle_starttag(self, tag, attrs):
            self._in_h2 = tag == "h2"
            if tag == "img":
                self.imgs.append(dict(attrs)["src"])

        def handle_data(self, data):
            if self._in_h2:
                self.h2.append(data.strip())
                self._in_h2 = False

    parser = Collect()
    parser.feed(path.read_text())
    assert parser.h2 == [
        "Data",
        "Sampling diagnostics",
        "Pre-trend check",
        "Pooled effect by time since adoption",
        "What a new site should expect (predictive)",
        "Site comparisons",
        "Reproduce",
    ]
    assert len(parser.imgs) == 4 and all(  # event study, sites, forest, ranks
        s.startswith("data:image/png;base64,") for s in parser.imgs
    )
    text = path.read_text()
    assert "pymc" in text and "Units: 30" in text


def _caveats(fig):
    return [t.get_text() for t in fig.texts if "DID NOT CONVERGE" in t.get_text()]


def test_figures_of_an_unconverged_fit_carry_a_red_caveat(small_sim):
    from fakes import CONVERGED, UNCONVERGED, fake_fit

    bad, good = fake_fit(small_sim, UNCONVERGED), fake_fit(small_sim, CONVERGED)
    site = str(bad.panel.unit_labels[bad.design.treated_units[0]])
    makers = [
        plots.event_study,
        plots.site_trajectories,
        plots.forest,
        lambda f: plots.observed_vs_counterfactual(f, site),
        plots.rank_plot,
    ]
    for make in makers:
        fig = make(bad)
        assert len(_caveats(fig)) == 1
        # the strip sits above every axes: nothing is drawn under it
        strip_bottom = min(p.get_y() for p in fig.artists if hasattr(p, "get_y"))
        assert all(ax.get_position().y1 <= strip_bottom + 1e-9 for ax in fig.axes)
        plt.close(fig)
        fig = make(good)
        assert _caveats(fig) == [] and fig.artists == []
        plt.close(fig)


def test_report_of_an_unconverged_fit_opens_with_a_red_banner(small_sim, tmp_path):
    import re

    from fakes import CONVERGED, UNCONVERGED, fake_fit
    from staggered.report import build_report

    text = build_report(fake_fit(small_sim, UNCONVERGED))
    body = text.split("<body>", 1)[1].lstrip()
    assert body.startswith("<div class='banner' role='alert'>WARNING: the sampler did not converge")
    banner = body.split("</div>", 1)[0]
    assert "max R-hat 1.310 &gt; 1.010 allowed" in banner
    assert "40% of draws hit the maximum tree depth 10" in banner
    assert "draws=" in banner  # fitted from Python: the advice names arguments
    assert "stale text" not in text  # problems come from the numbers
    # no green box anywhere, and the pre-trend verdict carries the caveat
    assert "class='ok'" not in text
    pretrend = text.split("<h2>Pre-trend check</h2>", 1)[1]
    assert re.match(r"\s*<p class='bad'><b>Not interpretable: the sampler did not", pretrend)
    assert "NUTS tree depth: mean 4.1, largest 10; 40% of draws at the maximum depth 10" in text

    cli = build_report(fake_fit(small_sim, UNCONVERGED, command="staggered fit p.csv"))
    assert "--draws" in cli.split("</div>", 1)[0]

    good = build_report(fake_fit(small_sim, CONVERGED))
    assert "banner" not in good.split("</style>", 1)[1] and "class='bad'" not in good
    assert "No sampling problems detected." in good
