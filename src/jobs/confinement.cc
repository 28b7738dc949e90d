#include "jobs/confinement.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "sys/landlock.h"
#include "sys/metadata_filter.h"

namespace jobs {
namespace {

// The system's temp directory as programs find it: $TMPDIR, else /tmp.
std::filesystem::path system_temp_dir() {
  const char* tmpdir = std::getenv("TMPDIR");
  struct stat st {};
  if (tmpdir != nullptr && *tmpdir != '\0' && ::stat(tmpdir, &st) == 0 && S_ISDIR(st.st_mode)) {
    return tmpdir;
  }
  return "/tmp";
}

// One limit of a job against the server's: 0 on either side means none.
template <class T>
base::Result<T> tighten(T server, T asked, std::string_view argument, std::string_view setting,
                        std::string_view unit = "") {
  if (asked == 0) return server;
  if (server == 0 || asked <= server) return asked;
  return base::deny(
      fmt::format("limits.{} = {} is above the server's {} ({}{}): a job may only tighten the "
                  "server's limits; ask for at most {}, or leave it out",
                  argument, asked, setting, server, unit, server),
      fmt::format("{}: {}", setting, server));
}

}  // namespace

Confinement::Confinement(ConfinementSettings settings)
    : settings_(std::move(settings)), temp_dir_(system_temp_dir()) {}

base::Result<void> Confinement::check() {
  const JobConfinement& defaults = settings_.defaults;
  if (defaults.sandbox || !defaults.network) {
    std::string asked = !defaults.sandbox  ? "network = false"
                        : defaults.network ? "sandbox = \"landlock\""
                                           : "sandbox = \"landlock\" with network = false";
    std::string why;
    if (sys::landlock_abi_version(&why) == 0) {
      return base::fail(fmt::format(
          "{} needs Landlock, which is not available: {}. Run on a kernel with Landlock, or {}",
          asked, why,
          defaults.sandbox ? "set sandbox = \"none\" to run jobs unconfined"
                           : "drop network = false"));
    }
    if (auto built = ruleset(defaults.sandbox, defaults.network); !built) {
      return base::fail(fmt::format("{} cannot be enforced: {}", asked, built.error().message));
    }
  }
  if (defaults.limits.processes > 0) {
    if (auto mechanism = process_limit_mechanism(); !mechanism) {
      return base::fail(fmt::format("max_processes = {} cannot be enforced: {}",
                                    defaults.limits.processes, mechanism.error().message));
    }
  }
  return {};
}

base::Result<JobConfinement> Confinement::effective(const ConfinementOverride& request) const {
  const JobConfinement& server = settings_.defaults;
  JobConfinement job;
  auto cpu = tighten(server.limits.cpu_seconds, request.limits.cpu_seconds, "cpu_seconds",
                     "max_cpu_time", " s");
  if (!cpu) return tl::unexpected(cpu.error());
  auto memory = tighten(server.limits.memory_bytes, request.limits.memory_bytes, "memory_bytes",
                        "max_memory", " bytes");
  if (!memory) return tl::unexpected(memory.error());
  auto address_space =
      tighten(server.limits.address_space_bytes, request.limits.address_space_bytes,
              "address_space_bytes", "max_address_space", " bytes");
  if (!address_space) return tl::unexpected(address_space.error());
  auto processes =
      tighten(server.limits.processes, request.limits.processes, "processes", "max_processes");
  if (!processes) return tl::unexpected(processes.error());
  auto open_files =
      tighten(server.limits.open_files, request.limits.open_files, "open_files", "max_open_files");
  if (!open_files) return tl::unexpected(open_files.error());
  auto file_size = tighten(server.limits.file_size_bytes, request.limits.file_size_bytes,
                           "file_size_bytes", "max_file_size", " bytes");
  if (!file_size) return tl::unexpected(file_size.error());
  job.limits = {*cpu, *memory, *address_space, *processes, *open_files, *file_size};

  if (request.sandbox == false && server.sandbox) {
    return base::deny(
        "sandbox: false would run the job outside the server's sandbox (sandbox = \"landlock\"): "
        "a job may only tighten confinement; leave sandbox out",
        "sandbox: landlock");
  }
  if (request.network == true && !server.network) {
    return base::deny(
        "network: true would give the job the network the server denies (network = false): a "
        "job may only tighten confinement; leave network out",
        "network: false");
  }
  job.sandbox = request.sandbox.value_or(server.sandbox);
  job.network = request.network.value_or(server.network);
  return job;
}

base::Result<PreparedConfinement> Confinement::prepare(const std::string& job_id,
                                                       const JobConfinement& confinement) {
  PreparedConfinement prepared;
  sys::SpawnConfinement spawn;
  const ResourceLimits& limits = confinement.limits;
  spawn.limits = {.cpu_seconds = limits.cpu_seconds,
                  .address_space_bytes = limits.address_space_bytes,
                  .open_files = static_cast<uint64_t>(limits.open_files),
                  .file_size_bytes = limits.file_size_bytes};
  bool needed = limits.cpu_seconds != 0 || limits.address_space_bytes != 0 ||
                limits.open_files != 0 || limits.file_size_bytes != 0;
  if (confinement.sandbox || !confinement.network) {
    auto fd = ruleset(confinement.sandbox, confinement.network);
    if (!fd) return tl::unexpected(fd.error());
    spawn.landlock_ruleset_fd = *fd;
    // What Landlock cannot see: extended attributes (see sys/metadata_filter.h).
    if (confinement.sandbox) spawn.seccomp_filter = &sys::metadata_filter();
    needed = true;
  }
  if (limits.processes > 0) {
    auto mechanism = process_limit_mechanism();
    if (!mechanism) return tl::unexpected(mechanism.error());
    if (*mechanism != nullptr) {
      auto cgroup = (*mechanism)->create_job(job_id, limits.processes);
      if (!cgroup) return tl::unexpected(cgroup.error());
      prepared.cgroup = std::move(*cgroup);
      spawn.cgroup_procs_fd = prepared.cgroup->join_fd();
    } else {
      spawn.limits.processes = static_cast<uint64_t>(limits.processes);
    }
    needed = true;
  }
  if (needed) prepared.spawn = spawn;
  return prepared;
}

base::Result<int> Confinement::ruleset(bool sandbox, bool network) {
  auto key = std::make_pair(sandbox, network);
  if (auto found = rulesets_.find(key); found != rulesets_.end()) return found->second.get();
  sys::LandlockPolicy policy;
  policy.restrict_writes = sandbox;
  policy.network = network;
  policy.writable = settings_.allowed_roots;
  policy.writable.push_back(temp_dir_);
  auto built = sys::build_landlock_ruleset(policy);
  if (!built) return tl::unexpected(built.error());
  int fd = built->get();
  rulesets_.emplace(key, std::move(*built));
  return fd;
}

base::Result<sys::PidsCgroupParent*> Confinement::process_limit_mechanism() {
  if (pids_) return pids_.get();
  if (!pids_error_) {
    auto made = sys::PidsCgroupParent::create();
    if (made) {
      pids_ = std::move(*made);
      spdlog::info("process limits use the pids cgroup {}", pids_->dir().string());
      return pids_.get();
    }
    pids_error_ = made.error();
  }
  if (::geteuid() != 0) {
    // RLIMIT_NPROC binds every process of the user, not just the job's: a weaker fallback.
    if (!warned_nproc_) {
      warned_nproc_ = true;
      spdlog::warn(
          "no pids cgroup can be used ({}); process limits fall back to RLIMIT_NPROC, which "
          "counts every process of user {} (the server and all jobs), not only the job's",
          pids_error_->message, ::geteuid());
    }
    return nullptr;
  }
  return base::fail(fmt::format(
      "a process limit needs a pids cgroup, and none can be used: {}. RLIMIT_NPROC is no "
      "substitute: the kernel does not enforce it for root",
      pids_error_->message));
}

}  // namespace jobs
