// wait: block (within a bound) until a job exits or prints a line matching a pattern.
#include <fmt/format.h>

#include <cmath>

#include "mcp/tools/common.h"
#include "mcp/tools/digest.h"
#include "mcp/tools/ports.h"
#include "mcp/tools/waiting.h"

namespace mcp::tools {
namespace {

constexpr double kDefaultTimeoutSeconds = 30;

// `until_port`: a whole number from 1 to 65535, or true for any port.
base::Result<PortWanted> port_argument(const Json& value) {
  if (value.is_boolean() && value.get<bool>()) return PortWanted{};
  if (value.is_number()) {
    double number = value.get<double>();
    if (number >= 1 && number <= 65535 && std::trunc(number) == number) {
      return PortWanted{static_cast<uint16_t>(number)};
    }
  }
  std::string shown = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (shown.size() > 40) shown = shown.substr(0, 37) + "...";
  return base::fail(fmt::format(
      "argument 'until_port' must be a TCP port, a whole number from 1 to 65535, or true for "
      "any port (got {}); leave it out to wait for no port",
      shown));
}

}  // namespace

Tool make_wait_tool(const ToolLimits& limits) {
  double ceiling = std::chrono::duration<double>(limits.max_wait).count();
  uint64_t default_max = std::min(kDefaultDigestBytes, limits.max_read_bytes);
  Tool tool;
  tool.name = "wait";
  tool.title = "Wait for a job";
  tool.description = fmt::format(
      "Wait until a job exits, or until a line of its output matches `until` (RE2, e.g. "
      "\"Listening on|error\" for a dev server), or until one of its processes listens on TCP "
      "port `until_port` (true: any port; the answer names it in `port`), or until "
      "timeout_seconds (default {}, 0 to {:g}; longer is clamped). Use it instead of polling "
      "status: one call, no tokens spent while the "
      "job runs. It starts where the output already returned to a client ends (all of it if none "
      "was: execute then wait shows everything), or at `offset`. Returns {{job_id, reason: "
      "exited|matched|listening|timeout, status, exit_code, end_reason, match: {{line, offset}}, "
      "output, "
      "offset, next_offset, truncated, timeout_seconds, elapsed_seconds}}; reason is listening, "
      "with port: {{port, address}}, when until_port was met. With until_port, exited means "
      "the job ended, every process of it, without listening. `output` shows that "
      "stretch in at most max_bytes (default {}): whole if it fits, else its first and last lines "
      "around a line saying what was left out (read it with output from the offset it names) and "
      "the left-out lines matching `error_pattern`, with context. On timeout, call wait again to "
      "continue. Sends progress notifications when the request has a progressToken.",
      kDefaultTimeoutSeconds, ceiling, default_max);
  tool.input_schema = Json{
      {"type", "object"},
      {"properties",
       {{"job_id", job_id_schema()},
        {"until",
         {{"type", "string"},
          {"minLength", 1},
          {"description",
           "RE2 pattern (non-empty); return as soon as a line of the output not yet shown matches "
           "it."}}},
        // No "type": it is a port or true, and model providers reject a union of types in
        // parameters. The handler checks it.
        {"until_port",
         {{"description",
           "A TCP port (a whole number from 1 to 65535), or true for any port: return as soon as "
           "a process of the job (its main process, a child, or what it left running) listens "
           "on it. Looked for every 0.1 s."}}},
        {"timeout_seconds",
         {{"type", "number"},
          {"minimum", 0},
          {"description", fmt::format("Longest wait in seconds, 0 or more (default {}, clamped to "
                                      "{:g}).",
                                      kDefaultTimeoutSeconds, ceiling)}}},
        {"stream", stream_schema()},
        {"offset",
         {{"type", "integer"},
          {"minimum", 0},
          {"description",
           "Byte offset, 0 or more, to match and show output from (default: where the output "
           "already returned ends)."}}},
        {"max_bytes",
         {{"type", "integer"},
          {"minimum", 1},
          {"maximum", limits.max_read_bytes},
          {"description",
           fmt::format("Most output bytes to show, 1 to {} (default {}); beyond it, the first and "
                       "last lines and the error lines between.",
                       limits.max_read_bytes, default_max)}}},
        {"error_pattern", error_pattern_schema()}}},
      {"required", {"job_id"}},
      {"additionalProperties", false}};
  tool.output_schema = Json{
      {"type", "object"},
      {"properties",
       {{"job_id", {{"type", "string"}}},
        {"reason", {{"type", "string"}, {"enum", {"exited", "matched", "listening", "timeout"}}}},
        {"status", status_schema()},
        {"exit_code", {{"type", {"integer", "null"}}}},
        {"end_reason", end_reason_schema()},
        {"match",
         {{"type", "object"},
          {"properties", {{"line", {{"type", "string"}}}, {"offset", {{"type", "integer"}}}}},
          {"required", {"line", "offset"}}}},
        {"port", port_schema()},
        {"output", {{"type", "string"}}},
        {"offset", {{"type", "integer"}}},
        {"next_offset", {{"type", "integer"}}},
        {"truncated", {{"type", "boolean"}}},
        {"timeout_seconds", {{"type", "number"}}},
        {"elapsed_seconds", {{"type", "number"}}}}},
      {"required",
       {"job_id", "reason", "status", "exit_code", "end_reason", "output", "offset", "next_offset",
        "truncated", "timeout_seconds", "elapsed_seconds"}}};
  tool.annotations = read_only_annotations(tool.title);
  // Waits that end together on the same output (many waiters on one job) share one digest.
  auto digests = std::make_shared<DigestCache>();
  tool.handler = [default_max, digests](
                     Json arguments, ToolContext& context) -> boost::asio::awaitable<ToolOutcome> {
    auto found = find_job(context, arguments);
    if (!found) co_return ToolOutcome::fail(found.error().message);
    std::shared_ptr<jobs::Job> job = *found;
    const auto& log = job->output();
    auto filter = stream_filter(arguments, *job);
    if (!filter) co_return ToolOutcome::fail(filter.error().message);

    std::unique_ptr<RE2> pattern;
    if (arguments.contains("until")) {
      if (auto problem = compile_pattern("until", arguments["until"].get<std::string>(), pattern)) {
        co_return ToolOutcome::fail(*problem);
      }
    }
    std::unique_ptr<RE2> own_errors;
    std::optional<std::string> problem;
    const RE2* errors = error_pattern_argument(arguments, own_errors, problem);
    if (problem) co_return ToolOutcome::fail(*problem);
    // Without an offset: what no client has been shown yet.
    uint64_t from = std::min(job->shown_to(), log.total_bytes());
    if (arguments.contains("offset")) {
      from = arguments["offset"].get<uint64_t>();
      if (auto problem = check_offset(from, log)) co_return ToolOutcome::fail(*problem);
    }
    std::optional<PortWanted> port_wanted;
    if (auto until_port = arguments.find("until_port"); until_port != arguments.end()) {
      auto wanted = port_argument(*until_port);
      if (!wanted) co_return ToolOutcome::fail(wanted.error().message);
      port_wanted = *wanted;
    }
    auto timeout =
        clamp_wait(arguments.value("timeout_seconds", kDefaultTimeoutSeconds), context.limits);
    std::optional<LineMatcher> matcher;
    // The pattern sees what the client would: matching redacted text, it cannot probe a secret.
    if (pattern) matcher.emplace(*pattern, from, *filter, context.redactor);

    auto outcome = co_await wait_for_job(job, context, matcher ? &*matcher : nullptr, from, timeout,
                                         port_wanted);

    auto shown = digests->digest(job->id(), context.redactor, log, from,
                                 arguments.value<uint64_t>("max_bytes", default_max), errors);
    job->note_shown(shown.next_offset);
    Json result{{"output", std::move(shown.text)},
                {"offset", shown.offset},
                {"next_offset", shown.next_offset},
                {"truncated", shown.truncated}};
    result["job_id"] = job->id();
    result["reason"] = to_string(outcome.reason);
    result["status"] = jobs::to_string(job->status());
    result["exit_code"] = exit_code_or_null(*job);
    // Named apart from `reason` (why the wait returned): why the server ended the job, if it did.
    result["end_reason"] = end_reason_or_null(*job);
    if (outcome.match) {
      size_t limit =
          static_cast<size_t>(std::min<uint64_t>(kShownLineBytes, context.limits.max_read_bytes));
      result["match"] =
          Json{{"line", output_text(shown_line(outcome.match->text, pattern.get(), limit))},
               {"offset", outcome.match->offset}};
    }
    if (outcome.port) result["port"] = port_json(*outcome.port);
    result["timeout_seconds"] = std::chrono::duration<double>(timeout).count();
    result["elapsed_seconds"] = std::round(outcome.elapsed.count() * 1000.0) / 1000.0;
    co_return ToolOutcome::ok(std::move(result));
  };
  return tool;
}

}  // namespace mcp::tools
