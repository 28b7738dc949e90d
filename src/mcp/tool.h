#pragma once
/// What an MCP tool is to the server: its advertised definition and a coroutine that handles a
/// call. Arguments reach the handler only after they passed the tool's input schema; they are
/// passed by value because the handler is a coroutine that outlives the caller's frame.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "history/job_history.h"
#include "jobs/job_manager.h"
#include "keeper/keepers.h"
#include "mcp/json_rpc.h"
#include "policy/redactor.h"

namespace mcp {

/// Server-wide limits that shape tool arguments (schema maxima, defaults).
struct ToolLimits {
  uint64_t max_read_bytes = 1ull << 20;
  std::chrono::milliseconds max_interact_wait = std::chrono::seconds(30);
  // Ceiling of `wait`'s timeout_seconds and `execute`'s wait_seconds: below the ~60 s after
  // which common clients cancel a call.
  std::chrono::milliseconds max_wait = std::chrono::seconds(50);
  // execute's `persist` when a call does not say.
  bool persist_by_default = false;
  // What the policy tool shows (tools::describe_policy of the server's Config).
  Json policy = Json::object();
};

/// What one call's handler may use. Made per call, and kept alive until the call completes.
struct ToolContext {
  jobs::JobManager& jobs;
  const ToolLimits& limits;
  /// Sends notifications/progress for this call if the client asked for it (it sent a
  /// progressToken); otherwise does nothing. `progress` must grow from one report to the next.
  std::function<void(double progress, std::optional<double> total, std::string message)>
      report_progress;
  /// Whether the client asked for progress; waits that have none to report need not wake up.
  bool wants_progress = false;
  /// Replaces secrets in what the call returns (job output, command lines); null when the
  /// operator turned redaction off. See tools/redaction.
  const policy::Redactor* redactor = nullptr;
  /// A state-changing tool calls this once it has acted on a job (started it, written to it,
  /// signalled it), before any wait, so the audit log records the action when it happened.
  /// Empty when there is no audit log.
  std::function<void(const jobs::Job& job)> acted;
  /// Who is calling: the client's name and the session (see Placement). execute records it on
  /// the job; list {mine: true} matches it.
  jobs::JobOwner caller;
  /// Where jobs this server does not hold are found (earlier servers', forgotten ones); null
  /// when the operator keeps no history.
  history::JobHistory* history = nullptr;
  /// Starts persisted jobs (execute {persist: true}); null without a state directory.
  keeper::Keepers* keepers = nullptr;
};

/// A handler's answer: structured content, or an error the model can act on (isError: true).
struct ToolOutcome {
  Json structured;
  std::optional<std::string> error;
  // Set when the operator's policy refused the call: the rule that decided (see base::Error).
  std::string denied_by;

  static ToolOutcome ok(Json structured) { return {std::move(structured), std::nullopt, {}}; }
  static ToolOutcome fail(std::string message) { return {Json(), std::move(message), {}}; }
  /// A failure carrying base::Error's rule, so a policy refusal stays one in the audit log.
  static ToolOutcome fail(std::string message, const base::Error& cause) {
    return {Json(), std::move(message), cause.rule};
  }
};

using ToolHandler =
    std::function<boost::asio::awaitable<ToolOutcome>(Json arguments, ToolContext& context)>;

struct Tool {
  std::string name;
  std::string title;
  std::string description;
  Json input_schema;
  Json output_schema;
  Json annotations;
  // execution.taskSupport (2025-11-25 tasks): "optional" for a tool that may run as a task;
  // empty: not shown, which means "forbidden".
  std::string task_support;
  ToolHandler handler;

  /// The entry for tools/list.
  Json definition() const;
};

/// Every tool the server offers, in the order tools/list shows them.
std::vector<Tool> make_tools(const ToolLimits& limits);

}  // namespace mcp
