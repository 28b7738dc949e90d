#pragma once
/// What the audit log (setting `audit_log`) records of the server's work: every call of a tool
/// that changes something (execute, interact, kill), whatever came of it; every call a policy
/// rule refused, whichever tool; and every job's end. Builds each record from the call and the
/// job (command lines redacted like everything else that leaves the server, input never
/// recorded, only its size) and hands it to policy::AuditLog, which writes it off the loop.
/// Owned by McpServer; used from the io_context's thread only.

#include <memory>
#include <string>
#include <string_view>

#include "jobs/job_manager.h"
#include "mcp/json_rpc.h"
#include "policy/audit_log.h"
#include "policy/redactor.h"

namespace mcp {

class Auditor {
 public:
  /// Records every job's end from now on (a JobManager observer).
  Auditor(policy::AuditLog& log, const policy::Redactor* redactor, jobs::JobManager& jobs);
  ~Auditor();
  Auditor(const Auditor&) = delete;
  Auditor& operator=(const Auditor&) = delete;

  /// Tools whose every call is recorded, allowed or not.
  static bool changes_state(std::string_view tool);

  /// One tools/call: who made it (clientInfo.name; empty if the client never said), in which
  /// session (empty: none), which tool, with what arguments.
  struct Call {
    std::string client;
    std::string session;
    std::string tool;
    Json arguments;
  };

  /// The call acted on `job` (started it, wrote to it, signalled it): recorded as allowed, at
  /// once, before any wait the call goes on to do.
  void allowed(const Call& call, const jobs::Job& job);
  /// Allowed, with no job to name.
  void allowed(const Call& call);
  /// The call ended without acting: refused by the policy rule `rule` ("denied"), or failed
  /// with `error` ("failed").
  void denied(const Call& call, std::string_view rule, std::string_view message);
  void failed(const Call& call, std::string_view error);

 private:
  Json call_record(const Call& call, std::string_view decision) const;
  void job_ended(const jobs::Job& job);
  std::string shown(std::string_view text) const;

  policy::AuditLog& log_;
  const policy::Redactor* redactor_;
  // The manager's observer holds this weakly: it does nothing once the auditor is gone.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace mcp
