#include "keeper/keeper_service.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>

#include "sys/process.h"

namespace keeper {
namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

// A server that stops reading is dropped rather than buffered for without bound.
constexpr size_t kMaxUnsent = size_t{64} << 20;
// Once the job is over, how long servers that follow it have to read the end.
constexpr std::chrono::seconds kFarewellBound{2};

int64_t epoch_millis(base::WallClock::time_point when) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
}

}  // namespace

struct KeeperService::Connection {
  explicit Connection(const asio::any_io_executor& executor)
      : socket(executor), wake(executor, std::chrono::steady_clock::time_point::max()) {}
  asio::posix::stream_descriptor socket;
  asio::steady_timer wake;  // Never expires; cancelled when there is something to send.
  FrameReader reader;
  std::string unsent;
  size_t unsent_from = 0;  // Bytes of `unsent` already written.
  bool following = false;
  uint64_t sent_to = 0;  // The output offset sent so far (following only).
  bool end_sent = false;
  bool closed_sent = false;
  bool gone = false;

  // Told everything there is to tell (and it has left the socket).
  bool done() const { return gone || (following && end_sent && closed_sent && nothing_unsent()); }
  bool nothing_unsent() const { return unsent_from == unsent.size(); }
  void send(const Json& header, std::string_view payload = {}) {
    if (gone) return;
    append_frame(unsent, header, payload);
    wake.cancel();
  }
};

KeeperService::KeeperService(const asio::any_io_executor& executor, std::shared_ptr<jobs::Job> job)
    : executor_(executor),
      job_(std::move(job)),
      changed_(executor, std::chrono::steady_clock::time_point::max()) {}

KeeperService::~KeeperService() {
  if (!socket_path_.empty()) {
    std::error_code ignored;
    std::filesystem::remove(socket_path_, ignored);
  }
}

base::Result<void> KeeperService::listen(const std::filesystem::path& socket) {
  std::error_code ignored;
  std::filesystem::remove(socket, ignored);
  try {
    acceptor_ = std::make_unique<asio::local::stream_protocol::acceptor>(executor_);
    asio::local::stream_protocol::endpoint endpoint(socket.string());
    acceptor_->open(endpoint.protocol());
    // Created with the umask's mode: made ours alone from the start, not after a chmod.
    mode_t old = ::umask(0077);
    boost::system::error_code bound;
    acceptor_->bind(endpoint, bound);
    ::umask(old);
    if (bound) return base::fail("cannot listen on " + socket.string() + ": " + bound.message());
    acceptor_->listen();
  } catch (const boost::system::system_error& e) {
    return base::fail("cannot listen on " + socket.string() + ": " + e.what());
  }
  socket_path_ = socket;
  asio::co_spawn(executor_, accept_loop(), asio::detached);
  return {};
}

asio::awaitable<void> KeeperService::accept_loop() {
  for (;;) {
    auto [ec, peer] = co_await acceptor_->async_accept(kAsTuple);
    if (ec) co_return;
    serve(base::UniqueFd(peer.release()));
  }
}

void KeeperService::serve(base::UniqueFd fd) {
  auto connection = std::make_shared<Connection>(executor_);
  boost::system::error_code ignored;
  connection->socket.assign(fd.release());
  connection->socket.non_blocking(true, ignored);
  connections_.push_back(connection);
  asio::co_spawn(executor_, read_requests(connection), asio::detached);
  asio::co_spawn(executor_, write_replies(connection), asio::detached);
}

asio::awaitable<void> KeeperService::read_requests(std::shared_ptr<Connection> connection) {
  std::array<char, 64 * 1024> buffer;
  while (!connection->gone) {
    ssize_t n = ::read(connection->socket.native_handle(), buffer.data(), buffer.size());
    if (n > 0) {
      connection->reader.feed(std::string_view(buffer.data(), static_cast<size_t>(n)));
      for (;;) {
        auto frame = connection->reader.next();
        if (!frame) {
          spdlog::warn("a server sent what is not a frame ({}); dropping it",
                       frame.error().message);
          drop(connection);
          co_return;
        }
        if (!*frame) break;
        handle(connection, **frame);
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto [ec] =
          co_await connection->socket.async_wait(asio::posix::descriptor_base::wait_read, kAsTuple);
      if (ec) break;
      continue;
    }
    break;  // The server closed its end (or the connection failed): it is gone.
  }
  drop(connection);
}

asio::awaitable<void> KeeperService::write_replies(std::shared_ptr<Connection> connection) {
  auto& unsent = connection->unsent;
  while (!connection->gone) {
    while (!connection->nothing_unsent() && !connection->gone) {
      ssize_t n =
          ::write(connection->socket.native_handle(), unsent.data() + connection->unsent_from,
                  unsent.size() - connection->unsent_from);
      if (n > 0) {
        connection->unsent_from += static_cast<size_t>(n);
        if (connection->nothing_unsent()) {
          unsent.clear();
          connection->unsent_from = 0;
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (unsent.size() - connection->unsent_from > kMaxUnsent) {
          spdlog::warn("a server following the job stopped reading; dropping it");
          drop(connection);
          co_return;
        }
        auto [ec] = co_await connection->socket.async_wait(asio::posix::descriptor_base::wait_write,
                                                           kAsTuple);
        if (ec) co_return;
        continue;
      }
      drop(connection);  // EPIPE: the server went away.
      co_return;
    }
    if (connection->done()) changed_.cancel();
    auto [ec] = co_await connection->wake.async_wait(kAsTuple);
    (void)ec;  // Cancelled: something to send (or the connection is being dropped).
  }
}

void KeeperService::drop(const std::shared_ptr<Connection>& connection) {
  if (connection->gone) return;
  connection->gone = true;
  boost::system::error_code ignored;
  connection->socket.close(ignored);
  connection->wake.cancel();
  connections_.remove(connection);
  changed_.cancel();
}

Json KeeperService::hello() const {
  const auto& spec = job_->spec();
  Json hello{{"t", "hello"},
             {"version", kProtocolVersion},
             {"id", job_->id()},
             {"pid", job_->pid()},
             {"command", spec.command},
             {"cwd", spec.cwd.string()},
             {"label", spec.label},
             {"client", spec.owner.client},
             {"session", spec.owner.session},
             {"separate_streams", spec.streams == sys::OutputStreams::kSeparate},
             {"max_output", job_->output().max_bytes()},
             {"stdin_inode", job_->stdin_inode()},
             {"queued_at", epoch_millis(job_->queued_at())},
             {"started", epoch_millis(job_->started())}};
  if (spec.terminal) {
    hello["terminal"] = {{"cols", spec.terminal->cols}, {"rows", spec.terminal->rows}};
  }
  return hello;
}

void KeeperService::send_news(Connection& connection) {
  const auto& log = job_->output();
  uint64_t total = log.total_bytes();
  if (connection.sent_to < total) {
    // Each stream's pieces, in the order they were printed (a piece is one stream's).
    struct Tagged {
      uint64_t offset;
      std::string_view bytes;
      int stream;
    };
    std::vector<Tagged> pieces;
    for (auto [filter, stream] :
         {std::pair{jobs::StreamFilter::kStdout, 0}, std::pair{jobs::StreamFilter::kStderr, 1}}) {
      for (const auto& piece : log.pieces(connection.sent_to, total, filter)) {
        pieces.push_back({piece.offset, piece.bytes, stream});
      }
    }
    std::sort(pieces.begin(), pieces.end(),
              [](const Tagged& a, const Tagged& b) { return a.offset < b.offset; });
    for (const auto& piece : pieces) {
      connection.send({{"t", "o"}, {"o", piece.offset}, {"s", piece.stream}}, piece.bytes);
    }
    connection.sent_to = total;
  }
  if (job_->finished() && !connection.end_sent) {
    Json end{{"t", "end"},
             {"status", jobs::to_string(job_->status())},
             {"reason", jobs::to_string(job_->end_reason())},
             {"ended", epoch_millis(job_->ended().value_or(base::WallClock::now()))}};
    if (job_->exit_code()) end["exit_code"] = *job_->exit_code();
    if (job_->term_signal()) end["signal"] = *job_->term_signal();
    connection.send(end);
    connection.end_sent = true;
  }
  if (connection.end_sent && !job_->output_open() && !connection.closed_sent) {
    connection.send({{"t", "closed"}});
    connection.closed_sent = true;
  }
}

asio::awaitable<void> KeeperService::follow(std::shared_ptr<Connection> connection) {
  // Held by the frame: when the keeper leaves, its loop destroys this frame (still waiting on
  // the job) after run_keeper's locals, the service's hold on the job among them, are gone.
  std::shared_ptr<jobs::Job> job = job_;
  connection->send(hello());
  send_news(*connection);
  connection->send({{"t", "live"}});
  while (!connection->gone && !(connection->end_sent && connection->closed_sent)) {
    co_await job->wait_for_change(std::chrono::steady_clock::time_point::max(),
                                  jobs::Job::Wake::kOnOutputToo);
    send_news(*connection);
  }
}

void KeeperService::handle(const std::shared_ptr<Connection>& connection, const Frame& frame) {
  std::string op = frame.header.value("op", "");
  if (op == "follow") {
    if (connection->following) return;
    connection->following = true;
    connection->sent_to = frame.header.value<uint64_t>("from", 0);
    asio::co_spawn(executor_, follow(connection), asio::detached);
  } else if (op == "input") {
    auto written = job_->write_stdin(frame.payload, frame.header.value("close", false));
    if (!written) {
      connection->send({{"t", "error"}, {"message", written.error().message}});
    }
  } else if (op == "signal") {
    int sig = frame.header.value("signal", SIGTERM);
    auto grace = std::chrono::milliseconds(frame.header.value<int64_t>("grace_ms", 5000));
    spdlog::info("{} asked for by a server", sys::signal_name(sig));
    job_->kill(sig, grace);
  } else if (op == "flush") {
    // What the job wrote and this keeper has not read yet is read now and sent before the
    // answer: the asking server then has everything the job wrote before it asked.
    bool all_read = false;
    for (int i = 0; i < 16 && !all_read; ++i) all_read = job_->read_output_now();
    if (connection->following) send_news(*connection);
    connection->send({{"t", "flushed"}, {"all_read", all_read}});
  } else {
    connection->send({{"t", "error"}, {"message", "unknown request '" + op + "'"}});
  }
}

bool KeeperService::job_over() const {
  return job_->finished() && !job_->holds_processes() && !job_->output_open();
}

asio::awaitable<void> KeeperService::run_until_done() {
  using namespace asio::experimental::awaitable_operators;
  while (!job_over()) {
    co_await job_->wait_for_change(std::chrono::steady_clock::time_point::max());
  }
  // Every server connected hears the end before the keeper goes (bounded: one may not read).
  // One that has not asked to follow yet is waited for too: the server that started a job
  // that ended at once asks just after it heard of the start.
  auto deadline = std::chrono::steady_clock::now() + kFarewellBound;
  while (std::chrono::steady_clock::now() < deadline &&
         !std::all_of(connections_.begin(), connections_.end(),
                      [](const auto& c) { return c->done(); })) {
    asio::steady_timer timer(executor_, deadline);
    co_await (changed_.async_wait(kAsTuple) || timer.async_wait(kAsTuple));
  }
}

}  // namespace keeper
