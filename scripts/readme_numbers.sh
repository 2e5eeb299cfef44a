#!/usr/bin/env bash
# Regenerate every measured number in README.md. Each command measures, writes its results file and
# puts its own block between the README's <!-- key:begin --> / <!-- key:end --> markers; the prose
# around the blocks quotes no number (tests/contract/test_readme_numbers.py checks both).
#
#   bash scripts/readme_numbers.sh            # all of them: over an hour on 2 cores, one thread each
#   bash scripts/readme_numbers.sh defaults   # only the named blocks: tour, tour_mnist, defaults, anomaly, anomaly_odds, performance
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
blocks=("$@")
[ ${#blocks[@]} -eq 0 ] && blocks=(tour tour_mnist defaults anomaly anomaly_odds performance)
for block in "${blocks[@]}"; do
  case "$block" in
    tour)        .venv/bin/aekit tour --threads 1 --readme README.md ;;                   # docs/tour/
    tour_mnist)  .venv/bin/aekit tour --data mnist --seeds 0 1 --only deep_vs_pca,variational,layerwise,tsne --threads 1 --readme README.md && .venv/bin/aekit tour --data mnist --seeds 0 1 2 --only pretraining --threads 1 --readme README.md ;;  # docs/tour-mnist/ (hours; resumable): pretraining on 3 seeds, as measured
    defaults)    $PY experiments/defaults.py --threads 1 --readme README.md ;;            # experiments/results/defaults.md
    anomaly)     $PY experiments/anomaly.py --readme README.md ;;                         # experiments/results/anomaly.md
    anomaly_odds) $PY experiments/anomaly_odds.py --threads 1 --readme README.md ;;       # experiments/results/anomaly_odds.md (../shared/data/odds)
    performance) $PY benchmarks/trainer_throughput.py --threads 1 --repeats 15 --epochs 3 --epoch-rounds 40 --step-rounds 30 --readme README.md ;;
    *) echo "readme_numbers.sh: unknown block '$block'; blocks: tour tour_mnist defaults anomaly anomaly_odds performance" >&2; exit 2 ;;
  esac
done
