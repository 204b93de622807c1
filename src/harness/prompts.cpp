#include "harness/prompts.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "core/sha256.h"
#include "harness/rng.h"

namespace cacheon::harness {

namespace {

// ---- UTF-8 and text boundaries (inputs are valid UTF-8: the corpus is validated on load) ----

size_t seq_len(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

uint32_t decode(std::string_view s, size_t i, size_t* len) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n = std::min(seq_len(c), s.size() - i);
  uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  *len = n;
  return cp;
}

size_t count_cps(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// Byte offset reached by advancing `n` code points from `i` (clamped to the end).
size_t advance_cps(std::string_view s, size_t i, size_t n) {
  while (i < s.size() && n > 0) {
    i += seq_len(static_cast<unsigned char>(s[i]));
    --n;
  }
  return std::min(i, s.size());
}

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || is_upper(c); }

// Length of a closing quote or bracket at i (ASCII or curly), 0 if none.
size_t closer_at(std::string_view t, size_t i) {
  if (i >= t.size()) return 0;
  char c = t[i];
  if (c == '"' || c == '\'' || c == ')' || c == ']') return 1;
  if (t.substr(i, 3) == "\xE2\x80\x9D" || t.substr(i, 3) == "\xE2\x80\x99") return 3;
  return 0;
}

// A sentence can start at i: an uppercase letter, digit or opening quote.
bool starts_sentence(std::string_view t, size_t i) {
  if (i >= t.size()) return false;
  char c = t[i];
  if (is_upper(c) || (c >= '0' && c <= '9') || c == '"' || c == '\'' || c == '(') return true;
  return t.substr(i, 3) == "\xE2\x80\x9C" || t.substr(i, 3) == "\xE2\x80\x98";
}

// "Mr." or "J." is not the end of a sentence.
bool abbreviation_before(std::string_view t, size_t dot) {
  size_t b = dot;
  while (b > 0 && is_alpha(t[b - 1])) --b;
  std::string_view w = t.substr(b, dot - b);
  if (w.size() == 1) return true;
  static const std::unordered_set<std::string_view> kAbbrev = {
      "Mr", "Mrs", "Ms", "Dr", "St", "Messrs", "Mme", "Mlle", "Jr", "Sr", "Prof", "Rev",
      "Gen", "Col", "Capt", "Lt", "No", "vol", "viz", "cf", "ch", "pp", "Vol", "Ch"};
  return kAbbrev.count(w) > 0;
}

constexpr size_t npos = std::string_view::npos;

// If a sentence ends with the character at i, the offset just past it (and any closing quotes),
// else npos.
size_t sentence_end_after(std::string_view t, size_t i) {
  char c = t[i];
  if (c != '.' && c != '!' && c != '?') return npos;
  if (c == '.' && (abbreviation_before(t, i) || (i + 1 < t.size() && t[i + 1] == '.'))) {
    return npos;
  }
  size_t j = i + 1;
  while (size_t k = closer_at(t, j)) j += k;
  return (j == t.size() || is_space(t[j])) ? j : npos;
}

// Moves a passage start forward (at most `window` bytes) to a paragraph start, else a sentence
// start, else a word start. npos when there is none.
size_t align_start(std::string_view t, size_t s, size_t window) {
  if (s == 0) return 0;
  const size_t limit = std::min(t.size(), s + window);
  for (size_t p = std::max<size_t>(s, 2); p < limit; ++p) {
    if (t[p - 1] == '\n' && t[p - 2] == '\n' && !is_space(t[p])) return p;
  }
  for (size_t i = s - 1; i < limit; ++i) {
    size_t j = sentence_end_after(t, i);
    if (j == npos) continue;
    while (j < t.size() && is_space(t[j])) ++j;
    if (j >= s && j < limit && starts_sentence(t, j)) return j;
  }
  for (size_t p = s; p < limit; ++p) {
    if (is_space(t[p - 1]) && !is_space(t[p])) return p;
  }
  return npos;
}

// Moves a passage end back (at most `window` bytes, never to or before `start`) to a paragraph
// end, else a sentence end, else a word end. npos when there is none.
size_t align_end(std::string_view t, size_t start, size_t e, size_t window) {
  if (e >= t.size()) {
    e = t.size();
    while (e > start && is_space(t[e - 1])) --e;
    return e > start ? e : npos;
  }
  const size_t lo = std::max(start + 1, e > window ? e - window : 0);
  for (size_t p = e; p > lo; --p) {
    if (t[p] == '\n' && p + 1 < t.size() && t[p + 1] == '\n' && !is_space(t[p - 1])) return p;
  }
  for (size_t i = e; i-- > lo;) {
    size_t j = sentence_end_after(t, i);
    if (j != npos && j <= e) return j;
  }
  for (size_t p = e; p > lo; --p) {
    if (is_space(t[p]) && !is_space(t[p - 1])) return p;
  }
  return npos;
}

// The first `cps` code points of `text`, cut back to a sentence end in the last 1% (at most 1200
// bytes) or else to a word end; "" if there is no boundary.
std::string cut_passage(std::string_view text, size_t cps) {
  size_t e = advance_cps(text, 0, cps);
  if (e >= text.size()) return std::string(text);
  size_t window = std::min<size_t>(1200, std::max<size_t>(4, e / 100));
  for (size_t i = e; i-- > (e > window ? e - window : 0);) {
    size_t j = sentence_end_after(text, i);
    if (j != npos && j <= e) return std::string(text.substr(0, j));
  }
  while (e > 0 && !(is_space(text[e]) && !is_space(text[e - 1]))) --e;
  return std::string(text.substr(0, e));
}

// ---- Quality filter ----

bool letter_cp(uint32_t cp) {
  if (cp < 0x80) return is_alpha(static_cast<char>(cp));
  if (cp < 0xC0) return false;
  if (cp <= 0x24F) return cp != 0xD7 && cp != 0xF7;
  if (cp < 0x370) return false;
  if ((cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F)) return false;
  if ((cp >= 0xE000 && cp <= 0xF8FF) || (cp >= 0xFE00 && cp <= 0xFE6F)) return false;
  if ((cp >= 0xFF00 && cp <= 0xFF20) || cp == 0xFFFD || cp >= 0x1F000) return false;
  return true;
}

bool space_cp(uint32_t cp) {
  return cp == ' ' || cp == '\n' || cp == '\t' || cp == '\r' || cp == '\f' || cp == 0xA0 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x3000;
}

}  // namespace

std::string passage_quality_issue(std::string_view p) {
  if (!valid_utf8(p)) return "invalid_utf8";
  size_t total = 0, spaces = 0, letters = 0, upper = 0, digits = 0, markup = 0, replacement = 0;
  size_t words = 0, word_letters = 0;
  bool in_word = false;
  for (size_t i = 0; i < p.size();) {
    size_t len = 0;
    uint32_t cp = decode(p, i, &len);
    i += len;
    ++total;
    if ((cp < 0x20 && cp != '\n' && cp != '\t' && cp != '\r') || (cp >= 0x7F && cp < 0xA0)) {
      return "control_chars";
    }
    bool letter = letter_cp(cp);
    if (letter) {
      ++letters;
      ++word_letters;
      if (!in_word) ++words;
      if ((cp >= 'A' && cp <= 'Z') || (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)) ++upper;
    }
    // Apostrophes and hyphens keep a word going ("don't", "well-known").
    if (!letter && cp != '\'' && cp != '-' && cp != 0x2019) in_word = false;
    if (letter) in_word = true;
    if (space_cp(cp)) ++spaces;
    if (cp >= '0' && cp <= '9') ++digits;
    if (cp == 0xFFFD) ++replacement;
    if (cp < 0x80 && std::string_view("<>{}[]|\\=_*#@~^`").find(static_cast<char>(cp)) != npos) {
      ++markup;
    }
  }
  const size_t visible = total - spaces;
  if (visible == 0) return "empty";
  if (replacement > 2) return "replacement_chars";
  if (letters < visible * 70 / 100) return "few_letters";
  if (digits > visible / 10) return "many_digits";
  if (markup > visible / 50) return "markup";
  if (letters >= 50 && upper > letters * 30 / 100) return "mostly_uppercase";
  if (words > 0 && word_letters > words * 12) return "long_words";
  if (visible >= 200 && spaces < total / 12) return "few_spaces";

  // Line shape: layouts of short lines (verse, lists, tables, tables of contents) and repeated
  // lines (boilerplate, headers) make poor prose prompts.
  size_t lines = 0, line_chars = 0, short_chars = 0, repeated = 0;
  std::unordered_set<std::string_view> seen;
  for (size_t b = 0; b < p.size();) {
    size_t e = p.find('\n', b);
    if (e == npos) e = p.size();
    std::string_view line = p.substr(b, e - b);
    b = e + 1;
    while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
    while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
    if (line.empty()) continue;
    ++lines;
    size_t cps = count_cps(line);
    line_chars += cps;
    if (cps < 40) short_chars += cps;
    // Short repeats ("Yes.", "CHAPTER I.") are natural; long ones are boilerplate.
    if (cps >= 20 && !seen.insert(line).second) ++repeated;
  }
  if (lines >= 8 && short_chars * 2 > line_chars) return "short_lines";
  if (lines >= 8 && repeated > std::max<size_t>(3, lines / 10)) return "repeated_lines";

  // Degenerate repetition of a few words ("the the the ...") that passes every check above.
  if (words >= 200) {
    std::unordered_set<std::string> distinct;
    std::string w;
    for (size_t i = 0; i <= p.size(); ++i) {
      char c = i < p.size() ? p[i] : ' ';
      if (is_alpha(c) || (static_cast<unsigned char>(c) >= 0x80)) {
        w.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
      } else if (!w.empty()) {
        distinct.insert(w);
        w.clear();
      }
    }
    if (distinct.size() * 10 < words) return "repetitive_words";
  }
  return "";
}

// ---- Templates ----

namespace {

struct Template {
  const char* id;
  const char* task;
};

// The passage is framed the same way in every template; only the task differs. Each task asks
// for well over 512 tokens so that generation runs to max_tokens.
const Template kTemplates[] = {
    {"summarize",
     "Write a detailed summary of the passage above. Go through it in order, give each part its "
     "own paragraph, and mention every person, place, idea and event it contains. Your summary "
     "should be at least 800 words long."},
    {"questions",
     "Write fifteen thoughtful questions about the passage above and answer each one in a full "
     "paragraph that cites details from the text. Number the questions."},
    {"key_facts",
     "Extract every fact, claim and event stated in the passage above as a numbered list. After "
     "each item, add two or three sentences explaining its significance in the passage. Be "
     "exhaustive."},
    {"continue",
     "Continue the text from exactly where the passage above ends. Match its style, vocabulary "
     "and point of view, keep the same characters or subject, and write at least 1,000 words."},
    {"rewrite_modern",
     "Rewrite the passage above in clear, plain modern English for a present-day reader. Keep "
     "every idea, event and detail, go paragraph by paragraph, and do not shorten it."},
    {"critique",
     "Write a critical essay of at least 800 words on the passage above. Discuss its argument or "
     "story, its structure, its style and tone, what it does well and where it falls short, "
     "quoting short phrases as evidence."},
    {"translate",
     "Translate the passage above into French, paragraph by paragraph, as faithfully as you "
     "can. Then add a short note on the phrases that were hardest to translate and why."},
    {"entities",
     "List every person, place, organisation, object and concept named in the passage above. "
     "For each one, write a short paragraph describing who or what it is and the role it plays "
     "in the passage."},
    {"explain",
     "Explain the passage above to a curious high-school student. Define difficult words, give "
     "the historical or scientific background a modern reader needs, and walk through the text "
     "section by section. Aim for at least 800 words."},
    {"outline",
     "Write a detailed hierarchical outline of the passage above, with numbered main points and "
     "lettered sub-points. Then expand each main point into a full paragraph of explanation."},
    {"themes",
     "Identify the main themes and ideas of the passage above. Discuss each theme at length in "
     "its own section, support it with short quotations, and explain how the themes relate to "
     "one another."},
    {"dialogue",
     "Retell the content of the passage above as a long dialogue between a teacher and a "
     "student who discuss it in detail, covering every important point in order. Write at least "
     "800 words."},
};
constexpr size_t kTemplateCount = sizeof(kTemplates) / sizeof(kTemplates[0]);

std::string render_content(const Template& t, std::string_view passage) {
  std::string s = "Here is a passage:\n\n<passage>\n";
  s += passage;
  s += "\n</passage>\n\n";
  s += t.task;
  return s;
}

const Template* find_template(std::string_view id) {
  for (const Template& t : kTemplates) {
    if (id == t.id) return &t;
  }
  return nullptr;
}

}  // namespace

const std::vector<std::string>& prompt_template_ids() {
  static const std::vector<std::string> ids = [] {
    std::vector<std::string> v;
    for (const Template& t : kTemplates) v.emplace_back(t.id);
    return v;
  }();
  return ids;
}

Result<std::vector<ChatMessage>> render_prompt(std::string_view template_id,
                                               std::string_view passage) {
  const Template* t = find_template(template_id);
  if (!t) return Error{"unknown_template", "no prompt template \"" + std::string(template_id) + "\""};
  return std::vector<ChatMessage>{ChatMessage{"user", render_content(*t, passage)}};
}

// ---- Prompt set ----

namespace {

struct Span {
  size_t doc, begin, end;
};

Status check_spec(const PromptSpec& s) {
  auto bad = [](const std::string& m) { return Status(Error{"bad_prompt_spec", m}); };
  if (s.warmup < 0 || s.scored < 0 || s.warmup + s.scored < 1 || s.warmup + s.scored > 10000) {
    return bad("need 1..10000 prompts in all (warmup " + std::to_string(s.warmup) + ", scored " +
               std::to_string(s.scored) + ")");
  }
  if (s.input_tokens < 1 || s.input_tokens > 10'000'000) {
    return bad("input_tokens must be in 1..10000000");
  }
  if (s.output_tokens < 1 || s.output_tokens > 10'000'000) {
    return bad("output_tokens must be in 1..10000000");
  }
  if (!(s.chars_per_token >= 0.5 && s.chars_per_token <= 32)) {
    return bad("chars_per_token must be in 0.5..32");
  }
  return Status::Ok();
}

}  // namespace

Result<PromptSet> make_prompt_set(const Corpus& corpus, std::string_view block_hash_hex,
                                  const PromptSpec& spec) {
  if (Status st = check_spec(spec); !st) return st.error();
  Result<uint64_t> seed = seed_from_block_hash(block_hash_hex);
  if (!seed) return seed.error();

  PromptSet set;
  set.block_hash = "0x" + hex_encode(*hex_decode(block_hash_hex));
  set.seed = *seed;
  set.corpus_id = corpus.id();

  const auto& docs = corpus.documents();
  Rng rng(*seed);
  std::vector<Span> taken;
  const int total = spec.warmup + spec.scored;
  for (int index = 0; index < total; ++index) {
    const Template& tmpl = kTemplates[rng.uniform(kTemplateCount)];
    const double budget = spec.input_tokens * spec.chars_per_token -
                          static_cast<double>(count_cps(render_content(tmpl, "")));
    const size_t length = static_cast<size_t>(std::max(200.0, std::floor(budget)));

    // Documents long enough for a passage, weighted by size (exact integer arithmetic).
    std::vector<size_t> eligible;
    std::vector<uint64_t> cumulative;
    uint64_t weight = 0;
    for (size_t d = 0; d < docs.size(); ++d) {
      if (docs[d].text.size() < length) continue;
      weight += docs[d].text.size();
      eligible.push_back(d);
      cumulative.push_back(weight);
    }
    if (eligible.empty()) {
      return Error{"corpus_insufficient", "no corpus document has the " + std::to_string(length) +
                                              " characters a passage needs"};
    }

    std::string last_reason;
    bool accepted = false;
    for (int draw = 0; draw < kMaxDrawsPerPrompt && !accepted; ++draw) {
      const uint64_t r = rng.uniform(weight);
      const size_t pick = static_cast<size_t>(
          std::upper_bound(cumulative.begin(), cumulative.end(), r) - cumulative.begin());
      const size_t d = eligible[pick];
      const std::string_view text = docs[d].text;
      const size_t raw_start = static_cast<size_t>(rng.uniform(text.size() - length + 1));

      size_t start = align_start(text, raw_start, std::max<size_t>(200, length / 4));
      if (start == npos || start >= text.size()) {
        last_reason = "no_boundary";
        continue;
      }
      size_t end = align_end(text, start, advance_cps(text, start, length),
                             std::max<size_t>(100, length / 10));
      if (end == npos) {
        last_reason = "no_boundary";
        continue;
      }
      std::string_view passage = text.substr(start, end - start);
      if (count_cps(passage) * 100 < length * 85) {
        last_reason = "too_short";
        continue;
      }
      bool overlaps = std::any_of(taken.begin(), taken.end(), [&](const Span& s) {
        return s.doc == d && start < s.end && s.begin < end;
      });
      if (overlaps) {
        last_reason = "overlap";
        continue;
      }
      if (std::string issue = passage_quality_issue(passage); !issue.empty()) {
        last_reason = issue;
        continue;
      }
      taken.push_back({d, start, end});
      Prompt p;
      p.index = index;
      p.warmup = index < spec.warmup;
      p.template_id = tmpl.id;
      p.passage = std::string(passage);
      p.messages = {ChatMessage{"user", render_content(tmpl, passage)}};
      p.target_input_tokens = spec.input_tokens;
      p.max_tokens = spec.output_tokens;
      p.document = docs[d].name;
      p.offset = start;
      set.prompts.push_back(std::move(p));
      accepted = true;
    }
    if (!accepted) {
      return Error{"corpus_insufficient",
                   "no acceptable passage for prompt " + std::to_string(index) + " after " +
                       std::to_string(kMaxDrawsPerPrompt) + " draws (last rejection: " +
                       last_reason + ")"};
    }
  }
  return set;
}

// ---- Trimming ----

namespace {

Status trim_one(Prompt& p, const TokenCounter& count_tokens, const TrimOptions& opt) {
  const Template* tmpl = find_template(p.template_id);
  auto fail = [&](const std::string& m) {
    return Status(Error{"trim_failed", "prompt " + std::to_string(p.index) + ": " + m});
  };
  if (!tmpl) return fail("unknown template \"" + p.template_id + "\"");
  int64_t limit = p.target_input_tokens;
  if (opt.max_model_len > 0) limit = std::min<int64_t>(limit, opt.max_model_len - p.max_tokens);
  if (limit <= 0) {
    return fail("max_tokens " + std::to_string(p.max_tokens) + " leaves no room for input in " +
                "max_model_len " + std::to_string(opt.max_model_len));
  }

  const std::string full = p.passage;
  auto measure = [&](const std::string& passage) {
    return count_tokens({ChatMessage{"user", render_content(*tmpl, passage)}});
  };
  Result<int64_t> n = measure(full);
  if (!n) return n.error();
  if (*n <= limit) {
    p.measured_input_tokens = *n;
    p.messages = {ChatMessage{"user", render_content(*tmpl, full)}};
    return Status::Ok();
  }

  if (full.empty()) return fail("the template alone is over " + std::to_string(limit) + " tokens");
  const double overhead_chars = static_cast<double>(count_cps(render_content(*tmpl, "")));
  // Longest fitting cut (if any) and shortest overflowing one, in passage code points.
  std::optional<std::string> best;
  int64_t best_tokens = 0;
  size_t fit_len = 0;
  size_t over_len = count_cps(full);
  int64_t over_tokens = *n;
  const int64_t tolerance = std::max<int64_t>(1, limit / 100);
  for (int round = 0; round < opt.max_rounds; ++round) {
    size_t want = 0;
    if (!best) {
      // Tokens scale with characters; the template's share is a fixed overhead.
      const double total_chars = overhead_chars + static_cast<double>(over_len);
      const double overhead_tokens = static_cast<double>(over_tokens) * overhead_chars / total_chars;
      const double per_char =
          (static_cast<double>(over_tokens) - overhead_tokens) / static_cast<double>(over_len);
      const double target = (static_cast<double>(limit) - overhead_tokens) * 0.995;
      want = target <= 0 || per_char <= 0 ? 0 : static_cast<size_t>(target / per_char);
      want = std::min(want, over_len - 1);
    } else {
      want = fit_len + (over_len - fit_len) / 2;
    }
    std::string cut = cut_passage(full, want);
    const size_t len = count_cps(cut);
    if (cut.empty()) {
      if (!best) return fail("even an empty passage would not fit " + std::to_string(limit) +
                             " tokens");
      break;
    }
    if (len <= fit_len || len >= over_len) break;  // no new length to try: converged
    Result<int64_t> m = measure(cut);
    if (!m) return m.error();
    if (*m <= limit) {
      best = std::move(cut);
      best_tokens = *m;
      fit_len = len;
      if (*m >= limit - tolerance) break;
    } else {
      over_len = len;
      over_tokens = *m;
    }
  }
  if (!best) {
    return fail("still " + std::to_string(over_tokens) + " tokens (limit " +
                std::to_string(limit) + ") after " + std::to_string(opt.max_rounds) + " rounds");
  }
  p.passage = std::move(*best);
  p.messages = {ChatMessage{"user", render_content(*tmpl, p.passage)}};
  p.measured_input_tokens = best_tokens;
  return Status::Ok();
}

}  // namespace

Status trim_prompts(PromptSet& set, const TokenCounter& count_tokens, const TrimOptions& options) {
  if (!count_tokens) return Error{"trim_failed", "no token counter"};
  for (Prompt& p : set.prompts) {
    if (Status st = trim_one(p, count_tokens, options); !st) return st;
  }
  return Status::Ok();
}

}  // namespace cacheon::harness
