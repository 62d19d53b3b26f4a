#!/usr/bin/env bash
# Reproduces the full SBC of every shipped spec shown in docs/sbc.md (about 20-30 minutes per
# spec on a 2-core machine). Re-running resumes from each folder's ranks_partial.csv; delete
# it to start over.
set -euo pipefail
cd "$(dirname "$0")"
for spec in negbin-rw poisson-rw normal-rw; do
  staggered sbc --model "$spec" --replicates 200 --units 20 --groups 3 --periods 8 \
    --draws 200 --tune 200 --workers 2 --seed 2026 --no-progress --out "$spec" || true
done
