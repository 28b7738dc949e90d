#include "report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

namespace bench {
namespace {

// Counts print as integers; other values keep about three significant digits.
std::string format_value(double value, const std::string& unit) {
  int decimals = 0;
  bool whole = unit.empty() || std::abs(value - std::round(value)) < 1e-9;
  if (!whole && std::abs(value) < 10) {
    decimals = 2;
  } else if (!whole && std::abs(value) < 100) {
    decimals = 1;
  }
  std::string number = fmt::format("{:.{}f}", value, decimals);
  return unit.empty() ? number : fmt::format("{} {}", number, unit);
}

std::string describe_target(const Figure& figure) {
  const Target& t = figure.target;
  auto limit = [&] { return format_value(t.limit, figure.unit); };
  switch (t.kind) {
    case Target::Kind::kNone:
      return "-";
    case Target::Kind::kRatioAtMost:
      return fmt::format("ratio <= {:.2g}x", t.limit);
    case Target::Kind::kAtMost:
      return fmt::format("<= {}", limit());
    case Target::Kind::kBelow:
      return fmt::format("< {}", limit());
    case Target::Kind::kAtLeast:
      return fmt::format(">= {}", limit());
    case Target::Kind::kSameAsReference:
      return "= reference";
    case Target::Kind::kSameAndAtMost:
      return fmt::format("= ref, <= {}", limit());
  }
  return "?";
}

std::string describe_mark(const Figure& figure) {
  auto met = figure.met();
  if (!met) return "";
  if (*met) return "ok";
  // A floor missed is under it; every other target is a ceiling (or an equality) gone over.
  return figure.target.kind == Target::Kind::kAtLeast ? "UNDER" : "OVER";
}

}  // namespace

std::optional<double> Figure::ratio() const {
  if (!reference || *reference == 0) return std::nullopt;
  return measured / *reference;
}

std::optional<bool> Figure::met() const {
  switch (target.kind) {
    case Target::Kind::kNone:
      return std::nullopt;
    case Target::Kind::kRatioAtMost:
      if (!ratio()) return std::nullopt;
      return *ratio() <= target.limit;
    case Target::Kind::kAtMost:
      return measured <= target.limit;
    case Target::Kind::kBelow:
      return measured < target.limit;
    case Target::Kind::kAtLeast:
      return measured >= target.limit;
    case Target::Kind::kSameAsReference:
      return reference && measured == *reference;
    case Target::Kind::kSameAndAtMost:
      return reference && measured == *reference && measured <= target.limit;
  }
  return std::nullopt;
}

void print_table(const std::vector<Figure>& figures) {
  if (figures.empty()) {
    fmt::print("(no figures)\n");
    return;
  }
  struct Row {
    std::string figure, measured, reference, ratio, target, mark;
  };
  std::vector<Row> rows;
  rows.push_back({"figure", "measured", "reference", "ratio", "target", ""});
  for (const auto& f : figures) {
    std::string reference = "-";
    if (f.reference) {
      reference = fmt::format("{} ({})", format_value(*f.reference, f.unit), f.reference_label);
    }
    auto ratio = f.ratio();
    rows.push_back({fmt::format("{}: {}", f.scenario, f.name), format_value(f.measured, f.unit),
                    reference, ratio ? fmt::format("{:.2f}x", *ratio) : "-", describe_target(f),
                    describe_mark(f)});
  }
  size_t widths[5] = {};
  for (const auto& r : rows) {
    widths[0] = std::max(widths[0], r.figure.size());
    widths[1] = std::max(widths[1], r.measured.size());
    widths[2] = std::max(widths[2], r.reference.size());
    widths[3] = std::max(widths[3], r.ratio.size());
    widths[4] = std::max(widths[4], r.target.size());
  }
  // Five gaps of two spaces, and room for the longest mark ("UNDER").
  constexpr size_t kGapsAndMark = 5 * 2 + 5;
  const std::string rule(widths[0] + widths[1] + widths[2] + widths[3] + widths[4] + kGapsAndMark,
                         '-');
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    // A rule under the header and between scenarios keeps the groups apart.
    if (i == 1 || (i > 1 && figures[i - 1].scenario != figures[i - 2].scenario)) {
      fmt::print("{}\n", rule);
    }
    fmt::print("{:<{}}  {:>{}}  {:<{}}  {:>{}}  {:<{}}  {}\n", r.figure, widths[0], r.measured,
               widths[1], r.reference, widths[2], r.ratio, widths[3], r.target, widths[4], r.mark);
  }
  std::fflush(stdout);
}

base::Result<void> write_json(const std::filesystem::path& path, const RunInfo& info,
                              const std::vector<Figure>& figures) {
  using Json = nlohmann::json;
  auto optional_number = [](std::optional<double> v) { return v ? Json(*v) : Json(nullptr); };
  auto optional_bool = [](std::optional<bool> v) { return v ? Json(*v) : Json(nullptr); };
  Json list = Json::array();
  for (const auto& f : figures) {
    list.push_back(Json{{"scenario", f.scenario},
                        {"name", f.name},
                        {"unit", f.unit},
                        {"measured", f.measured},
                        {"reference", optional_number(f.reference)},
                        {"reference_label", f.reference_label},
                        {"ratio", optional_number(f.ratio())},
                        {"target", describe_target(f)},
                        {"met", optional_bool(f.met())}});
  }
  Json document{{"server", info.server_path},
                {"quick", info.quick},
                {"cpus", info.cpus},
                {"wall_seconds", info.wall_seconds},
                {"error", info.error ? Json(*info.error) : Json(nullptr)},
                {"figures", std::move(list)}};
  std::ofstream out(path);
  out << document.dump(2) << '\n';
  out.close();
  if (!out) return base::fail(fmt::format("cannot write {}", path.string()));
  return {};
}

}  // namespace bench
