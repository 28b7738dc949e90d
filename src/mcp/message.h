#pragma once
/// What passes between a transport and the McpServer: one incoming message decoded once (parsed,
/// its shape and depth checked, its era read), and one outgoing message as JSON, serialized once
/// by the transport that sends it.

#include <cstdint>
#include <string_view>

#include "mcp/json_rpc.h"
#include "mcp/protocol.h"

namespace mcp {

/// legacy: 2025-11-25 and before (initialize, then a session); modern: 2026-07-28 (stateless).
enum class Era { kLegacy, kModern };

/// One incoming message, decoded. Move-only: a value nested up to kMaxNesting deep may be
/// moved and destroyed (both iterative) but never copied (recursive), so it is not.
struct Message {
  /// Why the text is not a message the server can read; every transport words its own answer.
  enum class Problem {
    kNone,
    kNotJson,    // not valid JSON (`body` is discarded)
    kBatch,      // a JSON array: batches are not supported
    kNotObject,  // valid JSON but not an object
    kTooDeep,    // an object nesting deeper than kMaxNesting: only its scalar `id` may be read
  };

  Problem problem = Problem::kNone;
  Json body;  // the parsed value
  // Modern when params._meta names a protocol version (the 2026-07-28 envelope); read only
  // when `problem` is kNone.
  Era era = Era::kLegacy;

  Message() = default;
  Message(Message&&) = default;
  Message& operator=(Message&&) = default;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;

  bool ok() const { return problem == Problem::kNone; }
  /// A request: an object with a method and an id (of any type; the server checks it).
  bool is_request() const { return ok() && body.contains("method") && body.contains("id"); }
  /// params._meta[key], or null when absent (or params or _meta is not an object).
  const Json* meta_entry(std::string_view key) const;
  Json* meta_entry(std::string_view key);
};

/// The one decode of an incoming message (a stdio line, an HTTP body): the only place text
/// becomes JSON on its way in.
Message decode(std::string_view text);

/// How many texts decode() has parsed since the process started: one per message on every
/// transport (tests read it to prove nothing parses a message twice).
uint64_t decoded_count();

/// One message leaving the McpServer. A transport sends it as it is (stdio); HTTP routes a
/// response by its id and a notification by its progress token or subscription id, then
/// serializes it once.
struct Outgoing {
  enum class Kind { kResponse, kNotification };
  Kind kind;
  Json message;
};

}  // namespace mcp
