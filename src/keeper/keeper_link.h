#pragma once
/// A server's connection to the keeper of a persisted job: the job as this server shows it is a
/// jobs::Job made from the keeper's hello, fed with the output and the end the keeper sends, and
/// every action on it (signal, input, flush) goes back here. The handshake and a flush wait on
/// the socket briefly (a keeper answers from memory at once); the rest is asynchronous, on the
/// server's loop.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <memory>

#include "base/result.h"
#include "base/unique_fd.h"
#include "jobs/job.h"
#include "keeper/frames.h"

namespace keeper {

namespace asio = boost::asio;

class KeeperLink : public jobs::KeeperControl, public std::enable_shared_from_this<KeeperLink> {
 public:
  KeeperLink(const asio::any_io_executor& executor, base::UniqueFd socket);
  ~KeeperLink() override;

  /// Asks to follow the job's output from offset 0 and returns the keeper's hello.
  base::Result<Json> begin(std::chrono::steady_clock::time_point deadline);
  /// Reads what the keeper kept, up to where live output begins, into `job` (made from the
  /// hello); then follows on asynchronously. `keeper_gone` runs if the connection ends before
  /// the job's end was heard (the keeper was killed).
  base::Result<void> attach(const std::shared_ptr<jobs::Job>& job,
                            std::chrono::steady_clock::time_point deadline,
                            std::function<void(jobs::Job&)> keeper_gone);

  void signal(int sig, std::chrono::milliseconds grace) override;
  base::Result<void> write_input(std::string_view bytes, bool close_after) override;
  bool flush_output() override;
  void close() override;

 private:
  // Applies one frame to the job; returns the frame's type.
  std::string apply(const Frame& frame);
  base::Result<void> send(const Json& header, std::string_view payload = {});
  static asio::awaitable<void> follow(std::shared_ptr<KeeperLink> self);
  void lost();

  asio::posix::stream_descriptor socket_;
  FrameReader reader_;
  std::weak_ptr<jobs::Job> job_;
  std::function<void(jobs::Job&)> keeper_gone_;
  bool end_heard_ = false;
  bool closed_ = false;
};

}  // namespace keeper
