#include "mcp/audit.h"

#include <cmath>

#include "mcp/tools/common.h"
#include "sys/process.h"

namespace mcp {
namespace {

const Json* string_argument(const Json& arguments, const char* name) {
  if (!arguments.is_object()) return nullptr;
  auto it = arguments.find(name);
  return it != arguments.end() && it->is_string() ? &*it : nullptr;
}

}  // namespace

Auditor::Auditor(policy::AuditLog& log, const policy::Redactor* redactor, jobs::JobManager& jobs)
    : log_(log), redactor_(redactor) {
  std::weak_ptr<int> alive = alive_;
  jobs.on_job_end(
      [this, alive](const jobs::Job& job) {
        if (!alive.expired()) job_ended(job);
      },
      alive_);
}

Auditor::~Auditor() = default;

bool Auditor::changes_state(std::string_view tool) {
  return tool == "execute" || tool == "interact" || tool == "kill";
}

std::string Auditor::shown(std::string_view text) const {
  return redactor_ == nullptr ? std::string(text) : redactor_->redact(text);
}

Json Auditor::call_record(const Call& call, std::string_view decision) const {
  Json record{{"event", "tool_call"},
              {"client", call.client.empty() ? Json(nullptr) : Json(call.client)},
              {"session", tools::shown_session(call.session)},
              {"tool", call.tool},
              {"decision", decision}};
  // The arguments as the client sent them (they may be the reason for a failure, so check each
  // one's type): what ran, where, on which job. Never input or environment values.
  const Json& arguments = call.arguments;
  if (const Json* id = string_argument(arguments, "job_id")) record["job_id"] = *id;
  if (const Json* command = string_argument(arguments, "command")) {
    record["command"] = shown(command->get_ref<const std::string&>());
  }
  if (arguments.is_object() && arguments.contains("argv") && arguments["argv"].is_array()) {
    Json argv = Json::array();
    for (const auto& word : arguments["argv"]) {
      argv.push_back(word.is_string() ? Json(shown(word.get_ref<const std::string&>())) : word);
    }
    record["argv"] = std::move(argv);
  }
  if (const Json* cwd = string_argument(arguments, "cwd")) record["cwd"] = *cwd;
  if (const Json* label = string_argument(arguments, "label")) {
    record["label"] = shown(label->get_ref<const std::string&>());
  }
  if (arguments.is_object() && arguments.contains("env") && arguments["env"].is_object()) {
    Json names = Json::array();
    for (const auto& [name, value] : arguments["env"].items()) names.push_back(name);
    record["env_names"] = std::move(names);
  }
  if (call.tool == "kill") {
    const Json* signal = string_argument(arguments, "signal");
    record["signal"] = signal != nullptr ? *signal : Json("TERM");
  }
  if (call.tool == "interact") {
    if (const Json* input = string_argument(arguments, "input")) {
      record["input_bytes"] = input->get_ref<const std::string&>().size();
    }
    if (arguments.is_object() && arguments.contains("eof") && arguments["eof"].is_boolean()) {
      record["eof"] = arguments["eof"];
    }
  }
  return record;
}

void Auditor::allowed(const Call& call, const jobs::Job& job) {
  Json record = call_record(call, "allowed");
  // What the server made of the request: the job's id, its command line (argv quoted), the
  // directory it resolved.
  record["job_id"] = job.id();
  record["command"] = shown(job.spec().command);
  record["cwd"] = job.spec().cwd.string();
  record["status"] = jobs::to_string(job.status());
  if (job.pid() > 0) record["pid"] = job.pid();
  log_.record(std::move(record));
}

void Auditor::allowed(const Call& call) { log_.record(call_record(call, "allowed")); }

void Auditor::denied(const Call& call, std::string_view rule, std::string_view message) {
  Json record = call_record(call, "denied");
  record["rule"] = rule;
  record["error"] = shown(message);
  log_.record(std::move(record));
}

void Auditor::failed(const Call& call, std::string_view error) {
  Json record = call_record(call, "failed");
  record["error"] = shown(error);
  log_.record(std::move(record));
}

void Auditor::job_ended(const jobs::Job& job) {
  // A queued job cancelled before it ran has no start, so no duration.
  Json duration = nullptr;
  if (job.has_started()) {
    auto end = job.ended().value_or(base::WallClock::now());
    double seconds = std::max(0.0, std::chrono::duration<double>(end - job.started()).count());
    duration = std::round(seconds * 1000.0) / 1000.0;
  }
  const jobs::JobOwner& owner = job.spec().owner;
  Json record{
      {"event", "job_end"},
      {"job_id", job.id()},
      {"client", owner.client.empty() ? Json(nullptr) : Json(owner.client)},
      {"session", tools::shown_session(owner.session)},
      {"command", shown(job.spec().command)},
      {"cwd", job.spec().cwd.string()},
      {"status", jobs::to_string(job.status())},
      {"exit_code", job.exit_code() ? Json(*job.exit_code()) : Json(nullptr)},
      {"signal", job.term_signal() ? Json(sys::signal_name(*job.term_signal())) : Json(nullptr)},
      {"duration_seconds", duration}};
  if (!job.spec().label.empty()) record["label"] = shown(job.spec().label);
  // Why a job ended that way, when the server knows more than the status says.
  if (job.end_reason() != jobs::EndReason::kNone) {
    record["reason"] = jobs::to_string(job.end_reason());
  } else if (!job.start_error().empty()) {
    record["reason"] = shown(job.start_error());
  }
  log_.record(std::move(record));
}

}  // namespace mcp
