#pragma once
/// The keeper's side of a persisted job: it answers, on a unix socket (0600, in the state
/// directory), any server of the same user that wants to show or drive the job. A server asks to
/// follow the output from an offset (it gets a hello describing the job, what the log keeps from
/// there, a mark where live output begins, then the output as it comes, the end, and the end of
/// output), and sends input, signals, and flushes. Everything runs on the keeper's one loop.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <list>
#include <memory>

#include "base/result.h"
#include "base/unique_fd.h"
#include "jobs/job.h"
#include "keeper/frames.h"

namespace keeper {

namespace asio = boost::asio;

class KeeperService {
 public:
  KeeperService(const asio::any_io_executor& executor, std::shared_ptr<jobs::Job> job);
  ~KeeperService();
  KeeperService(const KeeperService&) = delete;
  KeeperService& operator=(const KeeperService&) = delete;

  /// Listens on `socket` (created 0600; a stale file of the same name is replaced).
  base::Result<void> listen(const std::filesystem::path& socket);
  /// Serves a connection made otherwise (the starting server's end of a socketpair).
  void serve(base::UniqueFd connection);
  /// Returns once the job is over (its status final, nothing of it left, its output closed)
  /// and every server following it has been told so (or has had a bounded time to read it).
  asio::awaitable<void> run_until_done();

 private:
  struct Connection;
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> read_requests(std::shared_ptr<Connection> connection);
  asio::awaitable<void> write_replies(std::shared_ptr<Connection> connection);
  asio::awaitable<void> follow(std::shared_ptr<Connection> connection);
  void handle(const std::shared_ptr<Connection>& connection, const Frame& frame);
  // Sends the output the connection has not had yet, then the end and the end of output once
  // they happened.
  void send_news(Connection& connection);
  Json hello() const;
  void drop(const std::shared_ptr<Connection>& connection);
  bool job_over() const;

  asio::any_io_executor executor_;
  std::shared_ptr<jobs::Job> job_;
  std::unique_ptr<asio::local::stream_protocol::acceptor> acceptor_;
  std::filesystem::path socket_path_;
  std::list<std::shared_ptr<Connection>> connections_;
  asio::steady_timer changed_;  // Never expires; cancelled when a connection is done or goes.
};

}  // namespace keeper
