#pragma once
/// Finds well-known secret shapes in text (private key blocks, cloud and forge tokens, bearer
/// tokens, password-style assignments, credentials in URLs) and the operator's own
/// `redact_patterns`, so that what leaves the server shows `[REDACTED]` in their place. Built
/// once at start-up (a bad pattern is a start-up error); immutable afterwards, so any thread may
/// use it. Knows nothing of jobs: callers hand it text, and may add context around the part they
/// show so that a secret cut by the edge of a page is still recognised.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace re2 {
class RE2;
}

namespace policy {

class Redactor {
 public:
  static constexpr std::string_view kMarker = "[REDACTED]";

  /// A secret: bytes [begin, end) of the text it was found in.
  struct Span {
    size_t begin;
    size_t end;
    bool operator==(const Span&) const = default;
  };

  /// The built-in shapes plus `extra_patterns` (RE2 syntax, UTF-8; every match is redacted
  /// whole). Fails with a message naming the pattern that does not compile, or that matches the
  /// empty string (it would redact nothing, and is almost certainly a mistake).
  static base::Result<Redactor> create(const std::vector<std::string>& extra_patterns = {});

  Redactor(Redactor&&) noexcept;
  Redactor& operator=(Redactor&&) noexcept;
  ~Redactor();

  /// The secrets in `text` that begin before `limit`, in order, never overlapping (touching
  /// ones are merged). Text after `limit` is only context: a secret beginning there is not
  /// looked for, but one beginning before it is found whole.
  std::vector<Span> find(std::string_view text, size_t limit = std::string_view::npos) const;

  /// `text` with every secret replaced by kMarker.
  std::string redact(std::string_view text) const;

  /// text[begin, end) with the parts that `spans` (from find over the same `text`) cover
  /// replaced by kMarker: a secret cut by the window's edge still becomes one marker.
  static std::string apply(std::string_view text, size_t begin, size_t end,
                           const std::vector<Span>& spans);

 private:
  struct Engine;  // One compiled alternation and where each alternative's secret groups are.
  Redactor(std::unique_ptr<Engine> builtin, std::unique_ptr<Engine> custom);

  std::unique_ptr<Engine> builtin_;
  std::unique_ptr<Engine> custom_;  // Null without redact_patterns.
};

}  // namespace policy
