#pragma once
/// Checks tool arguments against the very JSON Schema the tool advertises, so what clients are
/// told and what the server enforces cannot drift apart. Supports the subset our schemas use:
/// type (single or list, with "integer"), properties, required, additionalProperties (false or a
/// schema), enum, minimum, exclusiveMinimum, maximum, minLength, maxLength, items, minItems,
/// maxItems.

#include <optional>
#include <string>

#include "mcp/json_rpc.h"

namespace mcp {

/// Empty when `value` conforms; otherwise one sentence naming the argument, what it must be, and
/// what was given, e.g. "argument 'lines' must be at least 1 (got 0)".
std::optional<std::string> check_arguments(const Json& value, const Json& schema);

}  // namespace mcp
