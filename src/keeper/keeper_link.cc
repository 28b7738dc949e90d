#include "keeper/keeper_link.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace keeper {
namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
// Actions are small and a keeper reads them at once; a keeper that takes longer is stuck.
constexpr std::chrono::seconds kSendBound{2};
constexpr std::chrono::seconds kFlushBound{2};

base::WallClock::time_point from_millis(int64_t millis) {
  return base::WallClock::time_point(std::chrono::milliseconds(millis));
}

std::optional<jobs::JobStatus> parse_status(std::string_view text) {
  for (size_t i = 0; i < jobs::kJobStatusCount; ++i) {
    auto status = static_cast<jobs::JobStatus>(i);
    if (jobs::to_string(status) == text) return status;
  }
  return std::nullopt;
}

jobs::EndReason parse_reason(std::string_view text) {
  for (auto reason : {jobs::EndReason::kMemoryLimit, jobs::EndReason::kServerGone,
                      jobs::EndReason::kKeeperGone}) {
    if (jobs::to_string(reason) == text) return reason;
  }
  return jobs::EndReason::kNone;
}

}  // namespace

KeeperLink::KeeperLink(const asio::any_io_executor& executor, base::UniqueFd socket)
    : socket_(executor) {
  boost::system::error_code ignored;
  socket_.assign(socket.release());
  socket_.non_blocking(true, ignored);
}

KeeperLink::~KeeperLink() = default;

base::Result<void> KeeperLink::send(const Json& header, std::string_view payload) {
  if (closed_ || !socket_.is_open()) return base::fail("the job's keeper is no longer connected");
  return write_all(socket_.native_handle(), encode_frame(header, payload),
                   std::chrono::steady_clock::now() + kSendBound);
}

base::Result<Json> KeeperLink::begin(std::chrono::steady_clock::time_point deadline) {
  if (auto sent = send({{"op", "follow"}, {"from", 0}}); !sent) return tl::unexpected(sent.error());
  auto hello = read_frame(socket_.native_handle(), reader_, deadline);
  if (!hello) return tl::unexpected(hello.error());
  if (hello->header.value("t", "") == "error") {
    return base::fail(hello->header.value("message", "the keeper refused"));
  }
  if (hello->header.value("t", "") != "hello" ||
      hello->header.value("version", 0) != kProtocolVersion) {
    return base::fail(
        "the job's keeper is of another version of mcp-background-job and cannot be driven by "
        "this one");
  }
  return std::move(hello->header);
}

base::Result<void> KeeperLink::attach(const std::shared_ptr<jobs::Job>& job,
                                      std::chrono::steady_clock::time_point deadline,
                                      std::function<void(jobs::Job&)> keeper_gone) {
  job_ = job;
  keeper_gone_ = std::move(keeper_gone);
  for (;;) {
    auto frame = read_frame(socket_.native_handle(), reader_, deadline);
    if (!frame) return tl::unexpected(frame.error());
    if (apply(*frame) == "live") break;
  }
  asio::co_spawn(socket_.get_executor(), follow(shared_from_this()), asio::detached);
  return {};
}

std::string KeeperLink::apply(const Frame& frame) {
  std::string type = frame.header.value("t", "");
  auto job = job_.lock();
  if (!job) return type;
  if (type == "o") {
    job->kept_output(
        frame.header.value("s", 0) == 1 ? jobs::Stream::kStderr : jobs::Stream::kStdout,
        frame.header.value<uint64_t>("o", 0), frame.payload);
  } else if (type == "end") {
    end_heard_ = true;
    jobs::Job::KeptEnd end;
    end.status = parse_status(frame.header.value("status", "")).value_or(jobs::JobStatus::kFailed);
    if (frame.header.contains("exit_code")) end.exit_code = frame.header["exit_code"].get<int>();
    if (frame.header.contains("signal")) end.term_signal = frame.header["signal"].get<int>();
    end.reason = parse_reason(frame.header.value("reason", ""));
    end.ended = from_millis(frame.header.value<int64_t>("ended", 0));
    job->kept_ended(end);
  } else if (type == "closed") {
    job->kept_output_closed();
  } else if (type == "error") {
    spdlog::warn("job {}: its keeper says: {}", job->id(), frame.header.value("message", ""));
  }
  return type;
}

asio::awaitable<void> KeeperLink::follow(std::shared_ptr<KeeperLink> self) {
  std::array<char, 256 * 1024> buffer;
  for (;;) {
    // Frames already read (by the handshake or a flush) first.
    for (;;) {
      auto frame = self->reader_.next();
      if (!frame || !*frame) {
        if (!frame) spdlog::warn("a keeper sent what is not a frame; leaving it");
        if (!frame) {
          self->lost();
          co_return;
        }
        break;
      }
      self->apply(**frame);
    }
    if (self->closed_ || !self->socket_.is_open()) co_return;
    ssize_t n = ::read(self->socket_.native_handle(), buffer.data(), buffer.size());
    if (n > 0) {
      self->reader_.feed(std::string_view(buffer.data(), static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto [ec] =
          co_await self->socket_.async_wait(asio::posix::descriptor_base::wait_read, kAsTuple);
      if (ec) co_return;  // closed by close()
      continue;
    }
    self->lost();
    co_return;
  }
}

void KeeperLink::lost() {
  boost::system::error_code ignored;
  socket_.close(ignored);
  auto job = job_.lock();
  if (!job || closed_) return;
  if (!end_heard_) {
    // The keeper went without saying how the job ended: it was killed (or crashed).
    end_heard_ = true;
    if (keeper_gone_) keeper_gone_(*job);
  }
  job->kept_output_closed();
}

void KeeperLink::signal(int sig, std::chrono::milliseconds grace) {
  if (auto sent = send({{"op", "signal"}, {"signal", sig}, {"grace_ms", grace.count()}}); !sent) {
    spdlog::warn("cannot signal a persisted job: {}", sent.error().message);
  }
}

base::Result<void> KeeperLink::write_input(std::string_view bytes, bool close_after) {
  return send({{"op", "input"}, {"close", close_after}}, bytes);
}

bool KeeperLink::flush_output() {
  if (!send({{"op", "flush"}})) return true;
  auto deadline = std::chrono::steady_clock::now() + kFlushBound;
  for (;;) {
    auto frame = read_frame(socket_.native_handle(), reader_, deadline);
    if (!frame) return true;  // The follower sees the connection's end, if that is what it was.
    if (apply(*frame) == "flushed") return frame->header.value("all_read", true);
  }
}

void KeeperLink::close() {
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
}

}  // namespace keeper
