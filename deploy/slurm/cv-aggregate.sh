#!/bin/bash
# Combines the parts cv-array.sh wrote into one run (results.json, report.html), after every task succeeded.
#SBATCH --job-name=sermtl-cv-aggregate
#SBATCH --cpus-per-task=1
#SBATCH --time=00:10:00
set -euo pipefail

RUNS=${RUNS:-runs/paper-a0.1}
sermtl cv aggregate --out "$RUNS" "$RUNS"/part*
