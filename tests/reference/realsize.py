#!/usr/bin/python3
"""Writes full-size wav2vec2 checkpoints with seeded random weights and their float64 reference outputs.

    /usr/bin/python3 tests/reference/realsize.py OUT_DIR [--only NAME ...]

Nothing here is committed: CI runs it (Debian's torch 1.13 and torchaudio 0.13.1, 2 cores) and the C# tests read
OUT_DIR. For each name below, OUT_DIR/<name>/ is laid out like the HuggingFace repository of that name:

  config.json               the real field values (as HuggingFace's Wav2Vec2Config serialised them)
  preprocessor_config.json  the real feature-extractor settings
  pytorch_model.bin         torch.save of an OrderedDict: every parameter, random (seeded per model), real shapes;
                            Wav2Vec2Model keys without prefix, except wav2vec2-base-960h: Wav2Vec2ForCTC keys
                            (wav2vec2. prefix, lm_head.weight [32, 768] / lm_head.bias [32])
  a.wav b.wav c.wav         copied from tests/fixtures/wav2vec2/tiny-group (16000 / 20800 / 12321 samples)
  expected.safetensors      per WAV stem, each WAV alone in eval mode through torchaudio's wav2vec2:
                            <stem>.conv_features [frames, 512], <stem>.last_hidden_state [frames, hidden]
                            (and <stem>.logits [frames, 32] for wav2vec2-base-960h); model and input
                            (int16 / 32768, normalised (x - mean) / sqrt(var + 1e-7)) in float64, stored as float32.

Speed: Debian's torch multiplies matrices with the reference (netlib) BLAS, one core, about 3 GFLOP/s; the float64
forward passes dominate. So each model runs in its own worker process with one thread, --jobs (default 2) at a
time, largest first: about 4 GB of memory per large model at its peak. With one thread per model the files do not
depend on --jobs, and the same seeds give the same files on the same machine. The float32 sanity run (the
reference's agreement with float32, printed relative to max |last_hidden_state|) covers c.wav only, to save time.
"""

import argparse
import collections
import concurrent.futures
import json
import multiprocessing
import shutil
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import generate  # noqa: E402  (the fixture generator's seeded weights, torchaudio mapping and safetensors writer)

# HuggingFace config.json field values, as torchaudio's test assets record them
# (test/torchaudio_unittest/assets/wav2vec2/huggingface/: facebook/wav2vec2-base.json,
# facebook/wav2vec2-large-lv60.json, wav2vec2-large-xlsr-53.json, wav2vec2-base-960h.json; transformers 4.5.1).
_SHARED = {
    "apply_spec_augment": True, "attention_dropout": 0.1, "bos_token_id": 1, "conv_dim": [512] * 7,
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_stride": [5, 2, 2, 2, 2, 2, 2], "ctc_loss_reduction": "sum",
    "ctc_zero_infinity": False, "eos_token_id": 2, "feat_extract_activation": "gelu", "feat_proj_dropout": 0.1,
    "hidden_act": "gelu", "hidden_dropout": 0.1, "initializer_range": 0.02, "layer_norm_eps": 1e-05,
    "mask_feature_length": 10, "mask_feature_prob": 0.0, "mask_time_length": 10, "model_type": "wav2vec2",
    "num_conv_pos_embedding_groups": 16, "num_conv_pos_embeddings": 128, "num_feat_extract_layers": 7,
    "pad_token_id": 0, "transformers_version": "4.5.1", "vocab_size": 32,
}
_BASE = {"conv_bias": False, "feat_extract_norm": "group", "do_stable_layer_norm": False, "hidden_size": 768,
         "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072}
_LARGE = {"conv_bias": True, "feat_extract_norm": "layer", "do_stable_layer_norm": True, "hidden_size": 1024,
          "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096}
# Masking options the pretrained configs of early 2021 still wrote out.
_STATIC_MASKS = {
    "mask_channel_length": 10, "mask_channel_min_space": 1, "mask_channel_other": 0.0, "mask_channel_prob": 0.0,
    "mask_channel_selection": "static", "mask_time_min_space": 1, "mask_time_other": 0.0,
    "mask_time_selection": "static",
}

CONFIGS = {
    "wav2vec2-base": {
        **_SHARED, **_BASE, **_STATIC_MASKS, "architectures": ["Wav2Vec2Model"], "activation_dropout": 0.0,
        "final_dropout": 0.0, "freeze_feat_extract_train": True, "gradient_checkpointing": True, "layerdrop": 0.05,
        "mask_time_prob": 0.05, "no_mask_channel_overlap": False, "no_mask_time_overlap": False,
    },
    "wav2vec2-base-960h": {
        **_SHARED, **_BASE, "architectures": ["Wav2Vec2ForCTC"], "activation_dropout": 0.1,
        "feat_extract_dropout": 0.0, "final_dropout": 0.1, "gradient_checkpointing": False,
        "hidden_dropout_prob": 0.1, "layerdrop": 0.1, "mask_time_prob": 0.05,
    },
    "wav2vec2-large-lv60": {
        **_SHARED, **_LARGE, "architectures": ["Wav2Vec2Model"], "activation_dropout": 0.1,
        "feat_extract_dropout": 0.0, "final_dropout": 0.1, "gradient_checkpointing": False,
        "hidden_dropout_prob": 0.1, "layerdrop": 0.1, "mask_time_prob": 0.05,
    },
    "wav2vec2-large-xlsr-53": {
        **_SHARED, **_LARGE, **_STATIC_MASKS, "architectures": ["Wav2Vec2Model"], "activation_dropout": 0.0,
        "feat_extract_dropout": 0.0, "final_dropout": 0.0, "gradient_checkpointing": False, "layerdrop": 0.1,
        "mask_time_prob": 0.075,
    },
}

# preprocessor_config.json as on the HuggingFace hub (the files there are 159, 159, 158 and 212 bytes, as these
# are): every one normalises; the two layer-norm (large) models also return an attention mask.
_PREPROCESSOR = {"do_normalize": True, "feature_size": 1, "padding_side": "right", "padding_value": 0.0,
                 "sampling_rate": 16000}
PREPROCESSORS = {
    "wav2vec2-base": {**_PREPROCESSOR, "return_attention_mask": False},
    "wav2vec2-base-960h": {**_PREPROCESSOR, "return_attention_mask": False},
    "wav2vec2-large-lv60": {**_PREPROCESSOR, "return_attention_mask": True},
    "wav2vec2-large-xlsr-53": {**_PREPROCESSOR, "feature_extractor_type": "Wav2Vec2FeatureExtractor",
                               "padding_value": 0, "return_attention_mask": True},
}

# The float32 sanity run covers the shortest WAV only (the float64 run covers all three).
SANITY_STEMS = ("c",)

SEEDS = {"wav2vec2-base": 5120, "wav2vec2-base-960h": 5121, "wav2vec2-large-lv60": 5122,
         "wav2vec2-large-xlsr-53": 5123}


def write_json(path, value):
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")


def make(out_dir, name):
    """Writes OUT_DIR/<name>/ and returns the summary line it prints."""
    start = time.perf_counter()
    folder = out_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    cfg = CONFIGS[name]
    with_logits = cfg["architectures"] == ["Wav2Vec2ForCTC"]

    backbone, gen = generate.random_backbone(cfg, SEEDS[name])
    lm_head = None
    if with_logits:
        hidden, vocab = cfg["hidden_size"], cfg["vocab_size"]
        lm_head = {"weight": torch.randn(vocab, hidden, generator=gen) / hidden ** 0.5,
                   "bias": 0.2 * torch.randn(vocab, generator=gen)}
        # Wav2Vec2ForCTC layout as the real base-960h checkpoint has it (weight norm as weight_g / weight_v).
        ckpt = collections.OrderedDict(("wav2vec2." + k, v) for k, v in backbone.items())
        ckpt["lm_head.weight"], ckpt["lm_head.bias"] = lm_head["weight"], lm_head["bias"]
    else:
        ckpt = backbone
    params = sum(v.numel() for v in ckpt.values())

    write_json(folder / "config.json", cfg)
    write_json(folder / "preprocessor_config.json", PREPROCESSORS[name])
    for stem in generate.WAV_STEMS:
        shutil.copyfile(generate.TINY_GROUP / f"{stem}.wav", folder / f"{stem}.wav")
    torch.save(ckpt, folder / "pytorch_model.bin")
    del ckpt

    model = generate.torchaudio_model(cfg, backbone, lm_head)
    del backbone, lm_head
    reference, errors = generate.float64_reference(model, folder, with_logits, check_whole=False,
                                                   float32_stems=SANITY_STEMS)
    del model
    generate.write_safetensors(folder / "expected.safetensors", reference)

    peak = max(reference[f"{s}.last_hidden_state"].abs().max().item() for s in generate.WAV_STEMS)
    sanity_peak = max(reference[f"{s}.last_hidden_state"].abs().max().item() for s in SANITY_STEMS)
    relative = max(errors[f"{s}.last_hidden_state"] for s in SANITY_STEMS) / sanity_peak
    line = (f"{name}: {params:,} parameters, {time.perf_counter() - start:.1f} s, max |last_hidden_state| "
            f"{peak:.4g}, float32 vs float64 {relative:.2e} of it")
    print(line, flush=True)
    assert relative < 1e-3, f"{name}: the float32 run differs from the float64 one by {relative:.2e} (relative)"
    return line


def _worker_init():
    torch.set_num_threads(1)  # one model per core; also keeps the results independent of --jobs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--only", nargs="+", choices=list(CONFIGS), metavar="NAME",
                        help=f"write only these ({', '.join(CONFIGS)}); default all")
    parser.add_argument("--jobs", type=int, default=2, help="models built at once, one core each (default 2)")
    args = parser.parse_args()
    assert sys.byteorder == "little", "safetensors and torch.save data are little-endian"
    names = sorted(args.only or CONFIGS, key=lambda n: -CONFIGS[n]["num_hidden_layers"])  # largest first
    start = time.perf_counter()
    # spawn, not fork: a forked child of a process whose OpenMP pool already ran can hang.
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, args.jobs), initializer=_worker_init,
                                                mp_context=multiprocessing.get_context("spawn")) as pool:
        for job in [pool.submit(make, args.out_dir, name) for name in names]:
            job.result()
    print(f"total {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
