#include "proc_stats.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/unique_fd.h"

namespace bench {
namespace {

// The whole of a small /proc file. /proc files report a size of 0, so read until EOF.
base::Result<std::string> read_proc_file(const std::string& path) {
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return base::fail_errno(fmt::format("open {}", path));
  std::string text;
  char chunk[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::fail_errno(fmt::format("read {}", path));
    if (n == 0) return text;
    text.append(chunk, static_cast<size_t>(n));
  }
}

template <class T>
bool parse_number(std::string_view text, T& value) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end != text.data();
}

// The value of "Key:   123 kB" in /proc/<pid>/status, as the first number after the key.
base::Result<uint64_t> status_field(std::string_view status, std::string_view key) {
  size_t at = status.find(fmt::format("\n{}:", key));
  if (at == std::string_view::npos) return base::fail(fmt::format("no {} in /proc status", key));
  std::string_view rest = status.substr(at + key.size() + 2);
  rest.remove_prefix(std::min(rest.find_first_not_of(" \t"), rest.size()));
  uint64_t value = 0;
  if (!parse_number(rest, value))
    return base::fail(fmt::format("unreadable {} in /proc status", key));
  return value;
}

// The fields of /proc/<pid>/stat after "(comm)", starting with the state (field 3). The command
// name may hold spaces and parentheses, so split after the last ')'.
struct StatFields {
  char state = '?';
  std::vector<std::string_view> rest;  // Fields 4 onwards: rest[0] is ppid, rest[10] utime...
};

base::Result<StatFields> split_stat(std::string_view stat) {
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos || close + 2 >= stat.size()) {
    return base::fail("unreadable /proc stat line");
  }
  StatFields fields;
  std::string_view tail = stat.substr(close + 2);
  fields.state = tail[0];
  tail.remove_prefix(1);
  while (!tail.empty()) {
    tail.remove_prefix(std::min(tail.find_first_not_of(' '), tail.size()));
    size_t end = std::min(tail.find_first_of(" \n"), tail.size());
    if (end > 0) fields.rest.push_back(tail.substr(0, end));
    tail.remove_prefix(end);
    if (!tail.empty() && tail.front() == '\n') break;
  }
  return fields;
}

constexpr size_t kPpidIndex = 0;    // Field 4.
constexpr size_t kUtimeIndex = 10;  // Field 14.
constexpr size_t kStimeIndex = 11;  // Field 15.

}  // namespace

base::Result<ThreadsAndMemory> read_threads_and_memory(pid_t pid) {
  auto text = read_proc_file(fmt::format("/proc/{}/status", pid));
  if (!text) return tl::unexpected(text.error());
  auto threads = status_field(*text, "Threads");
  if (!threads) return tl::unexpected(threads.error());
  auto rss_kb = status_field(*text, "VmRSS");
  if (!rss_kb) return tl::unexpected(rss_kb.error());
  auto peak_kb = status_field(*text, "VmHWM");
  if (!peak_kb) return tl::unexpected(peak_kb.error());
  return ThreadsAndMemory{static_cast<int>(*threads), *rss_kb * 1024, *peak_kb * 1024};
}

base::Result<Clock::duration> read_cpu_time(pid_t pid) {
  auto text = read_proc_file(fmt::format("/proc/{}/stat", pid));
  if (!text) return tl::unexpected(text.error());
  auto fields = split_stat(*text);
  if (!fields) return tl::unexpected(fields.error());
  uint64_t utime = 0;
  uint64_t stime = 0;
  if (fields->rest.size() <= kStimeIndex || !parse_number(fields->rest[kUtimeIndex], utime) ||
      !parse_number(fields->rest[kStimeIndex], stime)) {
    return base::fail(fmt::format("no utime/stime in /proc/{}/stat", pid));
  }
  const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  if (ticks_per_second <= 0) return base::fail_errno("sysconf(_SC_CLK_TCK)");
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
      static_cast<double>(utime + stime) / static_cast<double>(ticks_per_second)));
}

base::Result<int> count_open_fds(pid_t pid) {
  std::error_code error;
  std::filesystem::directory_iterator entries(fmt::format("/proc/{}/fd", pid), error);
  if (error) return base::fail(fmt::format("listing /proc/{}/fd: {}", pid, error.message()));
  int count = 0;
  for (auto it = entries; it != std::filesystem::directory_iterator(); it.increment(error)) {
    if (error) return base::fail(fmt::format("listing /proc/{}/fd: {}", pid, error.message()));
    ++count;
  }
  return count;
}

base::Result<std::vector<pid_t>> read_children(pid_t pid) {
  auto text = read_proc_file(fmt::format("/proc/{}/task/{}/children", pid, pid));
  if (!text) return tl::unexpected(text.error());
  std::vector<pid_t> children;
  std::string_view rest = *text;
  while (!rest.empty()) {
    rest.remove_prefix(std::min(rest.find_first_not_of(' '), rest.size()));
    size_t end = std::min(rest.find(' '), rest.size());
    pid_t child = 0;
    if (end > 0 && parse_number(rest.substr(0, end), child)) children.push_back(child);
    rest.remove_prefix(end);
  }
  return children;
}

base::Result<int> count_zombie_children(pid_t parent) {
  std::error_code error;
  std::filesystem::directory_iterator entries("/proc", error);
  if (error) return base::fail(fmt::format("listing /proc: {}", error.message()));
  int zombies = 0;
  for (auto it = entries; it != std::filesystem::directory_iterator(); it.increment(error)) {
    if (error) return base::fail(fmt::format("listing /proc: {}", error.message()));
    std::string name = it->path().filename().string();
    pid_t pid = 0;
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;  // not a process
    if (!parse_number(std::string_view(name), pid)) continue;
    auto text = read_proc_file(fmt::format("/proc/{}/stat", pid));
    if (!text) continue;  // The process ended between listing and reading: not a zombie of ours.
    auto fields = split_stat(*text);
    pid_t ppid = 0;
    if (!fields || fields->rest.empty() || !parse_number(fields->rest[kPpidIndex], ppid)) continue;
    if (ppid == parent && fields->state == 'Z') ++zombies;
  }
  return zombies;
}

}  // namespace bench
