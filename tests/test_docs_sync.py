"""The docs quote the program as it is: CLI defaults, subcommands and PanelError messages.

- Every default in the argument tables of ``docs/cli.md`` equals the parser's default, and every
  ``--help`` text that ends in ``(VALUE)`` names the default it has.
- Every message quoted in the error table of ``docs/data.md`` is produced, for the input given
  in :data:`TRIGGERS`, by the code; a quoted message without a trigger fails the test, so a new
  or reworded row needs one.
"""

from __future__ import annotations

import argparse
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from staggered.cli import _parser
from staggered.data import PanelError, encode_panel, read_panel_csv
from staggered.design import build_design

DOCS = Path(__file__).resolve().parents[1] / "docs"
README = DOCS.parent / "README.md"


# --- CLI defaults ------------------------------------------------------------------------------


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _doc_tables() -> dict[str, dict[str, str]]:
    """``{subcommand: {flag: documented default}}`` from the tables of ``docs/cli.md``."""
    tables: dict[str, dict[str, str]] = {}
    command = None
    for line in (DOCS / "cli.md").read_text().splitlines():
        heading = re.match(r"## `staggered ([a-z-]+)`", line)
        if heading:
            command = heading.group(1)
        elif line.startswith("## "):
            command = None
        row = re.match(r"\| (`--[^|]*) \| ([^|]*) \|", line)
        if command and row:
            flags = re.findall(r"`(--[a-z-]+)`", row.group(1))
            values = [v.strip() for v in row.group(2).split(",")]
            if len(values) != len(flags):
                values = [row.group(2).strip()] * len(flags)
            tables.setdefault(command, {}).update(zip(flags, values, strict=True))
    return tables


def _shown(default) -> str:
    if default is False:
        return "off"
    if default is None:
        return "none"
    return str(default)


def _same(text: str, default) -> bool:
    """``text`` shows ``default`` (numbers compared as numbers: ``4`` shows ``4.0``)."""
    if isinstance(default, int | float) and not isinstance(default, bool):
        try:
            return float(text) == float(default)
        except ValueError:
            return False
    return text == _shown(default)


def test_documented_cli_defaults_are_the_parsers():
    parsers = _subparsers()
    tables = _doc_tables()
    assert {"fit", "simulate", "sbc", "compare-sites"} <= set(tables)
    checked = 0
    for command, rows in tables.items():
        actions = {a.option_strings[-1]: a for a in parsers[command]._actions if a.option_strings}
        for flag, documented in rows.items():
            assert flag in actions, f"docs/cli.md documents {command} {flag}, which does not exist"
            action = actions[flag]
            value = documented.strip("`")
            if action.required:
                assert value == "required", (command, flag, documented)
            elif (
                action.default is None
                or value in ("none", "off")
                or re.fullmatch(r"[\w.\-]+", value)
            ):
                if action.default is None and not re.fullmatch(r"[\d.\-]+|none", value):
                    continue  # a described default (e.g. "all cores", "the 8 top-ranked")
                assert _same(value, action.default), (command, flag, documented)
                checked += 1
    assert checked >= 30


def test_help_texts_name_their_defaults():
    for command, parser in _subparsers().items():
        for action in parser._actions:
            match = re.search(r"\(([\w.\-]+)\)$", action.help or "")
            if match and action.default is not None and action.option_strings:
                assert _same(match.group(1), action.default), (command, action.help)


def test_compare_sites_default_event_time_is_stated_alike():
    actions = _subparsers()["compare-sites"]._actions
    help_text = next(a.help for a in actions if "--event-time" in a.option_strings)
    rule = "at least half as many sites reach as the best-covered"
    assert rule in help_text
    assert rule in " ".join((DOCS / "compare.md").read_text().split())
    assert rule in (DOCS / "cli.md").read_text()


def test_cli_page_lists_every_subcommand():
    first = re.search(r"staggered \{([a-z,-]+)\}", (DOCS / "cli.md").read_text()).group(1)
    assert set(first.split(",")) == set(_subparsers())


def test_readme_lists_every_docs_page():
    readme = README.read_text()
    listed = set(re.findall(r"`docs/([\w-]+\.md)`", readme))
    pages = {p.name for p in DOCS.glob("*.md")}
    assert pages <= listed, f"README misses {sorted(pages - listed)}"


# --- PanelError messages quoted in docs/data.md --------------------------------------------------

COLUMNS = {"unit": "area", "time": "period", "outcome": "y", "adoption": "start"}
EXPOSURE = {"exposure": "pop"}
COVARIATE = {"covariates": ["cov"]}


def _base(years=range(2010, 2020), n: int = 6) -> pd.DataFrame:
    """Six areas, three adopting in the sixth period; exposure, group, covariate, 0/1 columns."""
    rows = []
    for u in range(n):
        treated = u < n // 2
        for i, year in enumerate(years):
            rows.append(
                {
                    "area": f"A{u}",
                    "period": year,
                    "y": 100 + u,
                    "pop": 1000.0,
                    "start": 2015 if treated else None,
                    "prog": "P1" if treated else None,
                    "cov": float(u + i % 3),
                    "live": int(treated and i >= 5),
                }
            )
    return pd.DataFrame(rows)


def _set(column, value, rows=(5,), df=None):
    df = _base() if df is None else df
    df[column] = df[column].astype(object)
    for r in rows:
        df.at[r, column] = value
    return df


def _fy_base() -> pd.DataFrame:
    """The base panel with financial-year periods 2010/11 to 2019/20 (adoption 2015/16)."""
    df = _base(years=[f"{y}/{str(y + 1)[2:]}" for y in range(2010, 2020)])
    df["start"] = df["start"].map(lambda v: v if pd.isna(v) else f"{int(v)}/{str(int(v) + 1)[2:]}")
    return df


def _quarterly_with_ambiguous_adoption():
    df = _base(years=[f"{y}Q{q}" for y in range(2010, 2014) for q in range(1, 5)])
    df["start"] = np.where(df["start"].notna(), "2011-12", None)  # 2011Q4 or FY from 2011Q2
    return df


def _daily():
    df = _base(years=[f"2019-01-{d:02d}" for d in range(1, 11)])
    df["start"] = np.where(df["start"].notna(), "2019-01-05", None)
    return df


def _mixed_adoption():
    df = _base()
    df["start"] = np.select([df.area == "A0", df.area == "A1"], ["2014/15", "2015-07"], None)
    return df


def _with_modifier(value=None, rows=(5,)):
    """The base panel with a modifier ``mod``, one value per area (row 5 is area A0's)."""
    df = _base().assign(mod=lambda d: d["area"].str[1:].astype(float))
    return df if value is None else _set("mod", value, rows=rows, df=df)


MODIFIER = {"modifiers": ["mod"]}


def _csv(content: bytes):
    return ("csv", content)


# documented message -> (input, keyword arguments of encode_panel; "design" also builds it)
TRIGGERS = {
    "Unknown column: …": (_base, {"outcome": "admits"}),
    "Unknown columns: …": (_base, {"outcome": "admits", "exposure": "people"}),
    "Both adoption= and treated= (CLI: --adoption, --treated) were given": (
        _base,
        {"treated": "live"},
    ),
    "Neither adoption= nor treated= (CLI: --adoption, --treated) was given": (
        _base,
        {"adoption": None},
    ),
    "The panel has no rows": (lambda: _base().iloc[:0], {}),
    "Unit column … is missing in …": (lambda: _set("area", None), {}),
    "Time column … is missing in …": (lambda: _set("period", None), {}),
    "Time column … has values that are not periods": (lambda: _set("period", "soon"), {}),
    "Time column … mixes period formats": (lambda: _set("period", "2015Q3"), {}),
    "Time column … has labels that read both as a month and as a financial year": (
        lambda: _set("period", "2011-12", rows=range(0, 60, 10)),
        {},
    ),
    "Time column … has labels shaped like financial years whose two years are not consecutive": (
        lambda: _set("period", "2010/12", rows=range(0, 60, 10), df=_fy_base()),
        {},
    ),
    "Time column … holds …, which cannot be read at freq=…": (_base, {"freq": "fq"}),
    "… holds dates less than a month apart": (_daily, {}),
    "… unit-period pair appears in more than one row": (
        lambda: pd.concat([_base(), _base().iloc[[5]]], ignore_index=True),
        {},
    ),
    "… unit-period pairs appear in more than one row": (
        lambda: pd.concat([_base(), _base().iloc[[5, 6]]], ignore_index=True),
        {},
    ),
    "The period grid … has no rows at all for …": (lambda: _base().query("period != 2013"), {}),
    "Outcome column … has non-numeric values": (lambda: _set("y", "lots"), {}),
    "Outcome column … is missing": (lambda: _set("y", np.nan), {}),
    "Outcome column … has infinite values": (lambda: _set("y", np.inf), {}),
    "… has negative counts": (lambda: _set("y", -3), {}),
    "… has non-integer counts": (lambda: _set("y", 12.5), {}),
    "Exposure column … is missing or non-numeric": (lambda: _set("pop", np.nan), EXPOSURE),
    "Exposure column … must be positive and finite": (lambda: _set("pop", 0), EXPOSURE),
    "Group column … is blank for units treated within the panel": (
        lambda: _set("prog", None, rows=range(10)),
        {"group": "prog"},
    ),
    "Group column … varies within …": (lambda: _set("prog", "P2"), {"group": "prog"}),
    "Covariate column … has non-numeric values": (lambda: _set("cov", "n/a"), COVARIATE),
    "Covariate column … is missing": (lambda: _set("cov", np.nan), COVARIATE),
    "Covariate column … has infinite values": (lambda: _set("cov", np.inf), COVARIATE),
    "Covariate column … takes one value … in every untreated cell": (
        lambda: _base().assign(cov=1.0),
        {"covariates": ["cov"]},
    ),
    "Covariate … named more than once": (_base, {"covariates": ["cov", "cov"]}),
    "Covariate … already has a role": (_base, {"covariates": ["pop"], "exposure": "pop"}),
    "Modifier column … has non-numeric values": (lambda: _with_modifier("high"), MODIFIER),
    "Modifier column … has infinite values": (lambda: _with_modifier(np.inf), MODIFIER),
    "Modifier column … is missing in …, rows of units treated within the panel": (
        lambda: _with_modifier(np.nan),
        MODIFIER,
    ),
    "Modifier column … varies within …": (lambda: _with_modifier(9.0), MODIFIER),
    "Modifier column … takes one value … in every unit treated": (
        lambda: _base().assign(mod=1.0),
        MODIFIER,
    ),
    "Modifier … named more than once": (_with_modifier, {"modifiers": ["mod", "mod"]}),
    "Modifier … already has a role": (_base, {"modifiers": ["pop"], "exposure": "pop"}),
    "Adoption column … has values that are not periods": (
        lambda: _set("start", "soon", rows=range(10)),
        {},
    ),
    "Adoption column … mixes financial-year labels, … with month labels": (_mixed_adoption, {}),
    "Adoption column … has labels that read both as a month and as a financial year": (
        _quarterly_with_ambiguous_adoption,
        {},
    ),
    "Adoption column … holds years …, but the panel has freq fy": (
        lambda: _base(years=[f"{y}/{str(y + 1)[2:]}" for y in range(2010, 2020)]),
        {},
    ),
    "Adoption column … has labels shaped like financial years whose two years are not "
    "consecutive": (lambda: _set("start", "2015/12", rows=range(10), df=_fy_base()), {}),
    "Adoption column … varies within …": (lambda: _set("start", 2016), {}),
    "Treated column … must be 0 or 1": (
        lambda: _set("live", 2),
        {"adoption": None, "treated": "live"},
    ),
    "Treatment reversal in column …": (
        lambda: _set("live", 0, rows=(8,)),
        {"adoption": None, "treated": "live"},
    ),
    "… treated in every panel period": (lambda: _set("start", 2010, rows=range(10)), {}),
    "No unit is treated within the panel": (lambda: _base().assign(start=None), {}),
    "No never- or not-yet-treated comparison cells in period(s) …": (
        lambda: _base().assign(start=2015),
        {"design": True},
    ),
    "Unit(s) … have no observed period before adoption": (
        lambda: _base().query("not (area == 'A0' and period < 2015)"),
        {"design": True},
    ),
    # read_panel_csv (the CLI's reader)
    "… is empty": (lambda: _csv(b""), {}),
    "… has a header line … but no data rows": (lambda: _csv(b"area,period,y\n"), {}),
    "… not a CSV file": (lambda: _csv(b"PK\x03\x04" + bytes(64)), {}),
    "… could not be read as CSV": (lambda: _csv(b'a,b\n1,"2\n'), {}),
    "… is neither UTF-8 nor Windows-1252 text": (lambda: _csv(b"a,b\n\x81,2\n"), {}),
}


def _documented_messages() -> list[str]:
    text = (DOCS / "data.md").read_text()
    table = text[text.index("## Every validation error") :]
    table = table[: table.index("\n\n", table.index("| message"))]
    quoted = []
    for line in table.splitlines()[2:]:
        first = line.split(" | ")[0]
        quoted += re.findall(r"`([^`]+)`", first)
    return quoted


def _pattern(quoted: str) -> re.Pattern:
    return re.compile(".*?".join(re.escape(part) for part in quoted.split("…")), re.DOTALL)


def _message(make, kwargs: dict, tmp_path: Path) -> str:
    data = make()
    kwargs = dict(kwargs)
    design = kwargs.pop("design", False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if isinstance(data, tuple):  # raw CSV bytes for read_panel_csv
                path = tmp_path / "panel.csv"
                path.write_bytes(data[1])
                read_panel_csv(path)
            else:
                args = {k: v for k, v in {**COLUMNS, **kwargs}.items() if v is not None}
                panel = encode_panel(data, **args)
                if design:
                    build_design(panel)
    except PanelError as err:
        return str(err)
    return "no PanelError"


def test_every_quoted_message_has_a_trigger():
    quoted = _documented_messages()
    assert len(quoted) >= 40
    assert set(quoted) == set(TRIGGERS), (
        f"quoted in docs/data.md without a trigger here: {sorted(set(quoted) - set(TRIGGERS))}; "
        f"triggers whose message the docs no longer quote: {sorted(set(TRIGGERS) - set(quoted))}"
    )


@pytest.mark.parametrize("quoted", list(TRIGGERS))
def test_quoted_message_is_what_the_code_says(quoted, tmp_path):
    make, kwargs = TRIGGERS[quoted]
    message = _message(make, kwargs, tmp_path)
    if quoted.startswith("…"):
        assert _pattern(quoted).search(message), message
    else:
        assert _pattern(quoted).match(message), message


# --- pages that read on their own ---------------------------------------------------------------


@pytest.mark.parametrize("page", ["api.md", "models.md"])
def test_every_section_has_prose(page):
    """Each ``##`` section has a sentence of its own besides build directives and snippets."""
    sections = re.split(r"\n## ", (DOCS / page).read_text())
    for section in sections:
        lines = [line.strip() for line in section.splitlines()[1:]]
        prose = [
            line
            for line in lines
            if line and not line.startswith((":::", "--8<--", "```", "|", "#", "fit", "import"))
        ]
        assert prose, f"docs/{page}: section {section.splitlines()[0]!r} has no prose"


def test_models_page_has_every_shipped_card():
    from staggered.models import available_specs

    text = (DOCS / "models.md").read_text()
    for name in available_specs():
        assert f'--8<-- "models/{name}.md"' in text and f"`{name}`" in text


def test_cli_page_specs_sample_lists_every_shipped_spec():
    from staggered.models import available_specs

    text = (DOCS / "cli.md").read_text()
    sample = text[
        text.index("$ staggered specs") : text.index("```", text.index("$ staggered specs"))
    ]
    listed = {line.split()[0] for line in sample.splitlines()[1:] if line.strip()}
    assert listed == set(available_specs())


def test_index_lists_every_model_card_and_every_sampler_check():
    from staggered.models import available_specs

    index = (DOCS / "index.md").read_text()
    for name in available_specs():
        assert f"`models/{name}.md`" in index, name
    assert "maximum tree depth" in index and "divergent transitions" in index
    for field in ("converged", "mean_tree_depth", "share_at_max_depth", "tree_depth_limit"):
        assert field in index, field
