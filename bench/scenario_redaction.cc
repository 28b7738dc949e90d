// redaction: what redacting secrets costs a client reading a job's output. Two servers, one with
// MCP_BG_REDACT=true and one with MCP_BG_REDACT=false (the reference, same run), each hold the
// same finished jobs; the driver reads every byte of them through `output` pages of 1 MiB (the
// default max_read_bytes, so the largest page a client can ask for) and runs a `tail` with a
// grep, which redacts the whole log before matching. Two kinds of text: ordinary build-log lines,
// where the redactor only scans, and text with a secret every ~40 bytes, where each one costs a
// second look to find which part to keep. The reference pays everything else (the log's pages,
// UTF-8 sanitising, JSON, the pipes), so the ratio is the redactor's share.
#include <string_view>

#include "failure.h"
#include "job_calls.h"
#include "scenario.h"

namespace bench {
namespace {

constexpr std::string_view kMarker = "[REDACTED]";
// The largest page `output` returns with the default max_read_bytes.
constexpr uint64_t kPageBytes = uint64_t{1} << 20;
// How many matching lines the tail asks for. The grep redacts the whole log whatever this is;
// a small count keeps the reply's size out of the measurement.
constexpr int kTailLines = 100;
constexpr auto kPollInterval = std::chrono::milliseconds(1);
constexpr auto kPrintTimeout = std::chrono::seconds(60);
// A page of 1 MiB redacted at a few MB/s (secret-dense text) takes a few hundred ms.
constexpr auto kReadTimeout = std::chrono::seconds(60);

struct TextKind {
  std::string label;  // For the table.
  // One repeat of the text, without its final newline (yes adds it). No single quotes: it is
  // quoted with them in the shell command.
  std::string_view unit;
  std::string grep;  // For the tail: matches a line in every repeat.
  bool has_secrets;  // Whether redaction must change it.
};

const std::vector<TextKind>& text_kinds() {
  static const std::vector<TextKind> kinds = {
      {"build log",
       "[ 42%] Building CXX object src/CMakeFiles/mcpbg_jobs.dir/jobs/job_manager.cc.o\n"
       "/usr/include/c++/12/bits/stl_vector.h:1123:7: warning: unused variable \"token\" "
       "[-Wunused-variable]\n"
       "PASS: tests/unit/output_log_test (0.12 s) key=value path=/usr/lib/x86_64-linux-gnu",
       "warning", false},
      // The AWS key id is the one AWS's own documentation uses; the others are fakes in the
      // real shapes.
      {"secret-dense",
       "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n"
       "token ghp_0123456789abcdefghijABCDEFGHIJklmnopqr used\n"
       "Authorization: Bearer abcdef0123456789abcdef\n"
       "password=hunter2",
       "token", true},
  };
  return kinds;
}

// One server and the job holding each kind's text in it.
struct Side {
  bool redact;
  McpClient client;
  std::vector<std::string> job_ids;  // Parallel to text_kinds().
};

// Times of one pass over a job's output.
struct Pass {
  Clock::duration pages{};  // Sum of the round trips of every `output` page.
  Clock::duration tail{};   // The round trip of the `tail` with a grep.
};

std::string mib_label(uint64_t bytes) {
  return fmt::format("{:g} MiB", static_cast<double>(bytes) / (1 << 20));
}

// Starts a job printing `bytes` of the kind's text and waits until the server holds all of it.
std::string print_text(McpClient& client, const TextKind& kind, uint64_t bytes) {
  StartedJob job = execute(client, fmt::format("yes '{}' | head -c {}", kind.unit, bytes));
  JobStatus done = await_completion(
      client, job,
      CompletionWait{
          .output_bytes = bytes, .poll_interval = kPollInterval, .timeout = kPrintTimeout});
  // Otherwise the pages would skip the dropped middle and the figure would cover less text.
  check(done.dropped_bytes == 0, "{} bytes of {} text exceed the server's output bound: {} dropped",
        bytes, kind.label, done.dropped_bytes);
  return job.id;
}

Side start_side(const ScenarioContext& context, bool redact, uint64_t bytes) {
  const std::string value = redact ? "true" : "false";
  Side side{.redact = redact,
            .client = McpClient::start(
                context.server(fmt::format("redaction-{}", value), {{"MCP_BG_REDACT", value}})),
            .job_ids = {}};
  for (const TextKind& kind : text_kinds()) {
    side.job_ids.push_back(print_text(side.client, kind, bytes));
  }
  return side;
}

// The figure is only honest if the server with redaction on really redacted the secrets and the
// one with it off really returned them: a misread setting would time two identical servers.
void check_shown(const Side& side, const TextKind& kind, std::string_view what,
                 const std::string& text) {
  const bool marked = text.find(kMarker) != std::string::npos;
  const bool expected = side.redact && kind.has_secrets;
  check(marked == expected, "{} of the {} text with redaction {}: {}", what, kind.label,
        side.redact ? "on" : "off",
        marked ? "[REDACTED] where nothing should be redacted" : "no [REDACTED] in it");
}

// Reads the whole output a page at a time, each from the previous page's next_offset.
Clock::duration read_pages(Side& side, const TextKind& kind, const std::string& job_id,
                           uint64_t bytes) {
  Clock::duration spent{};
  uint64_t offset = 0;
  uint64_t shown = 0;
  std::string all;  // Whether a marker shows is decided over the whole text, not per page.
  for (bool more = true; more;) {
    Reply page = side.client.call_tool(
        "output", Json{{"job_id", job_id}, {"offset", offset}, {"max_bytes", kPageBytes}},
        kReadTimeout);
    spent += page.round_trip();
    const Json& r = page.result;
    check(r.contains("output") && r["output"].is_string() && r.contains("next_offset") &&
              r["next_offset"].is_number_unsigned() && r.contains("truncated") &&
              r["truncated"].is_boolean(),
          "output returned an unexpected result for offset {}", offset);
    const uint64_t next = r["next_offset"].get<uint64_t>();
    check(next > offset, "output did not advance from offset {}", offset);
    const std::string& text = r["output"].get_ref<const std::string&>();
    shown += text.size();
    all += text;
    offset = next;
    more = r["truncated"].get<bool>();
  }
  check(offset == bytes, "the pages of {} text ended at offset {} of {}", kind.label, offset,
        bytes);
  // ASCII text comes back byte for byte unless something was redacted.
  if (!(side.redact && kind.has_secrets)) {
    check(shown == bytes, "{} bytes of {} text shown for {} printed (redaction {})", shown,
          kind.label, bytes, side.redact ? "on" : "off");
  }
  check_shown(side, kind, "the pages", all);
  return spent;
}

Clock::duration tail_with_grep(Side& side, const TextKind& kind, const std::string& job_id) {
  Reply reply = side.client.call_tool(
      "tail", Json{{"job_id", job_id}, {"lines", kTailLines}, {"grep", kind.grep}}, kReadTimeout);
  const Json& r = reply.result;
  check(r.contains("output") && r["output"].is_string() && r.contains("lines") &&
            r["lines"].is_number_unsigned(),
        "tail returned an unexpected result: {}", r.dump().substr(0, 200));
  check(r["lines"].get<uint64_t>() == kTailLines, "tail with grep {} found {} lines of the {} text",
        kind.grep, r["lines"].get<uint64_t>(), kind.label);
  check_shown(side, kind, "the tail", r["output"].get<std::string>());
  return reply.round_trip();
}

Pass one_pass(Side& side, size_t kind_index, uint64_t bytes) {
  const TextKind& kind = text_kinds()[kind_index];
  const std::string& job_id = side.job_ids[kind_index];
  return Pass{.pages = read_pages(side, kind, job_id, bytes),
              .tail = tail_with_grep(side, kind, job_id)};
}

double megabytes_per_second(uint64_t bytes, double ms) {
  return static_cast<double>(bytes) / 1e6 / (ms / 1e3);
}

}  // namespace

std::vector<Figure> run_redaction(const ScenarioContext& context) {
  const Scale& scale = context.scale();
  const uint64_t bytes = scale.redaction_bytes;
  Side on = start_side(context, true, bytes);
  Side off = start_side(context, false, bytes);

  std::vector<Figure> figures;
  for (size_t k = 0; k < text_kinds().size(); ++k) {
    const TextKind& kind = text_kinds()[k];
    Samples pages_on, pages_off, tail_on, tail_off;
    for (int i = 0; i < scale.redaction_repeats; ++i) {
      // Interleaved, so that both servers see the same state of the machine.
      Pass with = one_pass(on, k, bytes);
      Pass without = one_pass(off, k, bytes);
      pages_on.add(with.pages);
      pages_off.add(without.pages);
      tail_on.add(with.tail);
      tail_off.add(without.tail);
    }
    const std::string size = mib_label(bytes);
    auto timing = [&](std::string name, const Samples& measured, const Samples& reference) {
      return Figure{.scenario = "redaction",
                    .name = std::move(name),
                    .unit = "ms",
                    .measured = to_millis(measured.median()),
                    .reference = to_millis(reference.median()),
                    .reference_label = "same, redaction off",
                    .target = Target::none()};
    };
    figures.push_back(timing(fmt::format("{} {} read in 1 MiB pages, median of {}", kind.label,
                                         size, scale.redaction_repeats),
                             pages_on, pages_off));
    figures.push_back(timing(fmt::format("{} {} tail, grep {}, median of {}", kind.label, size,
                                         kind.grep, scale.redaction_repeats),
                             tail_on, tail_off));
    figures.push_back(
        Figure{.scenario = "redaction",
               .name = fmt::format("{} read throughput (1 MB = 10^6 B)", kind.label),
               .unit = "MB/s",
               .measured = megabytes_per_second(bytes, to_millis(pages_on.median())),
               .reference = megabytes_per_second(bytes, to_millis(pages_off.median())),
               .reference_label = "same, redaction off",
               .target = Target::none()});
  }
  on.client.shut_down(std::chrono::seconds(30));
  off.client.shut_down(std::chrono::seconds(30));
  return figures;
}

}  // namespace bench
