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

/// Sets O_NONBLOCK on `fd`, so that write_all can wait out a full pipe with a deadline.
base::Result<void> set_nonblocking(int fd);

/// Writes all of `bytes`, retrying short writes and EINTR. On a non-blocking fd a full pipe is
/// waited out with poll until `deadline`, after which the write fails: requests are pipelined,
/// so a server that stops reading would otherwise hang the driver in write(2). On a blocking fd
/// the deadline is not enforced.
base::Result<void> write_all(int fd, std::string_view bytes, Clock::time_point deadline);

/// One read(2) into `buffer`, retrying EINTR; 0 means EOF.
base::Result<size_t> read_some(int fd, std::span<char> buffer);

enum class Readiness { kReady, kTimedOut };

/// Waits until `fd` is readable (or at EOF / hung up) or `deadline` passes.
base::Result<Readiness> wait_readable(int fd, Clock::time_point deadline);

/// Waits until `fd` is writable (or its reader has gone) or `deadline` passes.
base::Result<Readiness> wait_writable(int fd, Clock::time_point deadline);

}  // namespace bench
