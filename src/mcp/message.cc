#include "mcp/message.h"

#include <atomic>

namespace mcp {
namespace {

std::atomic<uint64_t> g_decoded{0};

template <typename J>
J* find_meta_entry(J& body, std::string_view key) {
  auto params = body.find("params");
  if (params == body.end() || !params->is_object()) return nullptr;
  auto meta = params->find("_meta");
  if (meta == params->end() || !meta->is_object()) return nullptr;
  auto entry = meta->find(key);
  return entry == meta->end() ? nullptr : &*entry;
}

}  // namespace

const Json* Message::meta_entry(std::string_view key) const {
  return body.is_object() ? find_meta_entry(body, key) : nullptr;
}

Json* Message::meta_entry(std::string_view key) {
  return body.is_object() ? find_meta_entry(body, key) : nullptr;
}

Message decode(std::string_view text) {
  g_decoded.fetch_add(1, std::memory_order_relaxed);
  Message message;
  message.body = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (message.body.is_discarded()) {
    message.problem = Message::Problem::kNotJson;
  } else if (message.body.is_array()) {
    message.problem = Message::Problem::kBatch;
  } else if (!message.body.is_object()) {
    message.problem = Message::Problem::kNotObject;
  } else if (nested_deeper_than(text, kMaxNesting)) {
    // Before anything copies or dumps the value: recursion per level would overflow the stack.
    message.problem = Message::Problem::kTooDeep;
  } else if (message.meta_entry(meta_key::kProtocolVersion) != nullptr) {
    message.era = Era::kModern;
  }
  return message;
}

uint64_t decoded_count() { return g_decoded.load(std::memory_order_relaxed); }

}  // namespace mcp
