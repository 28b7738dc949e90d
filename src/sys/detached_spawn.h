#pragma once
/// Starting a process that is to outlive this one (a persisted job's keeper): in a session of
/// its own (so neither a signal to our process group nor our terminal's hang-up reaches it),
/// stdin and stdout on /dev/null (stdout is the MCP channel of a stdio server), stderr
/// inherited, and one descriptor passed as its fd 3.

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace sys {

struct DetachedProcess {
  pid_t pid = -1;
  base::UniqueFd pidfd;
};

base::Result<DetachedProcess> spawn_detached(const std::string& program,
                                             const std::vector<std::string>& argv,
                                             const std::vector<std::string>& env, int fd3);

}  // namespace sys
