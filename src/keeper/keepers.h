#pragma once
/// Persisted jobs, from a server's side. A persisted job runs under a keeper: this same binary
/// started in keeper mode (app/run_keeper.cc), detached in a session of its own, which runs the
/// job as a server would (the same settings, policy and confinement), keeps its output, records
/// it in the history, and answers on a unix socket in the state directory. A server never
/// touches a persisted job's processes: it shows the job through a KeeperLink and acts through
/// it. Any server of the user (the one that started it, one running beside it, one started
/// later) takes a running persisted job back the same way.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "history/job_history.h"
#include "jobs/job_manager.h"

namespace keeper {

/// Set in a keeper's environment by the server that starts it: the descriptor it reads its
/// request from (and then serves that server on).
inline constexpr const char* kKeeperFdVariable = "MCP_BG_KEEPER_FD";

/// Where the keeper of job `id` listens, and where its log goes.
std::filesystem::path keeper_socket(const std::filesystem::path& state_dir, std::string_view id);
std::filesystem::path keeper_log(const std::filesystem::path& state_dir, std::string_view id);

class Keepers {
 public:
  /// `server_args` are this server's own arguments (argv without the program): a keeper reads
  /// the same settings. `history` is where persisted jobs are found again.
  Keepers(jobs::JobManager& jobs, history::JobHistory& history, std::filesystem::path state_dir,
          std::vector<std::string> server_args);

  /// Starts a keeper for `request`, which checks and runs it; returns the job as this server
  /// shows it, or why it did not start (the policy's refusal, with its rule, as for execute).
  base::Result<std::shared_ptr<jobs::Job>> start(const jobs::ExecuteRequest& request);
  /// Connects to the keeper of running job `id` and shows the job here from now on.
  base::Result<std::shared_ptr<jobs::Job>> take_back(std::string_view id);

 private:
  base::Result<std::shared_ptr<jobs::Job>> show(base::UniqueFd socket);

  jobs::JobManager& jobs_;
  history::JobHistory& history_;
  std::filesystem::path state_dir_;
  std::vector<std::string> server_args_;
};

}  // namespace keeper
