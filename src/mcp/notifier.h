#pragma once
/// What the server tells the client without being asked, in a legacy (initialize) session:
///   - notifications/resources/updated for the job resources the client subscribed to: both
///     URIs when the job ends, and the output URI at most once a second while output grows;
///   - notifications/resources/list_changed when a job starts or is forgotten, once the client
///     has listed resources (at most once a second);
///   - notifications/message when a job ends, if the level set by logging/setLevel allows it.
/// Learns of jobs through JobManager's observers and Job::wait_for_change; the output's hot path
/// is not touched. Owned by McpServer, which decides whether a notification may be sent at all.
/// Used from the io_context's thread only.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"
#include "jobs/job_manager.h"
#include "mcp/json_rpc.h"
#include "policy/redactor.h"

namespace mcp {

class Notifier {
 public:
  using Notify = std::function<void(std::string method, Json params)>;

  /// The shortest time between two notifications of one kind: updates of one output resource,
  /// or list changes.
  static constexpr std::chrono::milliseconds kMinInterval{1000};
  static constexpr std::string_view kLoggerName = "mcp-background-job";

  /// `redactor` (may be null) redacts the command lines in job-end messages.
  Notifier(const boost::asio::any_io_executor& executor, jobs::JobManager& jobs, Notify notify,
           const policy::Redactor* redactor = nullptr);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  /// resources/subscribe. Fails ("Resource not found: ...") when `uri` names no job resource.
  base::Result<void> subscribe(std::string_view uri);
  /// resources/unsubscribe. Dropping a subscription that does not exist is not an error.
  void unsubscribe(std::string_view uri);
  /// The client listed resources: from now on it hears when the list changes.
  void list_requested() { list_requested_ = true; }
  /// logging/setLevel. False for a name that is not an RFC 5424 level (debug, info, notice,
  /// warning, error, critical, alert, emergency).
  bool set_log_level(std::string_view level);
  /// No notifications/message at all: a 2026-07-28 subscription carries only what the client
  /// opted in to (job-end messages are not among the kinds it can name).
  void mute_log_messages() { log_level_ = kMuted; }

 private:
  struct Watch;
  static constexpr int kMuted = 1000;  // Above every RFC 5424 level.

  void job_ended(const jobs::Job& job);
  void jobs_changed(const std::string& id);
  void send_list_changed();
  void send_updated(const std::string& job_id, bool output);
  boost::asio::awaitable<void> watch_output(std::shared_ptr<Watch> watch);

  boost::asio::any_io_executor executor_;
  jobs::JobManager& jobs_;
  Notify notify_;
  const policy::Redactor* redactor_;
  int log_level_;  // Index in the RFC 5424 order, debug = 0.
  bool list_requested_ = false;
  bool list_changed_pending_ = false;
  std::chrono::steady_clock::time_point last_list_changed_;
  boost::asio::steady_timer list_timer_;
  std::unordered_map<std::string, std::shared_ptr<Watch>> watches_;  // By job id.
  // The manager's observers hold this weakly: they do nothing once the notifier is gone.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace mcp
