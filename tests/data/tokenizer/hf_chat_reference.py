#!/usr/bin/env python3
"""Render chats with HF transformers' apply_chat_template and the verbatim Qwen2.5-Instruct
template (src/engine/model/qwen_chat_template.cpp), and tokenize the result: the expectations in
hf_chats.jsonl that tests/unit/test_tokenizer_chat.cpp checks render_chat/encode_chat against.

Usage: python3 hf_chat_reference.py tokenizer.json chats.jsonl > hf_chats.jsonl
  chats.jsonl lines: {"messages": [{"role", "content"}...], "add_generation_prompt": bool}
Made with transformers 5.17.0 / tokenizers 0.23.2 (207 chats: the fixed cases at the top, then
random role/content mixes from random.Random(7)).
"""
import json
import pathlib
import re
import sys

from transformers import PreTrainedTokenizerFast

ROOT = pathlib.Path(__file__).resolve().parents[3]


def main() -> None:
    src = (ROOT / "src/engine/model/qwen_chat_template.cpp").read_text(encoding="utf-8")
    template = re.search(r'R"TPL\((.*?)\)TPL"', src, re.S).group(1)
    tok = PreTrainedTokenizerFast(tokenizer_file=sys.argv[1])
    tok.chat_template = template
    with open(sys.argv[2], encoding="utf-8") as f:
        for line in f:
            c = json.loads(line)
            text = tok.apply_chat_template(c["messages"], tokenize=False,
                                           add_generation_prompt=c["add_generation_prompt"])
            ids = tok(text, add_special_tokens=False)["input_ids"]
            c.update(text=text, ids=ids)
            sys.stdout.write(json.dumps(c) + "\n")


if __name__ == "__main__":
    main()
