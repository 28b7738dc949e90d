#include "integration/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <stdexcept>

extern char** environ;

namespace test {
namespace {

std::pair<base::UniqueFd, base::UniqueFd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  return {base::UniqueFd(fds[0]), base::UniqueFd(fds[1])};
}

}  // namespace

ServerProcess::ServerProcess(std::vector<std::string> args,
                             std::map<std::string, std::string> env) {
  auto [in_read, in_write] = make_pipe();
  auto [out_read, out_write] = make_pipe();
  auto [err_read, err_write] = make_pipe();
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, in_read.get(), 0);
  ::posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  ::posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);

  std::vector<std::string> argv_storage{SERVER_PATH};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    if (!env.contains(entry.substr(0, entry.find('=')))) env_storage.push_back(entry);
  }
  // Quiet logs by default: nothing here drains stderr while the server runs.
  if (!env.contains("MCP_BG_LOG_LEVEL")) env["MCP_BG_LOG_LEVEL"] = "warn";
  for (auto& [k, v] : env) env_storage.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  int rc = ::posix_spawn(&pid_, SERVER_PATH, &actions, nullptr, argv.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start the server");
  to_server_ = std::move(in_write);
  from_server_ = std::move(out_read);
  server_stderr_ = std::move(err_read);
}

ServerProcess::~ServerProcess() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void ServerProcess::send_line(const std::string& line) {
  std::string data = line + "\n";
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(to_server_.get(), data.data() + done, data.size() - done);
    if (n < 0) throw std::runtime_error("write to server failed");
    done += static_cast<size_t>(n);
  }
}

std::optional<Json> ServerProcess::next(std::chrono::milliseconds timeout) {
  if (!pending_.empty()) {
    Json first = pending_.front();
    pending_.erase(pending_.begin());
    return first;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto newline = buffer_.find('\n'); newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return Json::parse(line);
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{from_server_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
    char chunk[65536];
    ssize_t n = ::read(from_server_.get(), chunk, sizeof chunk);
    if (n <= 0) return std::nullopt;
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

std::optional<Json> ServerProcess::response(const Json& id, std::chrono::milliseconds timeout) {
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->contains("id") && (*it)["id"] == id) {
      Json found = *it;
      pending_.erase(it);
      return found;
    }
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<Json> others;
  std::optional<Json> found;
  while (!found) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    std::vector<Json> saved;
    saved.swap(pending_);  // next() must read the pipe, not hand back what we set aside
    auto message = next(left);
    pending_.swap(saved);
    if (!message) break;
    if (message->contains("id") && (*message)["id"] == id) {
      found = message;
    } else {
      others.push_back(*message);
    }
  }
  pending_.insert(pending_.end(), others.begin(), others.end());
  return found;
}

Json ServerProcess::request(const std::string& method, Json params) {
  int id = ++next_id_;
  send(Json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
  auto answer = response(id);
  if (!answer) throw std::runtime_error("no response to " + method + ": " + stderr_text());
  return *answer;
}

void ServerProcess::initialize() {
  request("initialize", Json{{"protocolVersion", "2025-11-25"},
                             {"capabilities", Json::object()},
                             {"clientInfo", {{"name", "integration"}, {"version", "1"}}}});
  send(Json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
}

Json ServerProcess::call(const std::string& tool, Json arguments) {
  Json answer = request("tools/call", Json{{"name", tool}, {"arguments", arguments}});
  if (!answer.contains("result")) return answer;
  const Json& result = answer["result"];
  return result.value("isError", false) ? result : result["structuredContent"];
}

std::optional<int> ServerProcess::wait_exit(std::chrono::milliseconds timeout) {
  // A pidfd becomes readable when the process exits: wait for exactly that, with a deadline.
  base::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  pollfd p{pidfd.get(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
  int status = 0;
  if (::waitpid(pid_, &status, 0) != pid_) return std::nullopt;
  reaped_ = true;
  return status;
}

std::string ServerProcess::stderr_text() {
  std::string text;
  ::fcntl(server_stderr_.get(), F_SETFL, O_NONBLOCK);
  char chunk[4096];
  ssize_t n;
  while ((n = ::read(server_stderr_.get(), chunk, sizeof chunk)) > 0) {
    text.append(chunk, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace test
