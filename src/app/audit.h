#pragma once
/// The audit log's life in the server: opened from the settings after the watchdog's fork (it
/// writes from a thread of its own), closed after shutdown with a word on what it lost.

#include <memory>

#include "base/result.h"
#include "config/config.h"
#include "policy/audit_log.h"

namespace app {

/// The audit log the settings name, or null when they name none.
base::Result<std::unique_ptr<policy::AuditLog>> open_audit_log(const config::Config& config);

/// Writes out what is queued and warns if records were dropped or lost.
void close_audit_log(policy::AuditLog& audit_log);

}  // namespace app
