"""The same check as Program.cs in PyTorch: torch.nn.functional.conv1d against float64, forward and backward.

    python3 repro.py [REPEATS]

Exits with 1 when any convolution differs. On the machine where SerMtl saw the failures (AMD EPYC, Zen 5, AVX-512),
Debian 12's torch 1.13 computes every shape right; libtorch 2.10 through TorchSharp 0.107 does not (see README.md).
"""
import sys

import torch

repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
torch.set_num_threads(2)
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {repeats} runs per shape")


def run(x, w, g, stride, dtype, backward):
    xs = x.to(dtype).clone().requires_grad_(backward)
    ws = w.to(dtype).clone().requires_grad_(backward)
    with torch.set_grad_enabled(backward):
        y = torch.nn.functional.conv1d(xs, ws, stride=stride)
        if not backward:
            return y, None, None
        y.backward(g.to(dtype))
    return y.detach(), xs.grad, ws.grad


def diff(a, b):
    return (a.double() - b.double()).abs().max().item()


wrong = total = 0
for dtype in (torch.float32, torch.bfloat16):
    for backward in (False, True):
        failing = []
        for c in (1, 3, 12, 16, 17, 20, 24, 32, 40, 48, 64, 80, 100, 512):
            for k in (1, 2, 3, 10):
                for s in (1, 2, 5):
                    bad, worst = 0, 0.0
                    for r in range(repeats):
                        torch.manual_seed(1000 * c + 10 * k + r)
                        x = torch.randn(3, c, 1000)
                        w = torch.randn(c, c, k) / (c * k) ** 0.5
                        g = torch.randn(3, c, (1000 - k) // s + 1)
                        y, dx, dw = run(x, w, g, s, dtype, backward)
                        y64, dx64, dw64 = run(x, w, g, s, torch.float64, backward)
                        d = diff(y, y64)
                        if backward:
                            d = max(d, diff(dx, dx64), diff(dw, dw64) / max(1.0, dw64.abs().max().item()))
                        total += 1
                        if not d <= (0.05 if dtype == torch.bfloat16 else 1e-3):
                            bad, wrong, worst = bad + 1, wrong + 1, max(worst, d)
                    if bad:
                        failing.append(f"C={c} K={k} stride={s}: {bad}/{repeats} wrong, max |diff| {worst:.3g}")
        print(f"{dtype} {'forward+backward' if backward else 'forward'}: {len(failing)} shapes wrong")
        for line in failing:
            print("  " + line)
print(f"{wrong} of {total} convolutions differ from float64")
sys.exit(1 if wrong else 0)
