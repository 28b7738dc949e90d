#include "app/job_history.h"

#include <spdlog/spdlog.h>

#include "store/state_dir.h"

namespace app {

base::Result<std::unique_ptr<history::JobHistory>> open_job_history(
    const config::Config& config, jobs::JobManager& jobs, const policy::Redactor* redactor) {
  std::filesystem::path state_dir =
      config.state_dir.value_or(store::default_state_dir(config::current_environment()));
  if (state_dir.empty()) return nullptr;
  auto opened = history::JobHistory::open(state_dir, jobs, redactor);
  if (opened) {
    spdlog::info("history: {}", (*opened)->database().string());
    return std::move(*opened);
  }
  if (config.state_dir) return base::fail("state_dir: " + opened.error().message);
  spdlog::warn(
      "no history of jobs is kept ({}); set state_dir to a usable directory, or to none "
      "to silence this",
      opened.error().message);
  return nullptr;
}

}  // namespace app
