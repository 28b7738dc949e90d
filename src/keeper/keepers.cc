#include "keeper/keepers.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "keeper/keeper_link.h"
#include "keeper/kept_request.h"
#include "store/state_dir.h"
#include "sys/detached_spawn.h"
#include "sys/marked_processes.h"

extern char** environ;

namespace keeper {
namespace {

// A keeper starts by reading the settings and starting the job: as long as a server start.
// (Sanitizer builds are several times slower.)
constexpr std::chrono::seconds kStartBound{20};
// A running keeper answers a hello from memory.
constexpr std::chrono::seconds kHelloBound{5};

base::WallClock::time_point from_millis(int64_t millis) {
  return base::WallClock::time_point(std::chrono::milliseconds(millis));
}

std::vector<std::string> keeper_environment(int fd) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    if (text.starts_with(std::string(kKeeperFdVariable) + "=")) continue;
    env.emplace_back(text);
  }
  env.push_back(fmt::format("{}={}", kKeeperFdVariable, fd));
  return env;
}

}  // namespace

std::filesystem::path keeper_socket(const std::filesystem::path& state_dir, std::string_view id) {
  return store::keeper_file(state_dir, id, ".sock");
}

std::filesystem::path keeper_log(const std::filesystem::path& state_dir, std::string_view id) {
  return store::keeper_file(state_dir, id, ".log");
}

Keepers::Keepers(jobs::JobManager& jobs, history::JobHistory& history,
                 std::filesystem::path state_dir, std::vector<std::string> server_args)
    : jobs_(jobs),
      history_(history),
      state_dir_(std::move(state_dir)),
      server_args_(std::move(server_args)) {}

base::Result<std::shared_ptr<jobs::Job>> Keepers::start(const jobs::ExecuteRequest& request) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return base::fail_errno("cannot make a socket for the keeper");
  }
  base::UniqueFd ours(pair[0]);
  base::UniqueFd theirs(pair[1]);
  // Passed as fd 3: dup2 onto itself would leave close-on-exec set, so never from 3.
  if (theirs.get() <= 3) {
    int high = ::fcntl(theirs.get(), F_DUPFD_CLOEXEC, 10);
    if (high < 0) return base::fail_errno("cannot pass a socket to the keeper");
    theirs.reset(high);
  }
  std::vector<std::string> argv{"mcp-background-job"};
  argv.insert(argv.end(), server_args_.begin(), server_args_.end());
  auto keeper = sys::spawn_detached("/proc/self/exe", argv, keeper_environment(3), theirs.get());
  if (!keeper) return tl::unexpected(keeper.error());
  theirs.reset();
  jobs_.hold_keeper(keeper->pid);

  auto deadline = std::chrono::steady_clock::now() + kStartBound;
  auto sent = write_all(ours.get(), encode_frame(request_to_json(request)), deadline);
  FrameReader reader;
  auto answer = sent ? read_frame(ours.get(), reader, deadline) : tl::unexpected(sent.error());
  if (!answer) {
    (void)::kill(keeper->pid, SIGKILL);  // Stuck before it started anything: end it.
    return base::fail("the job's keeper did not start: " + answer.error().message);
  }
  if (answer->header.value("t", "") != "started") {
    auto error = base::fail(answer->header.value("message", "the keeper could not start the job"));
    error.value().rule = answer->header.value("rule", "");
    return error;
  }
  return show(std::move(ours));
}

base::Result<std::shared_ptr<jobs::Job>> Keepers::take_back(std::string_view id) {
  auto path = keeper_socket(state_dir_, id);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof(address.sun_path)) {
    return base::fail("the state directory's path is too long for a unix socket: " + path.string());
  }
  std::memcpy(address.sun_path, path.c_str(), path.string().size());
  base::UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket) return base::fail_errno("socket");
  if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return base::fail_errno(
        fmt::format("cannot reach the keeper of job {} at {}", id, path.string()));
  }
  return show(std::move(socket));
}

base::Result<std::shared_ptr<jobs::Job>> Keepers::show(base::UniqueFd socket) {
  auto link = std::make_shared<KeeperLink>(jobs_.executor(), std::move(socket));
  auto deadline = std::chrono::steady_clock::now() + kHelloBound;
  auto hello = link->begin(deadline);
  if (!hello) return tl::unexpected(hello.error());
  const Json& h = *hello;
  jobs::Job::Kept kept;
  kept.id = h.value("id", "");
  if (auto existing = jobs_.find(kept.id)) return existing;  // Taken back meanwhile.
  kept.spec.command = h.value("command", "");
  kept.spec.cwd = h.value("cwd", "");
  kept.spec.label = h.value("label", "");
  kept.spec.owner = jobs::JobOwner{h.value("client", ""), h.value("session", "")};
  if (h.contains("terminal")) {
    kept.spec.terminal =
        sys::TerminalSize{h["terminal"].value("cols", 120), h["terminal"].value("rows", 40)};
  }
  kept.spec.streams = h.value("separate_streams", false) ? sys::OutputStreams::kSeparate
                                                         : sys::OutputStreams::kMerged;
  kept.pid = h.value("pid", -1);
  kept.stdin_inode = h.value<ino_t>("stdin_inode", 0);
  kept.max_output_bytes = h.value<uint64_t>("max_output", uint64_t{10} << 20);
  kept.queued_at = from_millis(h.value<int64_t>("queued_at", 0));
  kept.started = from_millis(h.value<int64_t>("started", 0));
  auto job = jobs::Job::kept(jobs_.executor(), std::move(kept), link, jobs_.kept_job_events());
  auto attached = link->attach(job, deadline, [this](jobs::Job& gone) {
    // Killed (or crashed) without recording the end: the job is lost, and what is left of it
    // is ended here, as its keeper would have.
    int killed = sys::kill_processes_of_job(gone.id(), gone.pid());
    spdlog::warn("job {}: its keeper is gone; the job is lost ({} process(es) of it ended)",
                 gone.id(), killed);
    jobs::Job::KeptEnd end{.status = jobs::JobStatus::kLost,
                           .reason = jobs::EndReason::kKeeperGone,
                           .ended = base::WallClock::now()};
    gone.kept_ended(end);
    history_.mark_lost(gone.id(), jobs::EndReason::kKeeperGone);
  });
  if (!attached) return tl::unexpected(attached.error());
  jobs_.adopt_kept(job);
  return job;
}

}  // namespace keeper
