#pragma once
/// The MCP protocol engine: takes one incoming JSON-RPC message at a time, answers it through
/// `send`, and runs tool calls as coroutines so a slow call (interact) never holds up others and
/// responses may leave out of order. Serves both eras: `initialize` starts a legacy session; a
/// request whose params carry the 2026-07-28 `_meta` envelope is served statelessly.
/// Knows nothing of how messages travel (see transport/).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "jobs/job_manager.h"
#include "mcp/audit.h"
#include "mcp/json_rpc.h"
#include "mcp/message.h"
#include "mcp/notifier.h"
#include "mcp/tasks.h"
#include "mcp/tool.h"
#include "observe/metrics.h"
#include "policy/audit_log.h"
#include "policy/redactor.h"

namespace mcp {

/// What watches over what leaves the server (main wires them from the Config; both outlive the
/// server).
struct Safeguards {
  const policy::Redactor* redactor = nullptr;  // Null: output and commands are shown as printed.
  policy::AuditLog* audit_log = nullptr;       // Null: no audit log.
};

/// Where a server serves: the session it belongs to (the jobs it starts are tagged with it, and
/// `list {mine: true}` matches it) and what counts its calls. main wires both.
struct Placement {
  // "stdio" on stdio, the Mcp-Session-Id of an HTTP session; empty for a server that answers
  // stateless requests (2026-07-28), whose callers are known by their client name only.
  std::string session_id;
  observe::Metrics* metrics = nullptr;     // Null: nothing is counted.
  history::JobHistory* history = nullptr;  // Null: past jobs are not found (state_dir none).
  keeper::Keepers* keepers = nullptr;      // Null: no persisted jobs (state_dir none).
};

class McpServer {
 public:
  /// The outbox: every message the server sends (responses and notifications alike), as JSON.
  /// The transport serializes it once (stdio), or routes it by id or token first (HTTP).
  using Send = std::function<void(Outgoing message)>;

  McpServer(boost::asio::any_io_executor executor, jobs::JobManager& jobs, ToolLimits limits,
            std::string version, Send send, Safeguards safeguards = {}, Placement placement = {});

  /// One message, decoded once by its transport (see decode()).
  void handle(Message message);

  /// The transport dropped a message larger than the limit; tell the client.
  void reject_oversized(uint64_t size, uint64_t limit);

  /// The session is ending (an HTTP DELETE): every call still running is withdrawn as if the
  /// client had cancelled it, and none will be answered. Jobs are not touched.
  void cancel_all();
  /// Withdraws one request, as notifications/cancelled does on stdio (over 2026-07-28 HTTP, the
  /// client closing the request's stream is the signal). Unknown or finished ids are ignored.
  void cancel(const Json& id);
  /// The server is going away: every subscriptions/listen request gets its final (empty) result,
  /// which tells the client the subscription ended on purpose, not by a broken connection.
  void end_subscriptions();
  /// Calls whose completion is still to come: their handlers refer to this server, so it must
  /// outlive them.
  size_t calls_in_flight() const { return in_flight_.size(); }
  /// Whether initialize succeeded: a legacy session is open.
  bool in_session() const { return !legacy_version_.empty(); }

 private:
  struct InFlight {
    boost::asio::cancellation_signal cancel;
    bool cancelled = false;
    bool answered = false;  // no progress may follow the response
    bool audited = false;   // the audit log has this call already (it acted)
    std::unique_ptr<ToolContext> context;
    // A subscriptions/listen request: open until cancelled, delivering what its filter names.
    std::unique_ptr<Notifier> subscription;
    Json id;  // The listen request's id: every notification on it carries it.
  };

  void handle_request(const Json& id, const std::string& method, const Json& params, Era era);
  void handle_notification(const std::string& method, const Json& params);
  Json initialize_result(const Json& params);
  Json discover_result() const;
  Json server_info() const;
  void call_tool(const Json& id, const Json& params, Era era);
  // subscriptions/listen (2026-07-28): the long-lived request that replaced the legacy session's
  // unasked notifications and resources/subscribe (server_resources.cc).
  void listen(const Json& id, const Json& params);
  // What the audit log records of a finished call that did not act (refused, failed, cancelled).
  void audit_outcome(const Auditor::Call& call, bool cancelled, const std::exception_ptr& failure,
                     const ToolOutcome& outcome);
  void send_result(const Json& id, Json result, Era era);
  void send_response(Json response);
  void send_error(const Json& id, int code, std::string message, Json data = nullptr);
  // resources/* and logging/setLevel (server_resources.cc).
  void serve_resources(const Json& id, const std::string& method, const Json& params, Era era);
  // A notification the server sends unasked: only within a legacy session.
  void notify(std::string method, Json params);
  // 2025-11-25 tasks (server_tasks.cc): tasks/get, tasks/result, tasks/list, tasks/cancel.
  void serve_tasks(const Json& id, const std::string& method, const Json& params);
  // A tools/call with params.task ended its handler: answer the CreateTaskResult (the job's
  // task, or a failed task holding the refusal).
  void answer_task_call(const Json& id, const ToolOutcome& outcome, const std::string& refusal,
                        tasks::Record record);
  // The job named by params.taskId (this server's, or one the history has), or a -32602 sent.
  std::shared_ptr<jobs::Job> find_task_job(const Json& id, const Json& params,
                                           const std::string& method);
  Json task_of(const jobs::Job& job) const;
  // notifications/tasks/status when a job this session started as a task ends.
  void task_ended(const jobs::Job& job);

  boost::asio::any_io_executor executor_;
  jobs::JobManager& jobs_;
  ToolLimits limits_;
  std::string version_;
  Send send_;
  std::vector<Tool> tools_;
  std::unordered_map<std::string, std::unique_ptr<InFlight>> in_flight_;  // by id.dump()
  bool initialized_ = false;
  std::string legacy_version_;
  std::string client_name_;  // clientInfo.name from initialize (a legacy session's client)
  Safeguards safeguards_;
  Placement placement_;
  std::unique_ptr<Auditor> auditor_;  // With an audit log only.
  tasks::Registry tasks_;             // The tasks this server created.
  // The manager's observers hold this weakly: they do nothing once the server is gone.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  Notifier notifier_;  // Last: its observers call back into the members above.
};

}  // namespace mcp
