#include "openai/chat_request.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include <nlohmann/json.hpp>

namespace cacheon::openai {

using nlohmann::json;

std::string to_json(const ChatRequest& req) {
  json j = json::object();
  if (!req.model.empty()) j["model"] = req.model;
  json msgs = json::array();
  for (const auto& m : req.messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
  j["messages"] = std::move(msgs);
  j["stream"] = req.stream;
  if (req.max_tokens) j["max_tokens"] = *req.max_tokens;
  j["temperature"] = req.temperature;
  if (req.top_p) j["top_p"] = *req.top_p;
  if (req.top_k) j["top_k"] = *req.top_k;
  if (req.seed) j["seed"] = *req.seed;
  if (!req.stop.empty()) j["stop"] = req.stop;
  if (req.logprobs) j["logprobs"] = true;
  if (req.top_logprobs) j["top_logprobs"] = *req.top_logprobs;
  if (req.include_usage) j["stream_options"] = {{"include_usage", true}};
  if (req.ignore_eos) j["ignore_eos"] = true;
  if (req.min_tokens != 0) j["min_tokens"] = req.min_tokens;
  if (req.n != 1) j["n"] = req.n;
  if (!req.add_generation_prompt) j["add_generation_prompt"] = false;
  if (req.prompt_logprobs) j["prompt_logprobs"] = *req.prompt_logprobs;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

// Parsing state: the first failure wins; `param` remembers which parameter it was about.
struct Checker {
  std::string param;
  std::string message;
  bool failed = false;

  bool fail(std::string p, std::string msg) {
    if (!failed) {
      failed = true;
      message = "'" + p + "' " + msg;
      param = std::move(p);
    }
    return false;
  }
};

const json* field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

bool get_bool(Checker& c, const json& obj, const char* key, bool& out) {
  const json* v = field(obj, key);
  if (!v) return true;
  if (!v->is_boolean()) return c.fail(key, "must be a boolean");
  out = v->get<bool>();
  return true;
}

// Integers only (10.0 is rejected, as is anything outside [lo, hi]).
bool get_int(Checker& c, const std::string& name, const json* v, int64_t lo, int64_t hi,
             int64_t& out) {
  if (v->is_number_unsigned()) {
    const auto u = v->get<uint64_t>();
    if (u > uint64_t(std::numeric_limits<int64_t>::max()) || int64_t(u) > hi) {
      return c.fail(name, "must be at most " + std::to_string(hi));
    }
    out = int64_t(u);
  } else if (v->is_number_integer()) {
    out = v->get<int64_t>();
  } else {
    return c.fail(name, "must be an integer");
  }
  if (out < lo) return c.fail(name, "must be at least " + std::to_string(lo));
  if (out > hi) return c.fail(name, "must be at most " + std::to_string(hi));
  return true;
}

bool get_number(Checker& c, const char* name, const json* v, double lo, double hi, bool lo_open,
                double& out) {
  if (!v->is_number()) return c.fail(name, "must be a number");
  out = v->get<double>();
  if (!std::isfinite(out) || out > hi || out < lo || (lo_open && out == lo)) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "must be in %s%g, %g]", lo_open ? "(" : "[", lo, hi);
    return c.fail(name, buf);
  }
  return true;
}

bool parse_content(Checker& c, const std::string& name, const json& v, std::string& out) {
  if (v.is_string()) {
    out = v.get<std::string>();
    return true;
  }
  if (!v.is_array()) return c.fail(name, "must be a string or an array of text parts");
  // Content parts: OpenAI clients may send [{"type":"text","text":"..."}]; text is concatenated.
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string pn = name + "[" + std::to_string(i) + "]";
    const json& part = v[i];
    if (!part.is_object()) return c.fail(pn, "must be an object");
    const json* type = field(part, "type");
    if (!type || !type->is_string()) return c.fail(pn + ".type", "must be a string");
    if (*type != "text") return c.fail(pn + ".type", "must be \"text\" (only text is supported)");
    const json* text = field(part, "text");
    if (!text || !text->is_string()) return c.fail(pn + ".text", "must be a string");
    out += text->get_ref<const std::string&>();
  }
  return true;
}

bool parse_messages(Checker& c, const json& body, std::vector<ChatMessage>& out) {
  const json* msgs = field(body, "messages");
  if (!msgs) return c.fail("messages", "is required");
  if (!msgs->is_array()) return c.fail("messages", "must be an array");
  if (msgs->empty()) return c.fail("messages", "must not be empty");
  out.reserve(msgs->size());
  for (size_t i = 0; i < msgs->size(); ++i) {
    const std::string name = "messages[" + std::to_string(i) + "]";
    const json& m = (*msgs)[i];
    if (!m.is_object()) return c.fail(name, "must be an object");
    const json* role = field(m, "role");
    if (!role) return c.fail(name + ".role", "is required");
    if (!role->is_string()) return c.fail(name + ".role", "must be a string");
    const auto& r = role->get_ref<const std::string&>();
    if (r != "system" && r != "developer" && r != "user" && r != "assistant") {
      return c.fail(name + ".role",
                    "must be one of system, developer, user, assistant (got \"" + r + "\")");
    }
    ChatMessage msg;
    msg.role = r;
    const json* content = field(m, "content");
    if (!content) {
      // An assistant turn may carry no content; every other role must.
      if (r != "assistant") return c.fail(name + ".content", "is required");
    } else if (!parse_content(c, name + ".content", *content, msg.content)) {
      return false;
    }
    out.push_back(std::move(msg));
  }
  return true;
}

bool parse_stop(Checker& c, const json& body, std::vector<std::string>& out) {
  const json* stop = field(body, "stop");
  if (!stop) return true;
  if (stop->is_string()) {
    if (stop->get_ref<const std::string&>().empty()) return c.fail("stop", "must not be empty");
    out.push_back(stop->get<std::string>());
    return true;
  }
  if (!stop->is_array()) return c.fail("stop", "must be a string or an array of strings");
  if (stop->size() > ChatRequest::kMaxStop) {
    return c.fail("stop",
                  "must have at most " + std::to_string(ChatRequest::kMaxStop) + " entries");
  }
  for (size_t i = 0; i < stop->size(); ++i) {
    const json& s = (*stop)[i];
    const std::string name = "stop[" + std::to_string(i) + "]";
    if (!s.is_string()) return c.fail(name, "must be a string");
    if (s.get_ref<const std::string&>().empty()) return c.fail(name, "must not be empty");
    out.push_back(s.get<std::string>());
  }
  return true;
}

bool parse_body(Checker& c, const json& body, ChatRequest& r) {
  if (const json* v = field(body, "model")) {
    if (!v->is_string()) return c.fail("model", "must be a string");
    r.model = v->get<std::string>();
  }
  if (!parse_messages(c, body, r.messages)) return false;
  if (!get_bool(c, body, "stream", r.stream)) return false;

  int64_t iv = 0;
  const json* mt = field(body, "max_tokens");
  const json* mct = field(body, "max_completion_tokens");
  if (mt) {
    if (!get_int(c, "max_tokens", mt, 1, ChatRequest::kMaxTokensLimit, iv)) return false;
    r.max_tokens = iv;
  }
  if (mct) {
    if (!get_int(c, "max_completion_tokens", mct, 1, ChatRequest::kMaxTokensLimit, iv)) {
      return false;
    }
    if (r.max_tokens && *r.max_tokens != iv) {
      return c.fail("max_completion_tokens", "differs from 'max_tokens'; send one of them");
    }
    r.max_tokens = iv;
  }

  double dv = 0;
  if (const json* v = field(body, "temperature")) {
    if (!get_number(c, "temperature", v, 0.0, 2.0, false, dv)) return false;
    r.temperature = dv;
  }
  if (const json* v = field(body, "top_p")) {
    if (!get_number(c, "top_p", v, 0.0, 1.0, true, dv)) return false;
    r.top_p = dv;
  }
  if (const json* v = field(body, "top_k")) {
    if (!get_int(c, "top_k", v, -1, std::numeric_limits<int32_t>::max(), iv)) return false;
    r.top_k = iv;
  }
  if (const json* v = field(body, "seed")) {
    if (!get_int(c, "seed", v, std::numeric_limits<int64_t>::min(),
                 std::numeric_limits<int64_t>::max(), iv)) {
      return false;
    }
    r.seed = iv;
  }
  if (!parse_stop(c, body, r.stop)) return false;
  if (!get_bool(c, body, "logprobs", r.logprobs)) return false;
  if (const json* v = field(body, "top_logprobs")) {
    if (!get_int(c, "top_logprobs", v, 0, ChatRequest::kMaxTopLogprobs, iv)) return false;
    if (!r.logprobs) return c.fail("top_logprobs", "requires 'logprobs' to be true");
    r.top_logprobs = int(iv);
  }
  if (const json* so = field(body, "stream_options")) {
    if (!so->is_object()) return c.fail("stream_options", "must be an object");
    if (!r.stream) return c.fail("stream_options", "is only allowed when 'stream' is true");
    if (const json* v = field(*so, "include_usage")) {
      if (!v->is_boolean()) return c.fail("stream_options.include_usage", "must be a boolean");
      r.include_usage = v->get<bool>();
    }
  }
  if (!get_bool(c, body, "ignore_eos", r.ignore_eos)) return false;
  if (const json* v = field(body, "min_tokens")) {
    if (!get_int(c, "min_tokens", v, 0, ChatRequest::kMaxTokensLimit, iv)) return false;
    if (r.max_tokens && iv > *r.max_tokens) {
      return c.fail("min_tokens", "must not exceed 'max_tokens'");
    }
    r.min_tokens = iv;
  }
  if (const json* v = field(body, "n")) {
    if (!get_int(c, "n", v, 1, std::numeric_limits<int32_t>::max(), iv)) return false;
    if (iv != 1) return c.fail("n", "must be 1 (one choice per request is supported)");
  }
  if (!get_bool(c, body, "add_generation_prompt", r.add_generation_prompt)) return false;
  if (const json* v = field(body, "prompt_logprobs")) {
    if (!get_int(c, "prompt_logprobs", v, 0, ChatRequest::kMaxTopLogprobs, iv)) return false;
    r.prompt_logprobs = int(iv);
  }
  return true;
}

}  // namespace

Result<ChatRequest> parse_chat_request(std::string_view body, std::string* param) {
  if (param) param->clear();
  // No exceptions: a malformed body (including invalid UTF-8 in strings) yields a discarded value.
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Error{"invalid_request", "request body is not valid JSON"};
  if (!doc.is_object()) return Error{"invalid_request", "request body must be a JSON object"};
  Checker c;
  ChatRequest r;
  if (!parse_body(c, doc, r)) {
    if (param) *param = c.param;
    return Error{"invalid_request", c.message};
  }
  return r;
}

}  // namespace cacheon::openai
