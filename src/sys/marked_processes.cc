#include "sys/marked_processes.h"

#include <dirent.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include "sys/process.h"
#include "sys/watchdog.h"

namespace sys {

std::vector<ProcessId> processes_of_job(std::string_view job_id, pid_t group) {
  std::vector<ProcessId> found;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return found;
  while (dirent* entry = ::readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 1 || pid == ::getpid()) continue;
    auto info = read_process(pid);
    if (!info || info->zombie()) continue;
    bool ours = group > 0 && info->group == group;
    if (!ours) {
      auto mark = environment_variable(pid, kJobIdVariable);
      ours = mark && *mark == job_id;
    }
    if (ours) found.push_back(info->id);
  }
  ::closedir(proc);
  return found;
}

int kill_processes_of_job(std::string_view job_id, pid_t group, int rounds) {
  int killed = 0;
  for (int round = 0; round < rounds; ++round) {
    auto victims = processes_of_job(job_id, group);
    if (victims.empty()) break;
    for (const auto& id : victims) {
      if (auto sent = signal_process(id, SIGKILL); sent && *sent) ++killed;
    }
  }
  return killed;
}

}  // namespace sys
