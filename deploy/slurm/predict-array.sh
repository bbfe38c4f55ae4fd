#!/bin/bash
# Predicts a folder of recordings with N array tasks, each taking every N-th file; concatenate the CSVs afterwards:
#   sbatch --array=0-7 deploy/slurm/predict-array.sh
#   (head -n 1 predictions/part0.csv; tail -q -n +2 predictions/part*.csv) > predictions.csv
#SBATCH --job-name=sermtl-predict
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --time=04:00:00
set -euo pipefail

MODEL=${MODEL:-runs/paper-a0.1/folds/Ses01F/best}
RECORDINGS=${RECORDINGS:-recordings}
mkdir -p predictions
sermtl predict --model "$MODEL" --csv --threads 4 \
  --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" "$RECORDINGS" > "predictions/part$SLURM_ARRAY_TASK_ID.csv"
