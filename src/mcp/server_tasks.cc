// McpServer's 2025-11-25 tasks: tasks/get, tasks/result, tasks/list, tasks/cancel, the
// CreateTaskResult of a tools/call with params.task, and notifications/tasks/status. A task is a
// job (its taskId is the job id); mcp/tasks.h maps one onto the other. Kept apart from server.cc:
// the dispatcher only routes these methods here.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <csignal>

#include "base/uuid.h"
#include "mcp/server.h"
#include "mcp/tools/common.h"
#include "mcp/tools/digest.h"
#include "mcp/tools/execute.h"
#include "mcp/tools/waiting.h"

namespace mcp {
namespace {

constexpr std::string_view kRelatedTaskKey = meta_key::kRelatedTask;
// tasks/cancel stops a job as kill does by default: TERM, then KILL after this grace.
constexpr std::chrono::seconds kCancelGrace{5};
// tasks/result waits in slices of this length until the job ends (the wait ends at once when
// the client cancels the request).
constexpr std::chrono::hours kResultWaitSlice{1};
// A refusal quoted as a task's statusMessage is at most this long.
constexpr size_t kMaxRefusalBytes = 4096;

}  // namespace

Json McpServer::task_of(const jobs::Job& job) const {
  return tasks::task_json(job, tasks::ttl_ms(tasks_.find(job.id()), jobs_.settings().retention));
}

void McpServer::task_ended(const jobs::Job& job) {
  // Only the session that created the task hears of it (and only a legacy session, see notify).
  if (tasks_.find(job.id()) == nullptr) return;
  notify("notifications/tasks/status", task_of(job));
}

void McpServer::answer_task_call(const Json& id, const ToolOutcome& outcome,
                                 const std::string& refusal, tasks::Record record) {
  if (!refusal.empty() || !outcome.structured.is_object() ||
      !outcome.structured.contains("job_id")) {
    // Refused before any job started (bad arguments, the policy, the queue full): the task is
    // failed from the start, and tasks/result gives the error execute would have.
    std::string task_id = base::new_uuid_v4();
    record.refusal = tools::cut_text(refusal.empty() ? "refused" : refusal, kMaxRefusalBytes);
    int64_t ttl = tasks::ttl_ms(&record, jobs_.settings().retention);
    Json task = tasks::refused_task_json(task_id, record, ttl);
    tasks_.add(task_id, std::move(record));
    send_result(id, Json{{"task", std::move(task)}}, Era::kLegacy);
    return;
  }
  std::string job_id = outcome.structured["job_id"].get<std::string>();
  auto job = jobs_.find(job_id);
  if (!job) {
    // Ended and forgotten already (a retention of 0): its end is no longer known here.
    std::string when = base::iso8601_utc(record.created);
    tasks_.add(job_id, std::move(record));
    send_result(id,
                Json{{"task",
                      {{"taskId", job_id},
                       {"status", "completed"},
                       {"statusMessage", "ended and already forgotten (retention is 0)"},
                       {"createdAt", when},
                       {"lastUpdatedAt", when},
                       {"ttl", 0},
                       {"pollInterval", tasks::kPollIntervalMs}}}},
                Era::kLegacy);
    return;
  }
  tasks_.add(job_id, std::move(record));
  send_result(id, Json{{"task", task_of(*job)}}, Era::kLegacy);
}

std::shared_ptr<jobs::Job> McpServer::find_task_job(const Json& id, const Json& params,
                                                    const std::string& method) {
  auto task_id = params.find("taskId");
  if (task_id == params.end() || !task_id->is_string()) {
    send_error(id, error_code::kInvalidParams,
               fmt::format("invalid params: {} needs 'taskId' (a string: the job id that "
                           "tools/call or execute returned)",
                           method));
    return nullptr;
  }
  ToolContext context{jobs_, limits_, {}, false, safeguards_.redactor};
  context.history = placement_.history;
  auto job = tools::find_job(context, Json{{"job_id", *task_id}});
  if (!job) {
    send_error(id, error_code::kInvalidParams,
               fmt::format("Failed to retrieve task: {}", job.error().message));
    return nullptr;
  }
  return *job;
}

void McpServer::serve_tasks(const Json& id, const std::string& method, const Json& params) {
  // A refused call's task has no job: it is failed for good.
  const tasks::Record* refused = nullptr;
  if (auto task_id = params.find("taskId"); task_id != params.end() && task_id->is_string()) {
    refused = tasks_.find(task_id->get<std::string>());
    if (refused != nullptr && !refused->refusal) refused = nullptr;
  }
  auto refused_task = [&] {
    const std::string& task_id = params["taskId"].get_ref<const std::string&>();
    return tasks::refused_task_json(task_id, *refused,
                                    tasks::ttl_ms(refused, jobs_.settings().retention));
  };

  if (method == "tasks/get") {
    if (refused != nullptr) {
      send_result(id, refused_task(), Era::kLegacy);
      return;
    }
    if (auto job = find_task_job(id, params, method)) {
      send_result(id, task_of(*job), Era::kLegacy);
    }
  } else if (method == "tasks/cancel") {
    if (refused != nullptr) {
      send_error(id, error_code::kInvalidParams,
                 "Cannot cancel task: it is already failed (the call was refused; tasks/result "
                 "gives the error)");
      return;
    }
    auto job = find_task_job(id, params, method);
    if (!job) return;
    std::string_view status = tasks::status_of(*job);
    if (tasks::is_terminal(status)) {
      send_error(id, error_code::kInvalidParams,
                 fmt::format("Cannot cancel task: it is already {} ({}); tasks/get shows it",
                             status, tasks::status_message(*job)));
      return;
    }
    // As kill does, and recorded as kill is.
    if (auditor_) {
      auditor_->allowed(Auditor::Call{client_name_, placement_.session_id, "tasks/cancel",
                                      Json{{"taskId", job->id()}}},
                        *job);
    }
    if (!jobs_.cancel_queued(job->id())) job->kill(SIGTERM, kCancelGrace);
    send_result(id, task_of(*job), Era::kLegacy);
  } else if (method == "tasks/list") {
    std::string cursor;
    if (auto c = params.find("cursor"); c != params.end() && !c->is_null()) {
      if (!c->is_string()) {
        send_error(id, error_code::kInvalidParams,
                   "invalid params: 'cursor' must be the nextCursor of the previous tasks/list");
        return;
      }
      cursor = c->get<std::string>();
    }
    // This session's jobs (as list {mine: true} finds them) and its refused calls, oldest first:
    // a task created while the client pages comes last, so no page skips one.
    jobs::JobOwner caller{client_name_, placement_.session_id};
    std::vector<std::pair<std::string, Json>> all;  // (createdAt + id, task)
    for (const auto& job : jobs_.jobs_newest_first()) {
      if (!tools::started_by(job->spec().owner, caller)) continue;
      Json task = task_of(*job);
      all.emplace_back(task["createdAt"].get<std::string>() + job->id(), std::move(task));
    }
    for (const auto& task_id : tasks_.refused()) {
      const tasks::Record* record = tasks_.find(task_id);
      Json task = tasks::refused_task_json(task_id, *record,
                                           tasks::ttl_ms(record, jobs_.settings().retention));
      all.emplace_back(task["createdAt"].get<std::string>() + task_id, std::move(task));
    }
    std::sort(all.begin(), all.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    size_t from = 0;
    if (!cursor.empty()) {
      auto at = std::find_if(all.begin(), all.end(),
                             [&](const auto& entry) { return entry.first == cursor; });
      if (at == all.end()) {
        send_error(id, error_code::kInvalidParams,
                   "invalid params: unknown cursor (its task was forgotten, or it is not a "
                   "nextCursor of this server): list again without a cursor");
        return;
      }
      from = static_cast<size_t>(at - all.begin()) + 1;
    }
    Json page = Json::array();
    size_t to = std::min(all.size(), from + tasks::kPageSize);
    for (size_t i = from; i < to; ++i) page.push_back(std::move(all[i].second));
    Json result{{"tasks", std::move(page)}};
    if (to < all.size()) result["nextCursor"] = all[to - 1].first;
    send_result(id, std::move(result), Era::kLegacy);
  } else if (method == "tasks/result") {
    Json related{{kRelatedTaskKey, {{"taskId", params.value("taskId", "")}}}};
    if (refused != nullptr) {
      send_result(id,
                  Json{{"content", Json::array({{{"type", "text"}, {"text", *refused->refusal}}})},
                       {"isError", true},
                       {"_meta", std::move(related)}},
                  Era::kLegacy);
      return;
    }
    auto job = find_task_job(id, params, method);
    if (!job) return;
    std::string key = id.dump();
    if (in_flight_.contains(key)) {
      send_error(id, error_code::kInvalidRequest,
                 fmt::format("request id {} is already in use by a call still running", key));
      return;
    }
    auto& in_flight = in_flight_[key];
    in_flight = std::make_unique<InFlight>();
    InFlight* state = in_flight.get();
    state->context = std::make_unique<ToolContext>(
        ToolContext{jobs_, limits_, [](double, std::optional<double>, const std::string&) {}, false,
                    safeguards_.redactor});
    boost::asio::co_spawn(
        executor_,
        [](std::shared_ptr<jobs::Job> job, ToolContext& context) -> boost::asio::awaitable<void> {
          // Once the job ended, wait_for_job gives its pipes a moment to drain, then returns.
          do {
            co_await tools::wait_for_job(job, context, nullptr, 0, kResultWaitSlice);
          } while (!job->finished());
        }(job, *state->context),
        boost::asio::bind_cancellation_slot(
            state->cancel.slot(),
            [this, id, key, job, related = std::move(related)](const std::exception_ptr& failure) {
              bool cancelled = in_flight_.at(key)->cancelled;
              ToolContext context = *in_flight_.at(key)->context;
              in_flight_.erase(key);
              if (cancelled) return;  // The client stopped waiting; the job goes on.
              if (failure) {
                try {
                  std::rethrow_exception(failure);
                } catch (const std::exception& e) {
                  spdlog::error("tasks/result of {} failed: {}", job->id(), e.what());
                }
                send_error(id, error_code::kInternalError,
                           "internal error in tasks/result; see the server log");
                return;
              }
              const tasks::Record* record = tasks_.find(job->id());
              Json arguments = record != nullptr ? record->arguments : Json::object();
              std::unique_ptr<RE2> own_errors;
              std::optional<std::string> problem;
              const RE2* errors = tools::error_pattern_argument(arguments, own_errors, problem);
              Json structured = tools::execute_result(*job, context, arguments, errors, true);
              Json text_block{{"type", "text"}, {"text", serialize(structured)}};
              Json result{{"content", Json::array({text_block})},
                          {"structuredContent", std::move(structured)},
                          {"_meta", related}};
              // A failed task's result is an error result, as the specification pairs them.
              if (tasks::status_of(*job) == "failed") result["isError"] = true;
              send_result(id, std::move(result), Era::kLegacy);
            }));
  } else {
    send_error(id, error_code::kMethodNotFound,
               fmt::format("method not found: {} (the task methods are tasks/get, tasks/result, "
                           "tasks/list and tasks/cancel)",
                           method));
  }
}

}  // namespace mcp
