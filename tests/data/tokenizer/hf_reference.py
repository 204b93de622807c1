#!/usr/bin/env python3
"""Encode JSON lines with HF tokenizers (the Rust library vLLM and transformers use), the
reference our C++ tokenizer follows. Input lines are those of cacheon-tokenize: a JSON string, or
{"hex": "...", "parse_special": bool} for raw bytes (decoded with errors="replace", one U+FFFD
per maximal ill-formed subpart, like our tokenizer). Output: one JSON array of ids per line.

Usage: python3 hf_reference.py tokenizer.json input.jsonl > ids.jsonl
Made (tokenizers 0.23.2) the ids in hf_encode.jsonl and those pinned in
tests/unit/test_tokenizer.cpp (cases where the npm port differs from HF), and checked the whole
parity corpus (tokenizer_parity.mjs --dump DIR; DIR/corpus.jsonl): HF's ids equal ours on all of it.
"""
import json
import sys

from tokenizers import Tokenizer


def main() -> None:
    tok = Tokenizer.from_file(sys.argv[1])
    out = sys.stdout
    with open(sys.argv[2], encoding="utf-8") as f:
        for line in f:
            j = json.loads(line)
            parse_special = True
            if isinstance(j, str):
                text = j
            else:
                text = bytes.fromhex(j["hex"]).decode("utf-8", errors="replace")
                parse_special = j.get("parse_special", True)
            tok.encode_special_tokens = not parse_special
            ids = tok.encode(text, add_special_tokens=False).ids
            out.write(json.dumps(ids, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
