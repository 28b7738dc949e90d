#include "mcp/schema_check.h"

#include <fmt/format.h>

#include <cmath>

namespace mcp {
namespace {

// A number written with a fraction or exponent (2.0, 1e3) that is a whole int64. The range is
// checked before any cast: casting 1e300 (or inf, nan) to int64_t is undefined behaviour (found
// by fuzz_mcp_message: {"max_bytes": 1e300}).
bool is_whole_int64(double d) {
  return std::isfinite(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
         std::trunc(d) == d;
}

bool has_type(const Json& value, const std::string& type) {
  if (type == "string") return value.is_string();
  if (type == "integer") {
    return value.is_number_integer() ||
           (value.is_number_float() && is_whole_int64(value.get<double>()));
  }
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "null") return value.is_null();
  return false;
}

std::string describe_type(const Json& type) {
  if (type.is_string()) {
    std::string t = type.get<std::string>();
    if (t == "integer" || t == "array" || t == "object") return "an " + t;
    return "a " + t;
  }
  std::string out;
  for (size_t i = 0; i < type.size(); ++i) {
    if (i > 0) out += i + 1 == type.size() ? " or " : ", ";
    out += describe_type(type[i]);
  }
  return out;
}

std::string json_kind(const Json& value) {
  switch (value.type()) {
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a number";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::null:
      return "null";
    default:
      return "an unsupported value";
  }
}

// A short rendering of the offending value for the message, never the whole of a long string.
std::string preview(const Json& value) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

std::optional<std::string> check(const Json& value, const Json& schema, const std::string& path) {
  std::string name = path.empty() ? "the arguments" : fmt::format("argument '{}'", path);
  if (auto type = schema.find("type"); type != schema.end()) {
    bool ok = false;
    if (type->is_string()) {
      ok = has_type(value, type->get<std::string>());
    } else {
      for (const auto& t : *type) ok = ok || has_type(value, t.get<std::string>());
    }
    if (!ok) {
      return fmt::format("{} must be {} (got {})", name, describe_type(*type), json_kind(value));
    }
  }
  if (auto allowed = schema.find("enum"); allowed != schema.end()) {
    bool found = false;
    for (const auto& option : *allowed) found = found || option == value;
    if (!found) {
      std::string options;
      for (const auto& option : *allowed) {
        if (!options.empty()) options += ", ";
        options += option.dump();
      }
      return fmt::format("{} must be one of {} (got {})", name, options, preview(value));
    }
  }
  if (value.is_number()) {
    double number = value.get<double>();
    if (auto min = schema.find("minimum"); min != schema.end() && number < min->get<double>()) {
      return fmt::format("{} must be at least {} (got {})", name, min->dump(), value.dump());
    }
    if (auto min = schema.find("exclusiveMinimum");
        min != schema.end() && number <= min->get<double>()) {
      return fmt::format("{} must be greater than {} (got {})", name, min->dump(), value.dump());
    }
    if (auto max = schema.find("maximum"); max != schema.end() && number > max->get<double>()) {
      return fmt::format("{} must be at most {} (got {})", name, max->dump(), value.dump());
    }
  }
  if (value.is_string()) {
    size_t length = value.get_ref<const std::string&>().size();
    if (auto min = schema.find("minLength"); min != schema.end() && length < min->get<size_t>()) {
      return min->get<size_t>() == 1
                 ? fmt::format("{} must not be empty", name)
                 : fmt::format("{} must be at least {} characters long", name, min->get<size_t>());
    }
    if (auto max = schema.find("maxLength"); max != schema.end() && length > max->get<size_t>()) {
      return fmt::format("{} must be at most {} characters long (got {})", name, max->get<size_t>(),
                         length);
    }
  }
  if (value.is_array()) {
    if (auto min = schema.find("minItems");
        min != schema.end() && value.size() < min->get<size_t>()) {
      return fmt::format("{} must have at least {} item(s)", name, min->get<size_t>());
    }
    if (auto max = schema.find("maxItems");
        max != schema.end() && value.size() > max->get<size_t>()) {
      return fmt::format("{} must have at most {} items (got {})", name, max->get<size_t>(),
                         value.size());
    }
    if (auto items = schema.find("items"); items != schema.end()) {
      for (size_t i = 0; i < value.size(); ++i) {
        if (auto error = check(value[i], *items, fmt::format("{}[{}]", path, i))) return error;
      }
    }
  }
  if (value.is_object()) {
    const Json empty = Json::object();
    const Json& properties = schema.contains("properties") ? schema["properties"] : empty;
    if (auto required = schema.find("required"); required != schema.end()) {
      for (const auto& key : *required) {
        if (!value.contains(key.get<std::string>())) {
          std::string child = path.empty() ? key.get<std::string>()
                                           : fmt::format("{}.{}", path, key.get<std::string>());
          return fmt::format("missing required argument '{}'", child);
        }
      }
    }
    auto additional = schema.find("additionalProperties");
    for (const auto& [key, child_value] : value.items()) {
      std::string child = path.empty() ? key : fmt::format("{}.{}", path, key);
      if (auto property = properties.find(key); property != properties.end()) {
        if (auto error = check(child_value, *property, child)) return error;
      } else if (additional != schema.end() && additional->is_boolean() &&
                 !additional->get<bool>()) {
        std::string known;
        for (const auto& [name_known, unused] : properties.items()) {
          if (!known.empty()) known += ", ";
          known += name_known;
        }
        return fmt::format("unknown argument '{}'; the arguments are: {}", child, known);
      } else if (additional != schema.end() && additional->is_object()) {
        if (auto error = check(child_value, *additional, child)) return error;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> check_arguments(const Json& value, const Json& schema) {
  return check(value, schema, "");
}

}  // namespace mcp
