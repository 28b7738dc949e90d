// run_keeper: a persisted job's keeper, from its start by a server to the job's end.
#include "app/run_keeper.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "app/engine_settings.h"
#include "app/logging.h"
#include "config/config.h"
#include "history/job_history.h"
#include "jobs/job_manager.h"
#include "keeper/frames.h"
#include "keeper/keeper_service.h"
#include "keeper/keepers.h"
#include "keeper/kept_request.h"
#include "keeper/output_copy.h"
#include "policy/redactor.h"
#include "store/output_file.h"
#include "store/state_dir.h"
#include "sys/process.h"
#include "sys/watchdog.h"

namespace app {
namespace {

namespace asio = boost::asio;

// The server that started us waits this long for the answer (keeper::Keepers).
constexpr std::chrono::seconds kRequestBound{20};
// After SIGTERM to the keeper (the machine shutting down): the job's grace to end.
constexpr std::chrono::seconds kStopGrace{5};

// Tells the server that started us why the job did not start; the exit status says it too.
int refuse(int control, const std::string& message, const std::string& rule = {}) {
  (void)keeper::write_all(
      control, keeper::encode_frame({{"t", "error"}, {"message", message}, {"rule", rule}}),
      std::chrono::steady_clock::now() + std::chrono::seconds(2));
  return 2;
}

}  // namespace

int run_keeper(int argc, char** argv) {
  // Started as /proc/self/exe, it would be "exe" in ps and top.
  ::prctl(PR_SET_NAME, "mcp-bg-keeper");
  const char* fd_text = std::getenv(keeper::kKeeperFdVariable);
  int control = fd_text != nullptr ? std::atoi(fd_text) : -1;
  ::unsetenv(keeper::kKeeperFdVariable);
  if (control < 3) return 2;
  base::UniqueFd control_fd(control);
  // Nothing we were given reaches the job, the control socket included.
  (void)sys::mark_inherited_fds_cloexec();

  std::vector<std::string> args(argv + 1, argv + argc);
  auto outcome = config::load_config(args, config::current_environment());
  if (!outcome.config)
    return refuse(control, "the keeper cannot read the settings: " + outcome.message);
  const config::Config& config = *outcome.config;
  ::unsetenv("MCP_BG_AUTH_TOKEN");
  auto command_policy = build_command_policy(config);
  if (!command_policy) return refuse(control, command_policy.error().message);
  auto redactor = policy::Redactor::create(config.redact_patterns);
  if (!redactor) return refuse(control, redactor.error().message);
  std::filesystem::path state_dir =
      config.state_dir.value_or(store::default_state_dir(config::current_environment()));
  if (state_dir.empty()) {
    return refuse(control,
                  "a persisted job needs a state directory (state_dir), where its keeper "
                  "listens and its history is kept; state_dir is none");
  }

  // The server's stderr (a client's pipe, perhaps closed soon, whose end the client may wait
  // for) is not ours to hold: the keeper, and its watchdog, log beside its socket.
  std::error_code made;
  std::filesystem::create_directories(state_dir / "keepers", made);
  std::filesystem::permissions(state_dir / "keepers", std::filesystem::perms::owner_all, made);
  auto early_log = state_dir / "keepers" / fmt::format("keeper-{}.log", ::getpid());
  base::UniqueFd log(::open(early_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log) {
    return refuse(control, fmt::format("cannot write in {}: {}", (state_dir / "keepers").string(),
                                       std::strerror(errno)));
  }
  ::dup2(log.get(), STDERR_FILENO);

  // Forked while this process is single-threaded: it ends the job should the keeper be killed.
  auto watchdog = sys::Watchdog::start();
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGHUP, SIG_IGN);
  set_up_logging(config.log_level);

  keeper::FrameReader reader;
  auto request_frame =
      keeper::read_frame(control, reader, std::chrono::steady_clock::now() + kRequestBound);
  if (!request_frame) return 2;
  auto request = keeper::request_from_json(request_frame->header);
  if (!request) return refuse(control, request.error().message);

  asio::io_context io(1);
  const policy::Redactor* redacting = config.redact ? &*redactor : nullptr;
  jobs::JobManager jobs(io.get_executor(), engine_settings(config, *command_policy, redacting),
                        watchdog ? &*watchdog : nullptr);
  if (auto confined = jobs.check_confinement(); !confined) {
    return refuse(control, confined.error().message);
  }
  auto history =
      history::JobHistory::open(state_dir, jobs, redacting, history::JobHistory::Role::kKeeper);
  if (!history) return refuse(control, "state_dir: " + history.error().message);
  auto started = jobs.execute(*request);
  if (!started) {
    std::filesystem::remove(early_log, made);
    return refuse(control, started.error().message, started.error().rule);
  }
  std::shared_ptr<jobs::Job> job = *started;

  std::filesystem::rename(early_log, keeper::keeper_log(state_dir, job->id()), made);

  // The output on disk as well, so that it outlives the keeper should the keeper be killed.
  auto output_path = store::keeper_file(state_dir, job->id(), ".out");
  auto output_file = store::OutputFile::create(output_path, job->output().max_bytes());
  if (output_file) {
    asio::co_spawn(io, keeper::copy_output(job, *output_file), asio::detached);
  } else {
    spdlog::warn("the output of job {} is kept in memory only: {}", job->id(),
                 output_file.error().message);
  }

  keeper::KeeperService service(io.get_executor(), job);
  if (auto listening = service.listen(keeper::keeper_socket(state_dir, job->id())); !listening) {
    job->kill(SIGKILL, std::chrono::milliseconds(0));
    return refuse(control, listening.error().message);
  }
  (void)keeper::write_all(control, keeper::encode_frame({{"t", "started"}, {"id", job->id()}}),
                          std::chrono::steady_clock::now() + std::chrono::seconds(2));
  service.serve(std::move(control_fd));
  spdlog::info("keeping job {} (pid {}): {}", job->id(), job->pid(),
               redacting ? redacting->redact(job->spec().command) : job->spec().command);

  asio::signal_set stop(io, SIGTERM, SIGINT);
  stop.async_wait([&](boost::system::error_code ec, int) {
    if (!ec) job->kill(SIGTERM, kStopGrace);
  });
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await service.run_until_done();
        spdlog::info("job {} is over ({}); the keeper leaves", job->id(),
                     jobs::to_string(job->status()));
        stop.cancel();
        io.stop();
      },
      asio::detached);
  io.run();
  (*history)->flush();
  // The history holds the job's output now (redacted): the raw copy goes.
  if (output_file) std::filesystem::remove(output_path, made);
  return 0;
}

}  // namespace app
