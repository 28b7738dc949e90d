#pragma once
/// What a result shows of a stretch of a job's output when the agent asked for no particular
/// bytes (execute with wait_seconds, wait): all of it if it fits in the budget; otherwise its
/// first lines, its last lines, and between them a line saying what was left out and how to read
/// it, followed by the left-out lines that match an error pattern (each with a line of context).
/// So a 10,000-line test run with one failure costs a few KiB, and the failure is in them.

#include <re2/re2.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/output_log.h"
#include "policy/redactor.h"

namespace mcp::tools {

/// The default error pattern: lines by which common tools report a failure (compiler and make
/// errors, failed tests of pytest, unittest, jest, node --test, TAP, go test, cargo test,
/// gtest and ctest, Python tracebacks and exceptions, Go and Rust panics, failed assertions,
/// crashes), chosen not to match what the same tools print when all is well ("0 errors",
/// "warning:", "-Werror", "test_error_handling PASSED").
extern const char* const kDefaultErrorPattern;

/// The budget of a digest when the agent names none: with the result's other fields, an agent
/// learns how a 10,000-line test run ended, and why, in about 3 KB.
inline constexpr uint64_t kDefaultDigestBytes = 2048;

/// The default error pattern, compiled once.
const RE2& default_error_pattern();

/// The `error_pattern` argument of execute and wait: absent, the default; "" for none; else the
/// client's pattern (in `own`). Fills `problem` when the pattern does not compile.
const RE2* error_pattern_argument(const nlohmann::json& arguments, std::unique_ptr<RE2>& own,
                                  std::optional<std::string>& problem);
/// Its schema.
nlohmann::json error_pattern_schema();

struct Digest {
  std::string text;          // What to show (valid UTF-8, redacted when a redactor is given).
  uint64_t offset = 0;       // Where the shown stretch begins (later than asked if dropped).
  uint64_t next_offset = 0;  // Its end: where to continue.
  bool truncated = false;    // Bytes of the stretch are not in `text` (left out or dropped).
};

/// The output from `from` to its end as described above, in at most about `budget` bytes.
/// `errors` may be null (no error lines). Lines matching `errors` are matched as shown
/// (redacted), so a pattern cannot probe a secret.
Digest output_digest(const policy::Redactor* redactor, const jobs::OutputLog& log, uint64_t from,
                     uint64_t budget, const RE2* errors);

/// The last few digests one tool made, so that waits answered together about the same output
/// (a hundred waits on one job that has just ended) cost one digest. A job's output from a given
/// offset cannot change while its size stays the same, so a digest is reused only for the same
/// job, size, offset, budget and error pattern. Owned by the tool's handler: one per server.
class DigestCache {
 public:
  Digest digest(std::string_view job_id, const policy::Redactor* redactor,
                const jobs::OutputLog& log, uint64_t from, uint64_t budget, const RE2* errors);

 private:
  static constexpr size_t kEntries = 4;
  struct Entry {
    std::string job_id;
    uint64_t total, from, budget;
    std::string errors;  // The error pattern's text: "" for none, kDefaultErrorPattern's own.
    Digest digest;
  };
  std::vector<Entry> entries_;  // Newest last.
};

}  // namespace mcp::tools
