#!/usr/bin/env bash
# Reproduces the full SBC of every shipped spec shown in docs/sbc.md (about 7-15 minutes per
# spec on a 2-core machine). Re-running resumes from each folder's ranks_partial.csv; delete
# the folder to start over.
set -euo pipefail
cd "$(dirname "$0")"
common=(--replicates 200 --units 20 --groups 3 --periods 8 --workers 2 --seed 2026 --no-progress)
staggered sbc --model negbin-rw "${common[@]}" --draws 200 --tune 200 --out negbin-rw || true
staggered sbc --model normal-rw "${common[@]}" --draws 200 --tune 200 --out normal-rw || true
# Poisson counts of 10^4 give a very sharp posterior: longer warm-up (200 was not enough)
staggered sbc --model poisson-rw "${common[@]}" --draws 300 --tune 600 --out poisson-rw || true
