#include "arena/submission.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace cacheon::arena {
namespace {

using json = nlohmann::json;

Error err(std::string_view code, std::string message) {
  return {std::string(code), std::move(message)};
}

// The payload's fields beyond the JSON shape.
Status validate_payload(const CommitmentPayload& p) {
  if (p.version != kCommitmentVersion)
    return err(submission_code::kBadVersion, "commitment version " + std::to_string(p.version) +
                                                 " is not supported (expected " +
                                                 std::to_string(kCommitmentVersion) + ")");
  Result<ImageRef> ref = parse_image_reference(p.image);
  if (!ref) return ref.error();
  if (Status s = validate_digest(p.digest); !s) return s;
  if (!ref->digest.empty() && ref->digest != p.digest)
    return err(submission_code::kDigestMismatch, "image reference pins " + ref->digest +
                                                     " but the commitment's digest is " + p.digest);
  if (Status s = validate_transfer_id(p.payment_proof); !s) return s;
  return Status::Ok();
}

Result<std::string> string_field(const json& j, const char* key) {
  const json& v = j.at(key);
  if (!v.is_string())
    return err(submission_code::kBadField, std::string("field \"") + key + "\" must be a string");
  return v.get<std::string>();
}

}  // namespace

Result<CommitmentPayload> parse_commitment(std::string_view data) {
  if (data.size() > kMaxCommitmentBytes)
    return err(submission_code::kTooLarge, "commitment is " + std::to_string(data.size()) +
                                               " bytes, more than " +
                                               std::to_string(kMaxCommitmentBytes));
  // The callback sees every key of the top-level object: repeated keys are an error (the library
  // would silently keep the last one).
  std::set<std::string> keys;
  bool repeated = false;
  json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 &&
        !keys.insert(parsed.get<std::string>()).second)
      repeated = true;
    return true;
  };
  const json j = json::parse(data.begin(), data.end(), on_event, /*allow_exceptions=*/false);
  if (j.is_discarded()) return err(submission_code::kBadJson, "commitment is not valid JSON");
  if (!j.is_object()) return err(submission_code::kBadJson, "commitment is not a JSON object");
  if (repeated) return err(submission_code::kBadField, "commitment repeats a key");
  static const std::set<std::string> kKeys = {"digest", "image", "payment_proof", "version"};
  for (const auto& [key, value] : j.items())
    if (!kKeys.count(key))
      return err(submission_code::kBadField,
                 "unknown field in commitment (expected exactly digest, image, payment_proof, "
                 "version)");
  for (const std::string& key : kKeys)
    if (!j.contains(key))
      return err(submission_code::kBadField, "commitment lacks field \"" + key + "\"");

  CommitmentPayload p;
  const json& version = j.at("version");
  if (!version.is_number_integer())
    return err(submission_code::kBadField, "field \"version\" must be an integer");
  if (version.is_number_unsigned() ? version.get<uint64_t>() != uint64_t(kCommitmentVersion)
                                   : version.get<int64_t>() != kCommitmentVersion)
    return err(submission_code::kBadVersion, "commitment version " + version.dump() +
                                                 " is not supported (expected " +
                                                 std::to_string(kCommitmentVersion) + ")");
  Result<std::string> image = string_field(j, "image");
  if (!image) return image.error();
  Result<std::string> digest = string_field(j, "digest");
  if (!digest) return digest.error();
  Result<std::string> proof = string_field(j, "payment_proof");
  if (!proof) return proof.error();
  p.image = std::move(*image);
  p.digest = std::move(*digest);
  p.payment_proof = std::move(*proof);
  if (Status s = validate_payload(p); !s) return s.error();
  return p;
}

Result<std::string> serialize_commitment(const CommitmentPayload& payload) {
  if (Status s = validate_payload(payload); !s) return s.error();
  // nlohmann's object is an ordered map by key: the output is canonical.
  const json j = {{"version", payload.version},
                  {"image", payload.image},
                  {"digest", payload.digest},
                  {"payment_proof", payload.payment_proof}};
  std::string out = j.dump();
  if (out.size() > kMaxCommitmentBytes)
    return err(submission_code::kTooLarge, "serialized commitment is " +
                                               std::to_string(out.size()) + " bytes, more than " +
                                               std::to_string(kMaxCommitmentBytes));
  return out;
}

SubmissionScan submissions_from_commitments(std::span<const CommitmentRecord> commitments) {
  // Key -> the last record with that key (input order), as the chain stores it.
  std::map<std::pair<BlockNumber, std::string>, const CommitmentRecord*> last;
  for (const CommitmentRecord& c : commitments) last[{c.block, c.hotkey}] = &c;

  SubmissionScan scan;
  for (const auto& [key, c] : last) {
    if (c->hotkey.empty() || c->hotkey.size() > kMaxHotkeyBytes) {
      scan.rejections.push_back({c->hotkey.substr(0, kMaxHotkeyBytes), c->block,
                                 std::string(submission_code::kBadHotkey),
                                 "commitment's hotkey is empty or longer than " +
                                     std::to_string(kMaxHotkeyBytes) + " bytes"});
      continue;
    }
    Result<CommitmentPayload> p = parse_commitment(c->data);
    if (!p) {
      scan.rejections.push_back({c->hotkey, c->block, p.error().code, p.error().message});
      continue;
    }
    Submission s;
    s.hotkey = c->hotkey;
    s.commit_block = c->block;
    s.image = parse_image_reference(p->image)->name();  // valid: parse_commitment checked it
    s.digest = std::move(p->digest);
    s.payment_proof = std::move(p->payment_proof);
    scan.submissions.push_back(std::move(s));
  }
  return scan;
}

std::vector<Submission> current_submissions(std::span<const Submission> submissions) {
  std::map<std::string, const Submission*> latest;
  for (const Submission& s : submissions) {
    auto [it, inserted] = latest.emplace(s.hotkey, &s);
    if (!inserted && s.commit_block >= it->second->commit_block) it->second = &s;
  }
  std::vector<Submission> out;
  out.reserve(latest.size());
  for (const auto& [hotkey, s] : latest) out.push_back(*s);
  return out;
}

}  // namespace cacheon::arena
