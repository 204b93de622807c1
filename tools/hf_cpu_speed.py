#!/usr/bin/env python3
"""CPU speed of HF transformers + torch on a Qwen2 model directory: the peer of bench/engine_speed.

Same model directory (e.g. `cacheon-engine make-model --shape qwen2.5-0.5b --seed 0 --out DIR`),
same prompt ids, same definitions and the same JSON keys as engine_speed, so the two files can be
read side by side. float32 compute (the engine's), weights upcast from the files' bf16.

Prompt ids (no tokenizer needed): token i = (1000 + 37 * i) % 100000, as in engine_speed.

Decode at batch B: B identical rows of the prompt, greedy, exactly G new tokens
(model.generate with do_sample=False, min_new_tokens = max_new_tokens = G, the default dynamic
KV cache). A StoppingCriteria that never stops stamps the time each generated token is chosen
(generate calls it once per token, after the token is picked: the analogue of the engine's token
event). Steady rate = B * (G - 1) / (last stamp - first stamp): prefill and the first token are
excluded. --method loop instead runs the same greedy decode as a plain forward loop over the
cache; auto (default) uses generate and falls back to loop if generate fails or does not stamp
exactly G tokens (the JSON says which ran).
TTFT: one forward over the prompt (batch 1, use_cache=True, logits for the last position only,
as generate's prefill) plus the argmax, wall time. The engine's TTFT is submit to first token
event through its scheduler (prefill in 512-token chunks); both include the first sample.

Checked before a time counts: every row has exactly G new tokens; the TTFT first token is the
same in every repeat. Whether the rows of a batch agree with each other and with batch 1 is
recorded (extra.rows_identical, extra.matches_batch1), not enforced: it is not our code.

Usage (CPU only; on the GPU machine the GPU is not used):
  python3 tools/hf_cpu_speed.py --model DIR --threads 16 --json hf.json
Needs torch and transformers.
"""
import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import transformers
from transformers import AutoModelForCausalLM

try:
    from transformers import StoppingCriteria, StoppingCriteriaList
except ImportError:  # older layouts
    from transformers.generation.stopping_criteria import StoppingCriteria, StoppingCriteriaList


def prompt_ids(n):
    return [(1000 + 37 * i) % 100000 for i in range(n)]


def stat(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": list(xs)}


def progress(msg):
    print(msg, file=sys.stderr, flush=True)


def load(model_dir, attn):
    kwargs = dict(attn_implementation=attn)
    try:
        m = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, **kwargs)
    except (TypeError, ValueError):  # transformers < 4.56 spells it torch_dtype
        m = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32, **kwargs)
    m = m.to("cpu").eval()
    if next(m.parameters()).dtype != torch.float32:
        raise SystemExit("hf_cpu_speed: the model did not load as float32")
    return m


class Stamps(StoppingCriteria):
    """Never stops; records when each generated token was chosen."""

    def __init__(self):
        self.t = []

    def __call__(self, input_ids, scores, **kwargs):
        self.t.append(time.perf_counter())
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


def last_logits_kwargs(model):
    params = inspect.signature(model.forward).parameters
    if "logits_to_keep" in params:
        return {"logits_to_keep": 1}
    if "num_logits_to_keep" in params:  # transformers 4.45-4.49
        return {"num_logits_to_keep": 1}
    return {}


def decode_generate(model, prompt, batch, gen):
    ids = torch.tensor([prompt] * batch, dtype=torch.long)
    stamps = Stamps()
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                         num_beams=1, max_new_tokens=gen, min_new_tokens=gen,
                         stopping_criteria=StoppingCriteriaList([stamps]))
    new = out[:, len(prompt):]
    if new.shape != (batch, gen):
        raise RuntimeError(f"generate returned {tuple(new.shape)} new tokens, expected {(batch, gen)}")
    if len(stamps.t) != gen:
        raise RuntimeError(f"generate stamped {len(stamps.t)} tokens, expected {gen}")
    return new, stamps.t


def decode_loop(model, prompt, batch, gen, kw):
    ids = torch.tensor([prompt] * batch, dtype=torch.long)
    out = model(input_ids=ids, use_cache=True, **kw)
    nxt = out.logits[:, -1, :].argmax(-1, keepdim=True)
    stamps, toks = [time.perf_counter()], [nxt]
    for _ in range(gen - 1):
        out = model(input_ids=nxt, past_key_values=out.past_key_values, use_cache=True)
        nxt = out.logits[:, -1, :].argmax(-1, keepdim=True)
        stamps.append(time.perf_counter())
        toks.append(nxt)
    return torch.cat(toks, dim=1), stamps


def git_describe():
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        r = subprocess.run(["git", "-C", here, "describe", "--always", "--dirty"],
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="HF model directory")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch default)")
    ap.add_argument("--batches", default="1,8", help="decode batch sizes, comma separated")
    ap.add_argument("--prompt-tokens", type=int, default=32)
    ap.add_argument("--gen-tokens", type=int, default=64)
    ap.add_argument("--ttft-tokens", type=int, default=1024, help="0: skip TTFT")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--method", choices=["auto", "generate", "loop"], default="auto")
    ap.add_argument("--attn", default="sdpa", help="attn_implementation (sdpa, eager)")
    ap.add_argument("--json", help="also write every number and the provenance here")
    args = ap.parse_args()
    try:
        batches = [int(b) for b in args.batches.split(",")]
    except ValueError:
        ap.error("--batches: comma separated integers")
    if not all(1 <= b <= 256 for b in batches):
        ap.error("--batches: each in 1..256")
    if not (1 <= args.prompt_tokens <= 8192 and 2 <= args.gen_tokens <= 8192 and
            0 <= args.ttft_tokens <= 131072 and 1 <= args.repeats <= 100 and
            0 <= args.threads <= 1024):
        ap.error("an argument is out of range (see engine_speed --help for the same bounds)")
    if not os.path.isfile(os.path.join(args.model, "config.json")):
        ap.error(f"--model: no config.json in {args.model}")

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    load_start = loadavg()
    progress(f"hf_cpu_speed: loading {args.model} (float32, {args.attn})")
    t0 = time.perf_counter()
    model = load(args.model, args.attn)
    kw = last_logits_kwargs(model)
    progress(f"hf_cpu_speed: loaded in {time.perf_counter() - t0:.1f} s; torch threads "
             f"{torch.get_num_threads()}; transformers {transformers.__version__}, "
             f"torch {torch.__version__}")
    prompt = prompt_ids(args.prompt_tokens)
    method = args.method
    fallback_error = None

    def decode(batch, gen):
        nonlocal method, fallback_error
        if method in ("auto", "generate"):
            try:
                return decode_generate(model, prompt, batch, gen)
            except Exception as e:  # noqa: BLE001 - auto falls back, generate reports
                if method == "generate":
                    raise
                fallback_error = repr(e)
                progress(f"hf_cpu_speed: generate failed ({fallback_error}); using the loop")
                method = "loop"
        return decode_loop(model, prompt, batch, gen, kw)

    rows, jdecode, reference = [], [], None
    with torch.inference_mode():
        decode(max(batches), 4)  # warm-up, untimed
        if method == "auto":
            method = "generate"
        for b in batches:
            rate, per_seq, step = [], [], []
            rows_identical, matches_batch1 = True, True
            for r in range(args.repeats):
                toks, t = decode(b, args.gen_tokens)
                window = t[-1] - t[0]
                rate.append(b * (args.gen_tokens - 1) / window)
                per_seq.append(rate[-1] / b)
                step.append(window * 1e3 / (args.gen_tokens - 1))
                seqs = toks.tolist()
                if reference is None:
                    reference = seqs[0]
                rows_identical &= all(s == seqs[0] for s in seqs)
                matches_batch1 &= all(s == reference for s in seqs)
                progress(f"  decode batch {b} repeat {r + 1}: {rate[-1]:.2f} tok/s, "
                         f"{step[-1]:.2f} ms/step ({method})")
            rows += [(f"decode batch {b}", "tok/s", rate), ("  per sequence", "tok/s", per_seq),
                     ("  step (ITL)", "ms", step)]
            jdecode.append({"batch": b, "tokens_per_s": stat(rate),
                            "per_sequence_tokens_per_s": stat(per_seq), "step_ms": stat(step),
                            "extra": {"method": method, "rows_identical": rows_identical,
                                      "matches_batch1": matches_batch1}})

        jttft = None
        if args.ttft_tokens > 0:
            ids = torch.tensor([prompt_ids(args.ttft_tokens)], dtype=torch.long)
            ms, prefill, first_id = [], [], None
            for r in range(-1, args.repeats):  # r == -1: warm-up
                t0 = time.perf_counter()
                out = model(input_ids=ids, use_cache=True, **kw)
                tok = int(out.logits[0, -1, :].argmax().item())
                elapsed = (time.perf_counter() - t0) * 1e3
                del out
                if first_id is None:
                    first_id = tok
                if tok != first_id:
                    print("FAILED: the TTFT first token differs between repeats")
                    return 1
                if r < 0:
                    continue
                ms.append(elapsed)
                prefill.append(args.ttft_tokens / elapsed * 1e3)
                progress(f"  TTFT repeat {r + 1}: {elapsed:.1f} ms")
            rows += [(f"TTFT {args.ttft_tokens}-token prompt", "ms", ms),
                     ("  prefill rate", "tok/s", prefill)]
            jttft = {"prompt_tokens": args.ttft_tokens, "first_token_id": first_id,
                     "ms": stat(ms), "prefill_tokens_per_s": stat(prefill)}
    load_end = loadavg()

    engine = (f"HF transformers {transformers.__version__} + torch {torch.__version__} CPU "
              f"(fp32, {args.attn}, {method})")
    print(f"hf_cpu_speed: {engine}, torch threads {torch.get_num_threads()}, model {args.model}")
    print(f"decode: {args.prompt_tokens}-token prompt, {args.gen_tokens} greedy tokens per request "
          f"(min_new_tokens = max_new_tokens); {args.repeats} repeats; prompt ids "
          f"(1000 + 37*i) % 100000")
    print(f"{'measurement':<26} {'median':>12} {'[min - max]':>24}  unit")
    for name, unit, xs in rows:
        rng = f"[{min(xs):.2f} - {max(xs):.2f}]"
        print(f"{name:<26} {statistics.median(xs):>12.2f} {rng:>24}  {unit}")
    print(f"git {git_describe()}  cpu '{cpu_model()}'  nproc {os.cpu_count()}  "
          f"load {load_start} -> {load_end}")

    if args.json:
        j = {"benchmark": "hf_cpu_speed",
             "engine": engine,
             "model": args.model,
             "settings": {"threads": torch.get_num_threads(), "threads_requested": args.threads,
                          "batches": batches, "prompt_tokens": args.prompt_tokens,
                          "gen_tokens": args.gen_tokens, "ttft_tokens": args.ttft_tokens,
                          "repeats": args.repeats, "prompt_ids": "(1000 + 37*i) % 100000",
                          "compute_dtype": "float32", "prefill_chunk": None},
             "provenance": {"git": git_describe(), "cpu": cpu_model(), "nproc": os.cpu_count(),
                            "loadavg_start": load_start, "loadavg_end": load_end,
                            "wall_ms": int(time.time() * 1000),
                            "torch_parallel_info": torch.__config__.parallel_info(),
                            "python": sys.version.split()[0],
                            "generate_fallback_error": fallback_error},
             "decode": jdecode,
             "ttft": jttft,
             "greedy_head": (reference or [])[:16]}
        try:
            with open(args.json, "w") as f:
                json.dump(j, f, indent=2, sort_keys=True)
                f.write("\n")
        except OSError as e:
            print(f"hf_cpu_speed: cannot write {args.json}: {e}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
