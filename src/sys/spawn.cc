// spawn_process: the child's standard streams, then one of the two starts (spawn_start.h), then
// the parent's ends made ready for the job.
#include "sys/spawn.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "sys/process.h"
#include "sys/program_path.h"
#include "sys/spawn_start.h"

namespace sys {
namespace spawn_detail {

base::Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return base::fail_errno("pipe2");
  return Pipe{base::UniqueFd(fds[0]), base::UniqueFd(fds[1])};
}

namespace {

std::string describe_exec_failure(const std::string& program, int error) {
  switch (error) {
    case ENOENT:
      return fmt::format("program '{}' does not exist", program);
    case EACCES:
      return fmt::format(
          "permission denied: '{}' is not executable (or a directory on its path "
          "is not searchable)",
          program);
    case ENOEXEC:
      return fmt::format("'{}' is not in an executable format", program);
    case ENOTDIR:
      return fmt::format("a component of the path '{}' is not a directory", program);
    default:
      return fmt::format("cannot execute '{}': {}", program, std::strerror(error));
  }
}

}  // namespace

// Why a process could not start, from the errno of its chdir or exec: a missing cwd is told
// apart from a missing program.
base::Error describe_start_failure(const std::string& program, const SpawnRequest& request,
                                   int error) {
  // A checked directory is entered by descriptor: its name is beside the point then.
  if ((error == ENOENT || error == ENOTDIR) && request.cwd_fd < 0) {
    struct stat st {};
    if (::stat(request.cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return base::Error{fmt::format("cwd '{}' is not an existing directory", request.cwd.string()),
                         error};
    }
  }
  if (error == ENOMEM && request.confinement &&
      request.confinement->limits.address_space_bytes != 0) {
    return base::Error{
        fmt::format("cannot execute '{}': its address-space limit ({} bytes) is too small for it "
                    "to start; raise the limit or leave it out",
                    program, request.confinement->limits.address_space_bytes),
        error};
  }
  return base::Error{describe_exec_failure(program, error), error};
}

}  // namespace spawn_detail

namespace {

using spawn_detail::ChildStdio;
using spawn_detail::ExecArgs;
using spawn_detail::make_pipe;
using spawn_detail::Pipe;

base::Result<ChildStdio> make_stdio(const SpawnRequest& request) {
  ChildStdio stdio;
  if (request.terminal) {
    auto opened = open_pseudo_terminal(*request.terminal);
    if (!opened) return tl::unexpected(opened.error());
    stdio.terminal = std::move(*opened);
    return stdio;
  }
  auto made_in = make_pipe();
  if (!made_in) return tl::unexpected(made_in.error());
  auto made_out = make_pipe();
  if (!made_out) return tl::unexpected(made_out.error());
  stdio.in = std::move(*made_in);
  stdio.out = std::move(*made_out);
  if (request.streams == OutputStreams::kSeparate) {
    auto made_err = make_pipe();
    if (!made_err) return tl::unexpected(made_err.error());
    stdio.err = std::move(*made_err);
  }
  return stdio;
}

}  // namespace

base::Result<SpawnedProcess> spawn_process(const SpawnRequest& request) {
  if (request.argv.empty()) return base::fail("nothing to run: argv is empty");
  auto program = request.program.empty()
                     ? resolve_program(request.argv[0], find_path_value(request.env))
                     : base::Result<std::string>(request.program);
  if (!program) return tl::unexpected(program.error());

  // Either three pipes or a terminal; the parent's ends of whichever it is are kept here.
  auto made = make_stdio(request);
  if (!made) return tl::unexpected(made.error());
  ChildStdio& stdio = *made;

  std::vector<char*> argv;
  argv.reserve(request.argv.size() + 1);
  for (const auto& arg : request.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(request.env.size() + 1);
  for (const auto& entry : request.env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);

  ExecArgs exec{program->c_str(), argv.data(), envp.data()};
  // posix_spawn runs no code of ours in the child and cannot execute a descriptor.
  bool own_child = request.confinement || request.program_fd >= 0;
  auto started = own_child ? spawn_detail::clone_and_exec(request, stdio, exec)
                           : spawn_detail::start_with_posix_spawn(request, stdio, exec);
  if (!started) return tl::unexpected(started.error());
  pid_t pid = *started;

  auto pidfd = open_pidfd(pid);
  if (!pidfd) {
    // Without a pidfd we cannot watch the process; do not leave it running unwatched.
    (void)signal_group(pid, SIGKILL);
    reap_ending_child(pid);
    return base::fail_errno("pidfd_open", pidfd.error().sys_errno);
  }

  SpawnedProcess process;
  process.pid = pid;
  process.pidfd = std::move(*pidfd);
  if (stdio.terminal) {
    int master = stdio.terminal->master.get();
    ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
    process.terminal_fd = std::move(stdio.terminal->master);
    return process;
  }

  // Larger pipes mean fewer wake-ups for chatty jobs. Best effort: an unprivileged user may be over
  // the pipe-buffer quota, and the default size still works.
  for (const Pipe* output : {&stdio.out, &stdio.err}) {
    if (output->read_end) ::fcntl(output->read_end.get(), F_SETPIPE_SZ, 1 << 20);
  }
  for (int fd : {stdio.in.write_end.get(), stdio.out.read_end.get(), stdio.err.read_end.get()}) {
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  process.stdin_fd = std::move(stdio.in.write_end);
  process.stdout_fd = std::move(stdio.out.read_end);
  process.stderr_fd = std::move(stdio.err.read_end);
  return process;
}

}  // namespace sys
