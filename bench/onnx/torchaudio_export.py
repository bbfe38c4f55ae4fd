#!/usr/bin/env python3
"""The reference exporter's graph for `sermtl bench --engine onnx --reference FILE`.

Writes torchaudio's wav2vec2-base with a 32-character CTC head (random weights; the speed does not depend on them) as
ONNX with torch.onnx.export, input waveforms [batch, samples] with dynamic axes. Without lengths: torchaudio's
padding mask does not survive tracing with dynamic shapes (ONNX Runtime then fails on a broadcast of the traced frame
count), so the reference runs unmasked, which costs the same as masked. Debian's python3-torch 1.13 and
python3-torchaudio 0.13 are enough.

usage: /usr/bin/python3 bench/onnx/torchaudio_export.py OUT.onnx [--opset 17]
"""
import argparse

import torch
import torchaudio


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--opset", type=int, default=17)
    args = parser.parse_args()

    torch.manual_seed(0)
    model = torchaudio.models.wav2vec2_base(aux_num_out=32).eval()
    waveforms = torch.randn(2, 16000)
    with torch.no_grad():
        torch.onnx.export(
            model, (waveforms,), args.out,
            input_names=["waveforms"], output_names=["ctc_logits"],
            dynamic_axes={"waveforms": {0: "batch", 1: "samples"}, "ctc_logits": {0: "batch", 1: "frames"}},
            opset_version=args.opset, do_constant_folding=True)
    print(f"wrote {args.out}: torchaudio {torchaudio.__version__} wav2vec2_base, torch {torch.__version__}, opset {args.opset}")


if __name__ == "__main__":
    main()
