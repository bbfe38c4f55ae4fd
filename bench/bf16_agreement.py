#!/usr/bin/python3
"""How often a saved model predicts the same emotion in bfloat16 as in float32, and the largest probability gap.

Runs `sermtl predict --json` twice over the same WAVs (float32, then --dtype bfloat16) and compares, file by file,
the predicted label and every label's probability. Used for issue 6's goal: the same emotion on >= 99 % of the
demo's test utterances.

  dotnet run --project tools/SerMtl.Cli -c Release -- demo --out out/demo
  /usr/bin/python3 bench/bf16_agreement.py out/demo/model out/demo/corpus/IEMOCAP_full_release/Session5

The second argument is a folder searched recursively for .wav files (the demo tests on Session 5). Set SERMTL to the
command that runs the CLI (default: the Release build's apphost, built if missing).
"""

import json
import os
import pathlib
import shlex
import subprocess
import sys


def predict(command, model, files, dtype):
    args = command + ["predict", "--model", model, "--json", "--dtype", dtype, "--threads", "2"] + files
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    return {pathlib.Path(p["file"]).name: p for p in json.loads(done.stdout)}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    model, folder = sys.argv[1], sys.argv[2]
    root = pathlib.Path(__file__).resolve().parent.parent
    apphost = root / "tools/SerMtl.Cli/bin/Release/net10.0/sermtl"
    if "SERMTL" in os.environ:
        command = shlex.split(os.environ["SERMTL"])
    else:
        if not apphost.exists():
            subprocess.run(["dotnet", "build", str(root / "tools/SerMtl.Cli"), "-c", "Release"], check=True)
        command = [str(apphost)]
    files = sorted(str(p) for p in pathlib.Path(folder).rglob("*.wav") if not p.name.startswith("._"))
    if not files:
        sys.exit(f"no .wav files under {folder}")
    full = predict(command, model, files, "float32")
    half = predict(command, model, files, "bfloat16")
    same = sum(full[name]["label"] == half[name]["label"] for name in full)
    gaps = [(abs(full[name]["probabilities"][label] - half[name]["probabilities"][label]), name, label)
            for name in full for label in full[name]["probabilities"]]
    gap, name, label = max(gaps)
    print(json.dumps({
        "utterances": len(full),
        "same_label": same,
        "agreement": same / len(full),
        "largest_probability_difference": gap,
        "largest_difference_at": f"{name} ({label})",
        "mean_probability_difference": sum(g for g, _, _ in gaps) / len(gaps),
    }, indent=2))


if __name__ == "__main__":
    main()
