"""Print the markdown verdict tables of docs/sbc.md from each spec's SBC output folder."""

import json
from pathlib import Path

import pandas as pd

here = Path(__file__).parent
for folder in sorted(p for p in here.iterdir() if (p / "summary.csv").exists()):
    s = pd.read_csv(folder / "summary.csv")
    settings = json.loads((folder / "settings.json").read_text())
    ranks = pd.read_csv(folder / "ranks.csv")
    flagged = int((~s["in_band"]).sum())
    freq = settings.get("freq", "year")  # the joint two-outcome run is yearly
    n_thin = settings.get("n_thin", int(ranks["n_draws"].iloc[0]))
    print(f"### `{folder.name}`\n")
    print(
        f"{settings['replicates']} replicates of a {settings['n_units']}-unit x "
        f"{settings['n_periods']}-period {freq}ly panel, {settings['draws']} draws "
        f"after {settings['tune']} warm-up (ranks among {n_thin} thinned draws), "
        f"{settings.get('minutes', float('nan')):.1f} min on 2 CPU cores; "
        f"{int((ranks.groupby('replicate')['divergences'].first() > 0).sum())} replicates with "
        f"divergences. **{flagged} of {len(s)} quantities outside the 99% band.**\n"
    )
    print("| quantity | verdict | ECDF inside 99% band | chi-square p | max ECDF diff |")
    print("|---|---|---|---|---|")
    for r in s.itertuples():
        print(
            f"| `{r.quantity}` | {r.verdict} | {r.in_band} | {r.chi2_p:.3f} | "
            f"{r.max_ecdf_diff:.3f} |"
        )
    print(f"\n![{folder.name} SBC ECDF](sbc/{folder.name}/ecdf.png)\n")
