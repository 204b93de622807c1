#!/usr/bin/env python3
"""Golden logits for the engine's numerics test, made by HF transformers (the reference).

Loads an HF-layout Qwen2 model directory (the `tiny` synthetic model written by
`cacheon-engine make-model --shape tiny --seed 0`) with Qwen2ForCausalLM in float32 and eager
attention, runs one forward over a fixed list of token ids, and writes a compact JSON file that
tests/unit/test_cpu_model_golden.cpp compares the CPU backend against.

Full rows are 151936 floats (600 KB each), too big to commit for every position, so per position
the file keeps: the argmax, the top-32 (id, logit), the logits at every `stride`-th id (a spread
sample over the whole vocabulary), and the float64 log-sum-exp of the whole row (one number that
every logit of the row contributes to). It also records, as evidence for the test's tolerance,
how far HF's own float32 logits are from a float64 run of the same model (and from CUDA float32
when a GPU is present), and a fingerprint of the weights (numel, sum, sum of squares per
tensor) so the test can tell a changed synthetic generator from a numerics bug.

How tests/data/golden/tiny_logits.json was made (remake it whenever synthetic.cpp changes):
  cacheon-engine make-model --shape tiny --seed 0 --out DIR
  python3 tools/hf_golden.py --model DIR --out tests/data/golden/tiny_logits.json

Needs torch and transformers (run on the GPU machine; CPU compute is fine for this size).
"""
import argparse
import hashlib
import json
import os
import sys

import torch
import transformers
from transformers import Qwen2ForCausalLM

# 48 fixed ids: ChatML specials, ASCII-range tokens, and ids spread up to the top of the
# vocabulary (a simple LCG, written out so the file and the C++ test need not share code).
def default_ids():
    ids = [151644, 8948, 198, 2610, 525, 1207, 16948, 13, 151645, 198, 151644, 872, 198]
    x = 12345
    while len(ids) < 48:
        x = (x * 1103515245 + 12345) % (1 << 31)
        ids.append(x % 151643)
    return ids


def load(model_dir, dtype, device):
    kwargs = dict(attn_implementation="eager")
    try:
        m = Qwen2ForCausalLM.from_pretrained(model_dir, dtype=dtype, **kwargs)
    except (TypeError, ValueError):  # transformers < 4.56 spells it torch_dtype
        m = Qwen2ForCausalLM.from_pretrained(model_dir, torch_dtype=dtype, **kwargs)
    return m.to(device).eval()


@torch.no_grad()
def logits_of(model, ids, device):
    x = torch.tensor([ids], dtype=torch.long, device=device)
    return model(input_ids=x, use_cache=False).logits[0]


def cuda_stats(model_dir, ids, ref, truth, stats):
    mc = load(model_dir, torch.float32, "cuda")
    cu = logits_of(mc, ids, "cuda").float().cpu()
    stats["hf_fp32_cuda_vs_fp64_max_abs"] = (cu.double() - truth).abs().max().item()
    stats["hf_fp32_cuda_vs_cpu_max_abs"] = (cu - ref).abs().max().item()
    stats["cuda_device"] = torch.cuda.get_device_name(0)
    stats["cuda_argmax_equal"] = bool((cu.argmax(-1) == ref.argmax(-1)).all().item())


def f32(v):
    # 9 significant digits round-trip any float32 exactly.
    return float("%.9g" % v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--top", type=int, default=32)
    ap.add_argument("--stride", type=int, default=1009)
    ap.add_argument("--shape", default="tiny")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--debug-out", help="also write hidden states and two full rows here")
    args = ap.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    ids = default_ids()

    m32 = load(args.model, torch.float32, "cpu")
    ref = logits_of(m32, ids, "cpu").float()
    m64 = load(args.model, torch.float32, "cpu").to(torch.float64)
    truth = logits_of(m64, ids, "cpu")
    del m64

    max_abs_logit = ref.abs().max().item()
    stats = {
        "max_abs_logit": max_abs_logit,
        "hf_fp32_cpu_vs_fp64_max_abs": (ref.double() - truth).abs().max().item(),
    }
    if torch.cuda.is_available():
        try:
            cuda_stats(args.model, ids, ref, truth, stats)
        except Exception as e:  # the CPU golden stands without it
            stats["cuda_error"] = repr(e)
    if args.debug_out:
        # Hidden states after the embedding and each layer (the last one after the final norm),
        # for locating a mismatch by layer without another run; not committed.
        with torch.no_grad():
            hs = m32(input_ids=torch.tensor([ids]), use_cache=False,
                     output_hidden_states=True).hidden_states
        with open(args.debug_out, "w") as f:
            json.dump({"token_ids": ids,
                       "hidden_states": [[[f32(v) for v in r] for r in h[0].tolist()] for h in hs],
                       "logits_first": [f32(v) for v in ref[0].tolist()],
                       "logits_last": [f32(v) for v in ref[-1].tolist()]}, f)

    vocab = ref.shape[1]
    positions = []
    for t in range(len(ids)):
        row = ref[t]
        top = torch.topk(row, args.top)  # ties: torch order; the test compares values by id
        srt = torch.sort(row, descending=True).values
        positions.append({
            "argmax": int(row.argmax().item()),
            "top1_minus_top2": f32((srt[0] - srt[1]).item()),
            "top_ids": [int(i) for i in top.indices.tolist()],
            "top_logits": [f32(v) for v in top.values.tolist()],
            "top_logits_fp64": [float(truth[t, i].item()) for i in top.indices.tolist()],
            "logsumexp_fp64": float(torch.logsumexp(row.double(), 0).item()),
            "strided": [f32(v) for v in row[::args.stride].tolist()],
        })

    # A fingerprint of the weights HF loaded: the C++ test recomputes it from the synthetic
    # generator and, when they differ, says the generator changed and this file must be remade.
    from safetensors.torch import load_file
    fingerprint = {}
    for name, t in load_file(os.path.join(args.model, "model.safetensors")).items():
        d = t.double()
        fingerprint[name] = [t.numel(), d.sum().item(), (d * d).sum().item()]

    sha = hashlib.sha256()
    with open(os.path.join(args.model, "model.safetensors"), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
    out = {
        "generated_by": "tools/hf_golden.py (HF transformers Qwen2ForCausalLM, float32, eager)",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "model": {"shape": args.shape, "seed": args.seed,
                  "dtype_in_files": json.load(open(os.path.join(args.model, "config.json")))
                  .get("torch_dtype"),
                  "model_safetensors_sha256": sha.hexdigest()},
        "vocab_size": vocab,
        "token_ids": ids,
        "stride": args.stride,
        "top": args.top,
        "stats": stats,
        "weights_fingerprint": fingerprint,
        "positions": positions,
    }
    with open(args.out, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(json.dumps(stats, indent=1))
    print("min top1-top2 gap:", min(p["top1_minus_top2"] for p in positions))
    print("wrote", args.out, os.path.getsize(args.out), "bytes")


if __name__ == "__main__":
    sys.exit(main())
