#include "mcp/tools/ports.h"

namespace mcp::tools {

std::vector<sys::ListeningPort> job_ports(const jobs::Job& job, sys::ListeningSockets& sockets) {
  // A reading of the job's processes at most Job::kStatsReuse old: status and list have just
  // made one (their rss_bytes and cpu_seconds), and a wait polls no faster than that.
  if (!job.tree_stats()) return {};
  std::vector<pid_t> pids;
  pids.reserve(job.processes().members().size());
  for (const auto& member : job.processes().members()) pids.push_back(member.id.pid);
  return sockets.held_by(pids);
}

Json port_json(const sys::ListeningPort& port) {
  return Json{{"port", port.port}, {"address", port.address}};
}

Json ports_json(const std::vector<sys::ListeningPort>& ports) {
  Json out = Json::array();
  for (const auto& port : ports) out.push_back(port_json(port));
  return out;
}

Json port_schema() {
  return Json{{"type", "object"},
              {"properties",
               {{"port", {{"type", "integer"}, {"minimum", 1}, {"maximum", 65535}}},
                {"address",
                 {{"type", "string"},
                  {"description",
                   "The local address it listens on: 127.0.0.1 or ::1 (this machine only), "
                   "0.0.0.0 or :: (every interface), or one address."}}}}},
              {"required", {"port", "address"}}};
}

Json ports_schema() {
  return Json{{"type", "array"},
              {"items", port_schema()},
              {"description",
               "The TCP ports the job's processes listen on now (any of them: the main process, "
               "its children, what it left running), by port; absent when none."}};
}

std::optional<sys::ListeningPort> listening_on(const jobs::Job& job,
                                               std::optional<uint16_t> wanted) {
  sys::ListeningSockets sockets;
  for (auto& port : job_ports(job, sockets)) {
    if (!wanted || port.port == *wanted) return std::move(port);
  }
  return std::nullopt;
}

}  // namespace mcp::tools
