// libFuzzer target: arbitrary bytes sent to the HTTP transport over a real loopback connection,
// as a client would send them (one request, several pipelined, half a header, a GET stream, a
// 2026-07-28 POST with mismatched headers...), then the client's half closed. The server must
// answer with HTTP (or nothing) and close the connection promptly; ASan and UBSan watch the rest.
//
// One server for the whole run (sessions and the stateless endpoint carry state from input to
// input, as they would in production). No process is ever started: the engine's policy refuses
// every job, and each input ends by checking that the engine holds none.
#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "jobs/job_manager.h"
#include "mcp/server.h"
#include "refuse_every_job.h"
#include "transport/http/http_server.h"

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// How long the server may take to answer and close one connection whose client has sent
// everything. Nothing waits on a job (none can start), and a half-closed client is noticed at
// once: a connection still open after this is a finding.
constexpr auto kCloseBound = std::chrono::seconds(3);

[[noreturn]] void fail(const char* what, std::string_view input, std::string_view received) {
  std::fprintf(stderr, "\nINVARIANT BROKEN: %s\ninput: %.*s\nreceived: %.*s\n", what,
               static_cast<int>(std::min<size_t>(input.size(), 2000)), input.data(),
               static_cast<int>(std::min<size_t>(received.size(), 2000)), received.data());
  std::abort();
}

struct Harness {
  asio::io_context io{1};
  std::filesystem::path dir = std::filesystem::temp_directory_path();
  jobs::JobManager jobs;
  mcp::ToolLimits limits;
  http::HttpServer server;
  tcp::endpoint endpoint;

  Harness()
      : jobs(io.get_executor(),
             jobs::EngineSettings{.working_dir = dir, .policy = fuzz::refuse_every_job(dir)}),
        server(io.get_executor(),
               http::HttpSettings{.host = "127.0.0.1",
                                  .port = 0,
                                  .max_body_size = 64 * 1024,
                                  .header_timeout = std::chrono::seconds(2),
                                  .body_timeout = std::chrono::seconds(2),
                                  .idle_timeout = std::chrono::seconds(2)},
               jobs, "fuzz", [this](mcp::McpServer::Send send, const std::string& /*session_id*/) {
                 return std::make_unique<mcp::McpServer>(io.get_executor(), jobs, limits, "fuzz",
                                                         std::move(send));
               }) {
    auto bound = server.start();
    if (!bound) {
      std::fprintf(stderr, "fuzz_http_request: %s\n", bound.error().message.c_str());
      std::abort();
    }
    endpoint = *bound;
  }
};

Harness* g_harness = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  g_harness = new Harness();  // lives for the whole run (libFuzzer ends with _Exit)
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Harness& h = *g_harness;
  std::string_view input(reinterpret_cast<const char*>(data), size);

  // The client side, blocking: the server runs on the harness's loop, driven below.
  tcp::socket client(h.io);
  client.connect(h.endpoint);
  client.non_blocking(true);
  std::string received;
  size_t sent = 0;
  bool closed = false;
  auto deadline = std::chrono::steady_clock::now() + kCloseBound;
  while (!closed) {
    if (std::chrono::steady_clock::now() >= deadline) {
      fail("the server did not close the connection in time", input, received);
    }
    boost::system::error_code ec;
    if (sent < input.size()) {
      sent += client.write_some(asio::buffer(input.substr(sent)), ec);
      if (ec && ec != asio::error::would_block) sent = input.size();  // reset by the server
      if (sent == input.size()) client.shutdown(tcp::socket::shutdown_send, ec);
    }
    char buffer[16 * 1024];
    size_t n = client.read_some(asio::buffer(buffer), ec);
    received.append(buffer, n);
    if (ec && ec != asio::error::would_block) closed = true;  // EOF or reset
    h.io.restart();
    if (h.io.poll() == 0) h.io.run_one_for(std::chrono::milliseconds(1));
  }
  if (!received.empty() && !received.starts_with("HTTP/1.")) {
    fail("the server sent something that is not an HTTP response", input, received);
  }
  if (h.jobs.running_count() != 0 || h.jobs.queued_count() != 0) {
    fail("a job exists although the policy refuses every job", input, received);
  }
  return 0;
}
