#pragma once
/// The few fd operations the driver needs, each system call wrapped once and every fd born
/// O_CLOEXEC and owned by a base::UniqueFd. Close-on-exec matters here beyond hygiene: a
/// reference child that inherited the server's stdin pipe would keep the server from ever seeing
/// EOF, and the shutdown measurement would hang.

#include <filesystem>
#include <span>
#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"
#include "stats.h"

namespace bench {

struct Pipe {
  base::UniqueFd read_end;
  base::UniqueFd write_end;
};

base::Result<Pipe> make_pipe();

/// Creates (or truncates) `path` for writing.
base::Result<base::UniqueFd> create_file(const std::filesystem::path& path);

/// Writes all of `bytes`, retrying short writes and EINTR. Blocking: used only for requests of a
/// few hundred bytes to a server that is read synchronously, so the pipe never fills.
base::Result<void> write_all(int fd, std::string_view bytes);

/// One read(2) into `buffer`, retrying EINTR; 0 means EOF.
base::Result<size_t> read_some(int fd, std::span<char> buffer);

enum class Readiness { kReady, kTimedOut };

/// Waits until `fd` is readable (or at EOF / hung up) or `deadline` passes.
base::Result<Readiness> wait_readable(int fd, Clock::time_point deadline);

}  // namespace bench
