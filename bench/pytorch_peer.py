#!/usr/bin/python3
"""PyTorch peer of `sermtl bench`: the same wav2vec2-base architecture, timed the same way.

Builds torchaudio's wav2vec2_base (the HF base config: group-norm feature encoder, post-LN transformer, 768
hidden, 12 layers) with random weights, a CTC head (its aux linear, 32 outputs) and an emotion head (sum over
frames, linear to 4 classes), LayerDrop off as in the C# bench, and reports:

  inference_ms   one clip, eval + inference_mode, median of 5 after 2 warm-ups
  train_step_ms  forward (train mode), CE + 0.1 * CTC, backward, AdamW step; median of 3 after 1 warm-up
  peak_rss_mb    VmHWM from /proc/self/status, reset before each phase (as the C# bench does)
  gemm_gflops_*  [2048, 768] x [768, 3072] as torch.nn.functional.linear and as a 1x1 conv1d

Run with the Debian PyTorch (torch 1.13, torchaudio 0.13):
  /usr/bin/python3 bench/pytorch_peer.py --threads 2 [--seconds 5] [--dtype float32|bfloat16] [--json]
"""

import argparse
import json
import os
import random
import statistics
import time

import torch
import torch.nn.functional as F
import torchaudio

SAMPLE_RATE = 16000
EMOTIONS = 4
VOCABULARY = 32


def peak_rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def median_ms(warm_up, runs, fn):
    for _ in range(warm_up):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


class SerModel(torch.nn.Module):
    """wav2vec2-base with the CTC head (torchaudio's aux) and an emotion head over the summed valid frames."""

    def __init__(self):
        super().__init__()
        self.backbone = torchaudio.models.wav2vec2_base(encoder_layer_drop=0.0, aux_num_out=None)
        self.ctc = torch.nn.Linear(768, VOCABULARY)
        self.emotion = torch.nn.Linear(768, EMOTIONS)

    def forward(self, waveforms, lengths=None):
        hidden, frames = self.backbone(waveforms, lengths)  # [B, T, 768]
        if frames is None:
            pooled = hidden.sum(1)
            frames = torch.full((hidden.shape[0],), hidden.shape[1], dtype=torch.long)
        else:
            valid = torch.arange(hidden.shape[1]).unsqueeze(0) < frames.unsqueeze(1)
            pooled = (hidden * valid.unsqueeze(-1)).sum(1)
        return self.emotion(pooled), self.ctc(hidden), frames


def gemm(dtype):
    m, k, n = 2048, 768, 3072
    x = torch.randn(m, k).to(dtype)
    w = torch.randn(n, k).to(dtype)
    b = torch.randn(n).to(dtype)
    flops = 2.0 * m * k * n
    with torch.inference_mode():
        linear = median_ms(2, 7, lambda: F.linear(x, w, b))
        conv = median_ms(2, 7, lambda: F.conv1d(x.t().unsqueeze(0), w.unsqueeze(-1), b))
    return flops / linear / 1e6, flops / conv / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32",
                        help="inference dtype; bfloat16 trains under torch.autocast('cpu', bfloat16)")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    dtype = torch.bfloat16 if args.dtype == "bfloat16" else torch.float32
    load_before = os.getloadavg()[0]
    gemm_linear, gemm_conv = gemm(dtype)

    torch.manual_seed(0)
    model = SerModel()
    samples = int(round(args.seconds * SAMPLE_RATE))
    clip = torch.rand(1, samples) * 2 - 1

    model.to(dtype).eval()
    reset_peak()
    with torch.inference_mode():
        inference_ms = median_ms(2, 5, lambda: model(clip.to(dtype)))
    inference_peak = peak_rss_mb()

    # Throughput over the same kind of clip set as the C# bench (uniform 2-10 s, longest first, padded batches).
    rng = random.Random(1234)
    clips = [torch.rand(int((2 + 8 * rng.random()) * SAMPLE_RATE)) * 2 - 1 for _ in range(max(2 * args.batch, 8))]
    clips.sort(key=len, reverse=True)

    def throughput(batch):
        batches = [clips[i:i + batch] for i in range(0, len(clips), batch)]
        def run(group):
            lengths = torch.tensor([len(c) for c in group])
            padded = torch.zeros(len(group), int(lengths.max()))
            for i, c in enumerate(group):
                padded[i, :len(c)] = c
            model(padded.to(dtype), lengths if batch > 1 else None)
        with torch.inference_mode():
            run(batches[-1])
            start = time.perf_counter()
            for group in batches:
                run(group)
            return len(clips) / (time.perf_counter() - start)

    per_second_1 = throughput(1)
    per_second_n = throughput(args.batch)

    train_ms = train_peak = None
    if not args.skip_train:
        model.to(torch.float32).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)
        frames = model.backbone.feature_extractor(clip, None)[0].shape[1]
        target_length = max(1, min(frames // 2, int(15 * args.seconds)))
        targets = torch.randint(1, VOCABULARY, (1, target_length))
        label = torch.tensor([1])

        def step():
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
                emotion, ctc, frame_lengths = model(clip)
            log_probs = F.log_softmax(ctc.float(), -1).transpose(0, 1)
            ctc_loss = F.ctc_loss(log_probs, targets, frame_lengths, torch.tensor([target_length]),
                                  blank=0, reduction="sum", zero_infinity=True)
            loss = F.cross_entropy(emotion.float(), label) + 0.1 * ctc_loss
            loss.backward()
            optimizer.step()

        reset_peak()
        train_ms = median_ms(1, 3, step)
        train_peak = peak_rss_mb()

    result = {
        "inference_ms": inference_ms,
        "train_step_ms": train_ms,
        "peak_rss_mb": max(p for p in (inference_peak, train_peak) if p is not None),
        "inference_peak_rss_mb": inference_peak,
        "train_peak_rss_mb": train_peak,
        "gemm_gflops_linear": gemm_linear,
        "gemm_gflops_conv1x1": gemm_conv,
        "threads": args.threads,
        "dtype": args.dtype,
        "seconds": args.seconds,
        "utterances_per_second_batch1": per_second_1,
        "utterances_per_second_batchN": per_second_n,
        "batch": args.batch,
        "torch": torch.__version__,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items()}, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:32} {value:.1f}" if isinstance(value, float) else f"{key:32} {value}")


if __name__ == "__main__":
    main()
