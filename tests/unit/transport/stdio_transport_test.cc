#include "transport/stdio_transport.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "helpers/fd_leak_check.h"
#include "helpers/run_until.h"

namespace transport {
namespace {

class StdioTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::open_reactor(io_);
    fds_before_ = test::open_fd_count();
    ASSERT_EQ(::pipe2(to_server_, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(from_server_, O_CLOEXEC), 0);
    transport_ = std::make_unique<StdioTransport>(
        io_.get_executor(), to_server_[0], from_server_[1], /*max_message_size=*/16,
        StdioTransport::Handlers{
            .on_message = [this](std::string_view line) { messages_.emplace_back(line); },
            .on_oversized = [this](uint64_t size) { oversized_.push_back(size); },
            .on_closed = [this] { closed_ = true; }});
    transport_->start();
  }
  void TearDown() override {
    transport_.reset();
    for (int fd : {to_server_[0], to_server_[1], from_server_[0], from_server_[1]}) {
      if (fd >= 0) ::close(fd);
    }
    io_.run_for(std::chrono::milliseconds(10));
    EXPECT_EQ(test::open_fd_count(), fds_before_);
  }
  void client_writes(std::string_view data) {
    ASSERT_EQ(::write(to_server_[1], data.data(), data.size()), static_cast<ssize_t>(data.size()));
  }

  boost::asio::io_context io_;
  int to_server_[2] = {-1, -1};
  int from_server_[2] = {-1, -1};
  std::unique_ptr<StdioTransport> transport_;
  std::vector<std::string> messages_;
  std::vector<uint64_t> oversized_;
  bool closed_ = false;
  size_t fds_before_ = 0;
};

TEST_F(StdioTransportTest, SplitsLinesAcrossReads) {
  client_writes("{\"a\":1}\n{\"b\"");
  ASSERT_TRUE(test::run_until(io_, [&] { return messages_.size() == 1; }));
  client_writes(":2}\r\n\n");
  ASSERT_TRUE(test::run_until(io_, [&] { return messages_.size() == 2; }));
  EXPECT_EQ(messages_[0], "{\"a\":1}");
  EXPECT_EQ(messages_[1], "{\"b\":2}");  // CR stripped, empty line ignored
}

TEST_F(StdioTransportTest, SkipsAnOversizedLineAndKeepsServing) {
  client_writes(std::string(40, 'x') + "\nshort\n");
  ASSERT_TRUE(test::run_until(io_, [&] { return messages_.size() == 1; }));
  ASSERT_EQ(oversized_.size(), 1u);
  EXPECT_EQ(oversized_[0], 40u);
  EXPECT_EQ(messages_[0], "short");
}

TEST_F(StdioTransportTest, ReportsEndOfInput) {
  ::close(to_server_[1]);
  to_server_[1] = -1;
  EXPECT_TRUE(test::run_until(io_, [&] { return closed_; }));
}

TEST_F(StdioTransportTest, WritesMessagesAsLinesAndFlushes) {
  transport_->send("one");
  transport_->send("two");
  bool flushed = false;
  boost::asio::co_spawn(io_, transport_->flush(), [&](std::exception_ptr) { flushed = true; });
  ASSERT_TRUE(test::run_until(io_, [&] { return flushed; }));
  char buffer[64];
  ssize_t n = ::read(from_server_[0], buffer, sizeof buffer);
  EXPECT_EQ(std::string(buffer, static_cast<size_t>(n)), "one\ntwo\n");
}

}  // namespace
}  // namespace transport
