// The deterministic corpus of tokenizer_parity.mjs: buildCorpus(corpusDir) returns
// [{kind, text}] or [{kind, bytes}] cases. Same seed, same corpus, on every machine.
import fs from "node:fs";
import path from "node:path";

// mulberry32: small, fast, deterministic.
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));  // inclusive
  const pick = (arr) => arr[Math.floor(next() * arr.length)];
  return { next, int, pick };
}

// Blocks assigned by Unicode 6 (stable across utf8proc's and ICU's Unicode versions), without
// the three code points the npm port treats differently from HF (see tokenizer_parity.mjs).
const SCRIPT_RANGES = {
  latin1: [[0xa0, 0xff]],
  latinExt: [[0x100, 0x17e], [0x180, 0x24f], [0x1e00, 0x1eff]],
  ipa: [[0x250, 0x2ff]],
  combining: [[0x300, 0x36f]],
  greek: [[0x391, 0x3a1], [0x3a3, 0x3ff], [0x1f00, 0x1f15], [0x1f18, 0x1f1d]],
  cyrillic: [[0x400, 0x4ff]],
  armenian: [[0x531, 0x556], [0x561, 0x587]],
  hebrew: [[0x5b0, 0x5b9], [0x5d0, 0x5ea]],
  arabic: [[0x621, 0x63a], [0x641, 0x652], [0x660, 0x66d]],
  devanagari: [[0x905, 0x939], [0x93e, 0x94d], [0x966, 0x96f]],
  bengali: [[0x985, 0x98c], [0x9e6, 0x9ef]],
  thai: [[0xe01, 0xe3a], [0xe40, 0xe5b]],
  georgian: [[0x10d0, 0x10fa]],
  hangulJamo: [[0x1100, 0x1159], [0x1161, 0x11a2], [0x11a8, 0x11f9]],
  ethiopic: [[0x1200, 0x1248]],
  cherokee: [[0x13a0, 0x13f4]],
  punct: [[0x2010, 0x2027], [0x2030, 0x205e], [0x3001, 0x303f], [0xff01, 0xff5e]],
  spaces: [[0x2000, 0x200a], [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f],
           [0x3000, 0x3000], [0x1680, 0x1680]],
  zeroWidth: [[0x200b, 0x200f], [0x2060, 0x2064]],
  numbers: [[0x2070, 0x2070], [0x2074, 0x2079], [0x2080, 0x2089], [0x2153, 0x2188],
            [0x2460, 0x249b], [0xff10, 0xff19], [0x1d7ce, 0x1d7ff]],
  symbols: [[0x20a0, 0x20b5], [0x2100, 0x214f], [0x2190, 0x23e7], [0x2460, 0x24ff],
            [0x2500, 0x26ff], [0x2701, 0x2704], [0x2706, 0x2709], [0x270c, 0x2727]],
  kana: [[0x3041, 0x3096], [0x30a1, 0x30fa], [0x30fc, 0x30fc], [0xff66, 0xff9f]],
  cjk: [[0x4e00, 0x9fa5], [0x3400, 0x4db5]],
  cjkExtB: [[0x20000, 0x2a6d6]],
  hangul: [[0xac00, 0xd7a3]],
  emoji: [[0x1f300, 0x1f320], [0x1f330, 0x1f335], [0x1f337, 0x1f37c], [0x1f380, 0x1f393],
          [0x1f3a0, 0x1f3c4], [0x1f3c6, 0x1f3ca], [0x1f3e0, 0x1f3f0], [0x1f400, 0x1f43e],
          [0x1f440, 0x1f440], [0x1f442, 0x1f4f7], [0x1f4f9, 0x1f4fc], [0x1f500, 0x1f53d],
          [0x1f550, 0x1f567], [0x1f5fb, 0x1f5ff], [0x1f600, 0x1f64f], [0x1f680, 0x1f6c5]],
  mathAlpha: [[0x1d400, 0x1d454], [0x1d456, 0x1d49c]],
  oldScripts: [[0x10300, 0x1031e], [0x10330, 0x1034a], [0x10000, 0x1000b]],
  controls: [[0x00, 0x08], [0x0e, 0x1f], [0x7f, 0x84], [0x86, 0x9f]],
  privateUse: [[0xe000, 0xe0ff]],
  specials: [[0xfffc, 0xfffd], [0xfe00, 0xfe0f], [0xe0020, 0xe007f], [0xe0100, 0xe01ef]],
};
const SCRIPTS = Object.keys(SCRIPT_RANGES);

const WHITESPACE = [" ", " ", " ", "  ", "\t", "\n", "\n\n", "\r\n", "\r", "\v", "\f", "\u00a0",
                    "\u3000", "\u2003", "\u2028", "\u2029", "\u202f", " \n", "\t\n", "   "];
const WORDS = ("the of and to in is was he that it for as with his on be at by had not are but " +
  "from or have an they which you were her all she there would their we him been has when who " +
  "will no more if out so said what up its about than into them can only other new some could " +
  "time these two may then do first any my now such like our over man me even most made after " +
  "also did many before must through back years where much your way well down should because " +
  "each just those people how too little state good very make world still own see men work long " +
  "get here between both life being under never day same another know while last might us great " +
  "old year off come since against go came right used take three HTTP JSON Qwen vLLM tokenizer " +
  "naïve café résumé Zürich São façade coöperate ångström Ελλάδα Москва 東京 서울 القاهرة").split(" ");
const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve",
                      "'vE", "'M", "'LL", "'lL", "'D", "'x", "'", "''", "'re'", "'sup", "'D'"];
const SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
                  "<|box_end|>", "<|vision_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
                  "<|fim_middle|>", "<|fim_suffix|>", "<|repo_name|>", "<|file_sep|>",
                  "<tool_response>", "</tool_response>", "<think>", "</think>"];
const NEAR_SPECIALS = ["<|im_end", "<|im_end|", "im_end|>", "<|IM_END|>", "< |im_end|>",
                       "<|im_start|", "<<|im_end|>>", "<|endoftext|><|endoftext|>", "<|>", "<||>",
                       "<think", "</think", "<tool_call", "<|im_start|>|>", "|><|"];
const EMOJI_SEQ = ["👨‍👩‍👧‍👦", "👩🏽‍💻", "🏳️‍🌈", "🇯🇵", "🇺🇸🇬🇧", "1️⃣", "#️⃣", "❤️", "✌🏿",
                   "🧑‍🤝‍🧑", "👁️‍🗨️", "🐻‍❄️", "😀😃😄", "🫠", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "☺︎", "🤷‍♀️"];
const NFC_WORDS = ["é", "naïve", "Å", "ñandú", "Ελληνικά", "Tiếng Việt", "ḍḥṣ", "ǅemal", "Ω",
                   "각", "한국어", "ガギグゲゴ", "パピプ", "ﬁ", "Ǆ", "ṩ", "ệ", "ǖ", "ȫ", "ﾊﾟ"];

function codePoint(r, script) {
  const ranges = SCRIPT_RANGES[script];
  const [lo, hi] = r.pick(ranges);
  return String.fromCodePoint(r.int(lo, hi));
}

function randomUnicode(r, n) {
  let s = "";
  let script = r.pick(SCRIPTS);
  for (let i = 0; i < n; ++i) {
    if (r.next() < 0.15) script = r.pick(SCRIPTS);
    if (r.next() < 0.12) s += r.pick(WHITESPACE);
    else if (r.next() < 0.05) s += r.pick(WORDS);
    else s += codePoint(r, script);
  }
  return s;
}

function words(r, n) {
  const out = [];
  for (let i = 0; i < n; ++i) {
    let w = r.pick(WORDS);
    const x = r.next();
    if (x < 0.1) w = w.toUpperCase();
    else if (x < 0.2) w = w[0].toUpperCase() + w.slice(1);
    if (r.next() < 0.08) w += r.pick(CONTRACTIONS);
    if (r.next() < 0.1) w += r.pick([",", ".", "!", "?", ";", ":", "...", "—", ")", "\"", "'"]);
    out.push(w);
  }
  return out.join(" ");
}

function digits(r, n) {
  let s = "";
  for (let i = 0; i < n; ++i) s += String(r.int(0, 9));
  return s;
}

function numberText(r) {
  const forms = [
    () => digits(r, r.int(1, 40)),
    () => `${r.int(0, 99999)}.${digits(r, r.int(1, 8))}`,
    () => r.int(0, 1e9).toLocaleString("en-US"),
    () => `${r.int(1, 9)}.${digits(r, 3)}e${r.pick(["+", "-", ""])}${r.int(0, 308)}`,
    () => `0x${r.int(0, 2 ** 31).toString(16)}${r.next() < 0.5 ? "ULL" : ""}`,
    () => `${r.int(1900, 2100)}-${String(r.int(1, 12)).padStart(2, "0")}-${r.int(10, 28)}`,
    () => `+1 (${digits(r, 3)}) ${digits(r, 3)}-${digits(r, 4)}`,
    () => `$${r.int(0, 9999)}.${digits(r, 2)} ${r.int(1, 100)}% ${r.int(-50, 50)}°C`,
    () => `v${r.int(0, 20)}.${r.int(0, 99)}.${r.int(0, 999)}-rc${r.int(1, 9)}`,
    () => "٠١٢٣٤٥٦٧٨٩ ०१२३ ١٢٫٥ １２３４ ½ ¾ ² ³ Ⅻ ⅷ ① ⑳ 𝟘𝟙𝟚".split(" ")
      .slice(r.int(0, 8))
      .join(r.pick([" ", "", "\t"])),
  ];
  return Array.from({ length: r.int(1, 8) }, () => r.pick(forms)()).join(r.pick([" ", ", ", "\n", "", "x"]));
}

function identifier(r) {
  const parts = Array.from({ length: r.int(1, 3) }, () => r.pick(WORDS).replace(/[^A-Za-z]/g, "") || "x");
  const style = r.int(0, 3);
  if (style === 0) return parts.join("_");
  if (style === 1) return parts.map((p, i) => (i ? p[0].toUpperCase() + p.slice(1) : p)).join("");
  if (style === 2) return parts.join("_").toUpperCase();
  return parts.join("") + r.int(0, 99);
}

function code(r) {
  const indent = r.pick(["  ", "    ", "\t", "\t\t", " "]);
  const nl = r.next() < 0.2 ? "\r\n" : "\n";
  const lines = [];
  const n = r.int(3, 30);
  for (let i = 0; i < n; ++i) {
    const depth = r.int(0, 3);
    const a = identifier(r), b = identifier(r);
    const stmt = r.pick([
      `if (${a} != nullptr && ${b}->size() >= ${r.int(0, 999)}) {`,
      `for (int i = 0; i < ${a}.size(); ++i) ${b}[i] += i * ${r.int(2, 9)};`,
      `def ${a}(${b}, *args, **kwargs):`,
      `    return {"${a}": ${b}, 'k': [1, 2, 3], "x": None}`,
      `const ${a} = await fetch(\`/api/${b}?q=\${encodeURIComponent(x)}\`);`,
      `<div class="${a}" id='${b}'>&nbsp;&lt;${a}&gt;</div>`,
      `SELECT ${a}, COUNT(*) FROM ${b} WHERE ${a} LIKE '%x%' GROUP BY 1;`,
      `# ${words(r, r.int(2, 8))}`,
      `// TODO(${a}): ${words(r, r.int(2, 6))}`,
      `${a} := map[string]int{"${b}": ${r.int(0, 99)}}`,
      `}`, ``, `    `, `\t`,
      `std::vector<std::pair<int, float>> ${a}{{1, 2.5f}, {3, -0.5f}};`,
      `fn ${a}(&mut self) -> Result<(), Box<dyn Error>> { Ok(()) }`,
      `${a} = lambda x: x**2 if x>0 else -x//3  # ${b}`,
      `$ ${a} --${b}=${r.int(0, 9)} | grep -E '^[a-z]+$' >> /tmp/${b}.log 2>&1`,
      `{"${a}": [${r.int(0, 9)}, ${r.int(0, 9)}.${r.int(0, 9)}, true, null], "${b}": "\\u00e9\\n"}`,
    ]);
    let line = indent.repeat(depth) + stmt;
    if (r.next() < 0.15) line += r.pick([" ", "  ", "\t", "   "]);  // trailing whitespace
    lines.push(line);
  }
  return lines.join(nl) + (r.next() < 0.5 ? nl : "");
}

function whitespaceMix(r) {
  let s = "";
  const n = r.int(1, 30);
  for (let i = 0; i < n; ++i) {
    const x = r.next();
    if (x < 0.45) s += Array.from({ length: r.int(1, 4) }, () => r.pick(WHITESPACE)).join("");
    else if (x < 0.7) s += r.pick(WORDS);
    else if (x < 0.8) s += String(r.int(0, 999));
    else if (x < 0.9) s += r.pick(["!", "...", "--", "()", "#", "\"", "'", "’", "“", "”", "?!"]);
    else s += r.pick(CONTRACTIONS);
  }
  return s;
}

function cjk(r) {
  let s = "";
  const n = r.int(5, 200);
  for (let i = 0; i < n; ++i) {
    const x = r.next();
    if (x < 0.6) s += codePoint(r, "cjk");
    else if (x < 0.7) s += r.pick(["，", "。", "、", "！", "？", "「", "」", "：", "（", "）", "…"]);
    else if (x < 0.8) s += codePoint(r, r.pick(["kana", "hangul", "cjkExtB"]));
    else if (x < 0.9) s += r.pick([" ", "\n", "", "GPU", "2024年", "3.14", "Qwen2.5"]);
    else s += String(r.int(0, 99));
  }
  return s;
}

function emoji(r) {
  let s = "";
  const n = r.int(1, 25);
  for (let i = 0; i < n; ++i) {
    const x = r.next();
    if (x < 0.35) s += r.pick(EMOJI_SEQ);
    else if (x < 0.6) s += codePoint(r, "emoji");
    else if (x < 0.7) s += codePoint(r, "emoji") + String.fromCodePoint(r.int(0x1f3fb, 0x1f3ff));
    else if (x < 0.75) s += codePoint(r, "emoji") + "\u200d" + codePoint(r, "emoji");
    else if (x < 0.8) s += String.fromCodePoint(r.int(0x1f1e6, 0x1f1ff), r.int(0x1f1e6, 0x1f1ff));
    else s += r.pick([" ", "", "\n", r.pick(WORDS), " " + r.pick(WORDS) + " "]);
  }
  return s;
}

function combining(r) {
  const x = r.next();
  if (x < 0.4) {
    const ws = Array.from({ length: r.int(1, 10) }, () => r.pick(NFC_WORDS));
    return ws.join(r.pick([" ", ""])).normalize("NFD");
  }
  if (x < 0.6) {
    // Hangul jamo sequences compose to syllables under NFC.
    let s = "";
    for (let i = 0; i < r.int(1, 20); ++i) {
      s += String.fromCodePoint(r.int(0x1100, 0x1112), r.int(0x1161, 0x1175));
      if (r.next() < 0.5) s += String.fromCodePoint(r.int(0x11a8, 0x11c2));
    }
    return s;
  }
  let s = "";
  for (let i = 0; i < r.int(1, 30); ++i) {
    s += r.next() < 0.6 ? String.fromCodePoint(r.int(0x61, 0x7a)) : r.pick([" ", "1", "'", "!", "\n"]);
    for (let k = r.int(0, 3); k > 0; --k) s += codePoint(r, "combining");
  }
  return s;
}

function specials(r) {
  const parts = [];
  for (let i = 0; i < r.int(1, 12); ++i) {
    const x = r.next();
    if (x < 0.35) parts.push(r.pick(SPECIALS));
    else if (x < 0.5) parts.push(r.pick(NEAR_SPECIALS));
    else if (x < 0.8) parts.push(words(r, r.int(0, 6)));
    else parts.push(r.pick(WHITESPACE));
  }
  return parts.join(r.pick(["", " ", "\n"]));
}

function longRun(r) {
  const unit = r.pick(["a", "ab", "xyz", "9", "12", " ", "\t", "\n", "!", "=-", "é", "中", "😀", "ـ",
                       "Ab1", " a", "\u3000", "'s", "<|", "ــ", "ab ", "\r\n"]);
  const n = r.int(50, 2000);
  let s = unit.repeat(Math.ceil(n / unit.length));
  if (r.next() < 0.5) s = r.pick(WORDS) + " " + s + " " + r.pick(WORDS);
  return s;
}

function base64ish(r) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_";
  return Array.from({ length: r.int(20, 600) }, () => alphabet[r.int(0, alphabet.length - 1)]).join("");
}

function utf8Of(s) {
  return new Uint8Array(Buffer.from(s, "utf8"));
}

// Ill-formed UTF-8 built from units that cannot fuse into unintended characters.
function invalidBytes(r) {
  const out = [];
  for (let i = 0; i < r.int(1, 20); ++i) {
    const x = r.next();
    if (x < 0.3) out.push(...utf8Of(r.pick([r.pick(WORDS), " ", "\n", "中文", "é", "😀", "<|im_end|>"])));
    else if (x < 0.45) for (let k = r.int(1, 3); k > 0; --k) out.push(r.int(0x80, 0xbf));
    else if (x < 0.55) out.push(r.pick([0xc0, 0xc1, 0xf5, 0xf8, 0xfe, 0xff]));
    else if (x < 0.75) {
      const full = utf8Of(codePoint(r, r.pick(["cjk", "emoji", "greek", "hangul", "cjkExtB"])));
      out.push(...full.slice(0, r.int(1, full.length - 1)), 0x20 + r.int(1, 90));
    } else if (x < 0.85) out.push(...r.pick([[0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xe0, 0x80, 0xaf],
                                           [0xf0, 0x80, 0x80, 0xaf], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf]]));
    else out.push(0x41 + r.int(0, 25));
  }
  if (r.next() < 0.3) {
    const full = utf8Of(codePoint(r, "cjk"));
    out.push(...full.slice(0, r.int(1, 2)));  // truncated at the very end
  }
  return new Uint8Array(out);
}

function passages(r, corpusDir) {
  const cases = [];
  const files = fs.readdirSync(corpusDir).filter((f) => f.endsWith(".txt")).sort();
  for (const f of files) {
    const text = fs.readFileSync(path.join(corpusDir, f), "utf8");
    let pos = 0;
    while (pos < text.length) {
      let end = Math.min(text.length, pos + r.int(100, 6000));
      // Never split a surrogate pair (the line protocol carries well-formed strings).
      if (end < text.length && /[\ud800-\udbff]/.test(text[end - 1])) ++end;
      cases.push({ kind: "prose", text: text.slice(pos, end) });
      pos = end;
    }
  }
  return cases;
}

export function buildCorpus(corpusDir) {
  const r = rng(0xc0ffee);
  const cases = [];
  const add = (kind, n, gen) => {
    for (let i = 0; i < n; ++i) cases.push({ kind, text: gen() });
  };
  add("words", 2000, () => words(r, r.int(1, 80)));
  add("numbers", 1500, () => numberText(r));
  add("code", 1500, () => code(r));
  add("whitespace", 2500, () => whitespaceMix(r));
  add("cjk", 1500, () => cjk(r));
  add("emoji", 1500, () => emoji(r));
  add("combining", 1500, () => combining(r));
  add("specials", 1500, () => specials(r));
  add("unicode", 3000, () => randomUnicode(r, r.int(1, 120)));
  add("long", 150, () => longRun(r));
  add("base64", 200, () => base64ish(r));
  add("mixed", 1500, () =>
    Array.from({ length: r.int(2, 6) }, () =>
      r.pick([() => words(r, 10), () => numberText(r), () => code(r), () => cjk(r), () => emoji(r),
              () => combining(r), () => specials(r), () => whitespaceMix(r),
              () => randomUnicode(r, 30)])()).join(r.pick(["", " ", "\n", "\t"])));
  for (let i = 0; i < 1500; ++i) cases.push({ kind: "invalid_utf8", bytes: invalidBytes(r) });
  cases.push({ kind: "edge", text: "" }, { kind: "edge", text: " " }, { kind: "edge", text: "\n" },
             { kind: "edge", text: "\u0000" }, { kind: "edge", text: "a\u0000b" });
  cases.push(...passages(r, corpusDir));
  return cases;
}
