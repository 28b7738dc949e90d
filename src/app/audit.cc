#include "app/audit.h"

#include <spdlog/spdlog.h>

namespace app {

base::Result<std::unique_ptr<policy::AuditLog>> open_audit_log(const config::Config& config) {
  if (config.audit_log.empty()) return nullptr;
  auto opened =
      policy::AuditLog::open({.path = config.audit_log, .max_size = config.audit_log_max_size});
  if (!opened) return tl::unexpected(opened.error());
  spdlog::info("audit log: {}", config.audit_log.string());
  return std::move(*opened);
}

void close_audit_log(policy::AuditLog& audit_log) {
  audit_log.close();
  auto stats = audit_log.stats();
  if (stats.dropped > 0 || stats.failed > 0) {
    spdlog::warn(
        "audit log: {} records written, {} dropped (queue full), {} lost to write "
        "errors",
        stats.written, stats.dropped, stats.failed);
  }
}

}  // namespace app
