#pragma once
/// What the history database keeps of one job: who started it, what ran where, how it stands or
/// ended, the keeper and process identity of a persisted job, and (once it has ended) a bounded
/// copy of what it printed. Plain data: the store reads and writes it, the engine fills it.

#include <cstdint>
#include <optional>
#include <string>

namespace store {

/// Milliseconds since the Unix epoch (UTC): how every time is stored.
using EpochMillis = int64_t;

/// A process named well enough to be sure it is the same one later: the pid alone is recycled
/// (pid_max is 32768 on some machines), so its start time (clock ticks since boot, field 22 of
/// /proc/PID/stat) and the boot it started in go with it.
struct ProcessIdentity {
  int pid = 0;
  uint64_t start_ticks = 0;
  std::string boot_id;
};

struct JobRecord {
  std::string id;
  int64_t seq = 0;  // Assigned by the database: creation order across every server sharing it.

  // Who started it.
  std::string server_id;   // The server instance (a UUID per server process).
  ProcessIdentity server;  // Its process: whether it still runs tells an open row's truth.
  std::string client;
  std::string session;

  // What ran where.
  std::string command;
  std::string cwd;
  std::string label;
  bool pty = false;
  bool persisted = false;

  // How it stands. `status` is the engine's spelling (running, completed, failed, killed,
  // timed_out, queued, cancelled) or `lost` for a persisted job whose keeper vanished.
  std::string status;
  std::optional<int> exit_code;
  std::string signal;  // Signal name, e.g. SIGTERM; empty if it did not end by a signal.
  std::string reason;  // Why, beyond the status: memory_limit, or why a job is lost.
  std::string start_error;
  EpochMillis created = 0;
  std::optional<EpochMillis> started;
  std::optional<EpochMillis> ended;

  // The job's main process and, for a persisted job, its keeper.
  std::optional<ProcessIdentity> process;
  std::optional<ProcessIdentity> keeper;

  uint64_t output_bytes = 0;
  uint64_t dropped_bytes = 0;
};

/// What is kept of a finished job's output once its server is gone: its first bytes and its last
/// (as the tools return them: redacted), each with the absolute offset where it begins, so
/// offsets mean the same as they did while the job was live.
struct StoredOutput {
  std::string head;
  std::string tail;
  uint64_t tail_offset = 0;
  uint64_t total_bytes = 0;
};

}  // namespace store
