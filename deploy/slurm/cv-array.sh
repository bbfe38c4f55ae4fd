#!/bin/bash
# One cross-validation fold per array task (fold index = SLURM_ARRAY_TASK_ID), then combine:
#   sbatch --array=0-9 deploy/slurm/cv-array.sh            # the paper protocol has 10 folds
#   sbatch --dependency=afterok:<jobid> deploy/slurm/cv-aggregate.sh
# Every task uses the same options; each writes its own run directory (runs/paper-a0.1/part<k>).
#SBATCH --job-name=sermtl-cv
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --mem=32G
#SBATCH --time=24:00:00
#SBATCH --output=logs/sermtl-cv-%A_%a.out
set -euo pipefail

IEMOCAP=${IEMOCAP:-$HOME/data/IEMOCAP_full_release}
BACKBONE=${BACKBONE:-facebook/wav2vec2-base}
RUNS=${RUNS:-runs/paper-a0.1}

# A preempted or killed task is simply resubmitted: the same command resumes from its last checkpoint.
sermtl cv --iemocap "$IEMOCAP" --protocol paper --backbone "$BACKBONE" --alpha 0.1 --device cuda \
  --checkpoint-every 200 --fold-index "$SLURM_ARRAY_TASK_ID" --out "$RUNS/part$SLURM_ARRAY_TASK_ID"
