#pragma once
/// The TCP ports a job's processes listen on, as status, list, the job resource and wait
/// (until_port) show them: [{port, address}], read from /proc when asked (sys/listening_ports).

#include <optional>
#include <vector>

#include "jobs/job.h"
#include "mcp/json_rpc.h"
#include "sys/listening_ports.h"

namespace mcp::tools {

/// The ports the processes of `job` listen on now (its main process while it runs, and what it
/// left behind), each once, by port; none for a job that holds no process. `sockets` may serve
/// several jobs of one query (a page of list), so each network namespace's table is read once.
std::vector<sys::ListeningPort> job_ports(const jobs::Job& job, sys::ListeningSockets& sockets);

/// {port, address}.
Json port_json(const sys::ListeningPort& port);
/// [{port, address}, ...].
Json ports_json(const std::vector<sys::ListeningPort>& ports);
/// The schema of one {port, address}.
Json port_schema();
/// The schema of the `ports` field of status and list.
Json ports_schema();

/// The first port of `job` that is `wanted` (any port when nullopt), as of now.
std::optional<sys::ListeningPort> listening_on(const jobs::Job& job,
                                               std::optional<uint16_t> wanted);

}  // namespace mcp::tools
