#pragma once
/// Finding what is left of a job after whoever held it is gone (a persisted job whose keeper was
/// killed): every process that carries the job's id in its environment (kJobIdVariable, which
/// every process of a job inherits) or is in the job's process group.

#include <sys/types.h>

#include <string_view>
#include <vector>

#include "sys/proc_stats.h"

namespace sys {

/// The live processes marked with `job_id`, or in process group `group` (0: none), by a walk
/// of /proc now. Never this process.
std::vector<ProcessId> processes_of_job(std::string_view job_id, pid_t group);

/// KILLs each process of processes_of_job (by pidfd, checked against its start time), until a
/// walk finds none or `rounds` walks were made (a process may fork while the walk runs).
/// Returns how many were signalled.
int kill_processes_of_job(std::string_view job_id, pid_t group, int rounds = 5);

}  // namespace sys
