#pragma once
/// The figures a run produces and how they are shown: a table on stdout and, on request, a JSON
/// file. Targets are informational: a figure over its target is marked, never fatal, because
/// these machines are shared and noisy. Filled by the scenarios, printed by main.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace bench {

/// What a figure is expected to satisfy. The ratio is measured / reference.
struct Target {
  enum class Kind {
    kNone,             // Reported for information only.
    kRatioAtMost,      // ratio <= limit
    kAtMost,           // measured <= limit
    kBelow,            // measured < limit
    kAtLeast,          // measured >= limit
    kSameAsReference,  // measured == reference
    kSameAndAtMost,    // measured == reference and measured <= limit
  };
  Kind kind = Kind::kNone;
  double limit = 0;

  static Target none() { return {}; }
  static Target ratio_at_most(double limit) { return {Kind::kRatioAtMost, limit}; }
  static Target at_most(double limit) { return {Kind::kAtMost, limit}; }
  static Target below(double limit) { return {Kind::kBelow, limit}; }
  static Target at_least(double limit) { return {Kind::kAtLeast, limit}; }
  static Target same_as_reference() { return {Kind::kSameAsReference, 0}; }
  static Target same_and_at_most(double limit) { return {Kind::kSameAndAtMost, limit}; }
};

struct Figure {
  std::string scenario;  // "round-trip", "spawn", ...
  std::string name;      // What was measured, e.g. "status round trip p50".
  std::string unit;      // "us", "ms", "MB", "%", "GB/s", "" for counts.
  double measured = 0;
  std::optional<double> reference;
  std::string reference_label;  // What the reference is, e.g. "ping p50".
  Target target;

  std::optional<double> ratio() const;
  /// Whether the target is met; nullopt when there is none.
  std::optional<bool> met() const;
};

void print_table(const std::vector<Figure>& figures);

struct RunInfo {
  std::string server_path;
  bool quick = false;
  long cpus = 0;
  double wall_seconds = 0;
  std::optional<std::string> error;  // Why the run stopped early, if it did.
};

base::Result<void> write_json(const std::filesystem::path& path, const RunInfo& info,
                              const std::vector<Figure>& figures);

}  // namespace bench
