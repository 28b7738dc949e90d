#include "policy/audit_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "base/time.h"

namespace policy {
namespace {

base::Result<base::UniqueFd> open_for_append(const std::filesystem::path& path) {
  // O_NONBLOCK only for the open: a FIFO with no reader fails (ENXIO) instead of hanging
  // start-up. Writes block as usual, on the writer thread.
  base::UniqueFd fd(
      ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600));
  if (!fd) return base::fail_errno(fmt::format("cannot open '{}' for writing", path.string()));
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return base::fail_errno(fmt::format("cannot make '{}' blocking", path.string()));
  }
  return fd;
}

uint64_t size_of(int fd) {
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) return 0;
  return static_cast<uint64_t>(info.st_size);
}

std::string as_line(const nlohmann::json& entry) {
  // Commands and output are bytes, not always UTF-8: replace, never throw.
  return entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

base::Result<std::unique_ptr<AuditLog>> AuditLog::open(Options options) {
  if (options.path.empty()) return base::fail("audit_log: the path is empty");
  auto fd = open_for_append(options.path);
  if (!fd) return base::fail("audit_log: " + fd.error().message);
  struct stat info {};
  if (::fstat(fd->get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    options.max_size = 0;  // A pipe or a device is not rotated: renaming it would break it.
  } else if (options.max_size > 0) {
    std::filesystem::path dir = options.path.parent_path();
    if (dir.empty()) dir = ".";
    if (::access(dir.c_str(), W_OK) != 0) {
      return base::fail_errno(fmt::format(
          "audit_log: the directory '{}' is not writable, and rotating the log creates '{}.1' "
          "there",
          dir.string(), options.path.string()));
    }
  }
  uint64_t size = size_of(fd->get());
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(options), std::move(*fd), size));
}

AuditLog::AuditLog(Options options, base::UniqueFd fd, uint64_t size)
    : options_(std::move(options)), fd_(std::move(fd)), size_(size), writer_([this] { run(); }) {}

AuditLog::~AuditLog() { close(); }

void AuditLog::record(nlohmann::json entry) {
  if (!entry.contains("time")) entry["time"] = base::iso8601_utc(base::WallClock::now());
  std::string line = as_line(entry);
  {
    std::lock_guard lock(mutex_);
    if (closing_ || queue_.size() >= options_.queue_capacity) {
      ++dropped_pending_;
      ++stats_.dropped;
      return;
    }
    // The first record after a loss says what was lost, where it was lost.
    if (dropped_pending_ > 0) {
      queue_.push_back(loss_notice(std::exchange(dropped_pending_, 0),
                                   "the audit log's queue was full (the disk is slower than the "
                                   "records arrive)"));
    }
    queue_.push_back(std::move(line));
  }
  wake_.notify_one();
}

void AuditLog::close() {
  {
    std::lock_guard lock(mutex_);
    if (!closing_ && dropped_pending_ > 0) {
      queue_.push_back(
          loss_notice(std::exchange(dropped_pending_, 0), "the audit log's queue was full"));
    }
    closing_ = true;
  }
  wake_.notify_one();
  if (writer_.joinable()) writer_.join();
  fd_.reset();  // The writer is gone: the file is ours to close.
}

AuditLog::Stats AuditLog::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::string AuditLog::loss_notice(uint64_t count, const std::string& reason) const {
  return as_line(nlohmann::json{{"time", base::iso8601_utc(base::WallClock::now())},
                                {"event", "audit_records_lost"},
                                {"count", count},
                                {"reason", reason}});
}

void AuditLog::run() {
  for (;;) {
    std::deque<std::string> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // Closing, and everything is written.
      batch.swap(queue_);
    }
    write_lines(batch);
  }
}

void AuditLog::write_lines(std::deque<std::string>& lines) {
  Stats done;
  auto write_line = [&](const std::string& line) {
    if (options_.max_size > 0 && size_ > 0 && size_ + line.size() > options_.max_size) rotate();
    if (!fd_) {  // A reopen after rotating failed: try again.
      auto reopened = open_for_append(options_.path);
      if (!reopened) {
        failure_ = reopened.error().message;
        return false;
      }
      fd_ = std::move(*reopened);
      size_ = size_of(fd_.get());
    }
    if (!write_all(line)) return false;
    size_ += line.size();
    return true;
  };
  // Records lost to an earlier write error are reported first, where they were lost.
  if (failed_pending_ > 0 && write_line(loss_notice(failed_pending_, failure_))) {
    failed_pending_ = 0;
    ++done.written;
  }
  for (const auto& line : lines) {
    if (write_line(line)) {
      ++done.written;
    } else {
      ++failed_pending_;
      ++done.failed;
    }
  }
  std::lock_guard lock(mutex_);
  stats_.written += done.written;
  stats_.failed += done.failed;
  stats_.rotations = rotations_;
}

bool AuditLog::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      failure_ =
          fmt::format("writing '{}' failed: {}", options_.path.string(), std::strerror(errno));
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void AuditLog::rotate() {
  fd_.reset();
  std::filesystem::path previous = options_.path;
  previous += ".1";
  std::error_code error;
  std::filesystem::rename(options_.path, previous, error);  // Replaces the previous PATH.1.
  if (error) {
    failure_ = fmt::format("rotating '{}' failed: {}", options_.path.string(), error.message());
  } else {
    ++rotations_;
  }
  auto reopened = open_for_append(options_.path);
  if (!reopened) {
    failure_ = reopened.error().message;
    return;  // write_line tries again, and counts the record as lost if it cannot.
  }
  fd_ = std::move(*reopened);
  size_ = size_of(fd_.get());
}

}  // namespace policy
