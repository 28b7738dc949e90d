// libFuzzer target: one arbitrary message (a line of stdio, or an HTTP body) into
// mcp::McpServer::handle (after mcp::decode), the loop run until the answer is out, and the
// invariants server.cc promises checked on everything it sent.
//
// No process is ever started: the engine's policy refuses every job (refuse_every_job.h), and each
// input ends by checking that the engine holds no job at all.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/job_manager.h"
#include "mcp/json_rpc.h"
#include "mcp/server.h"
#include "refuse_every_job.h"

namespace {

using mcp::Json;
namespace fs = std::filesystem;

// How long the loop may take to answer one request. No handler waits on anything when no job
// exists, so a request still unanswered after this is a finding, not a slow machine.
constexpr auto kAnswerBound = std::chrono::seconds(2);

[[noreturn]] void fail(const char* what, std::string_view input,
                       const std::vector<std::string>& sent) {
  std::fprintf(stderr, "\nINVARIANT BROKEN: %s\ninput: %.*s\n", what,
               static_cast<int>(std::min<size_t>(input.size(), 2000)), input.data());
  for (const auto& line : sent) {
    std::fprintf(stderr, "sent: %.*s\n", static_cast<int>(std::min<size_t>(line.size(), 2000)),
                 line.data());
  }
  std::abort();
}

// The engine's working directory. Nothing is ever written there (no job runs), so the system's
// temp directory serves, and no directory is left behind (libFuzzer ends with _Exit: no atexit).
fs::path g_dir;

struct Engine {
  boost::asio::io_context io{1};
  jobs::JobManager jobs;
  explicit Engine(std::shared_ptr<const policy::CommandPolicy> policy)
      : jobs(io.get_executor(), jobs::EngineSettings{.working_dir = g_dir, .policy = policy}) {}
};

std::shared_ptr<const policy::CommandPolicy> g_policy;

// What the server must answer to `input`, read from server.cc's handle: parse error and
// non-object messages get one error with id null; a stray response gets nothing; a notification
// (no "id") gets nothing; every other message gets exactly one response, carrying its id if the
// id is valid (a string or an integer), null otherwise.
struct Expected {
  bool response = false;  // exactly one response; otherwise none
  Json id;                // the id it must carry
  bool parse_error = false;
};

// The nesting depth of valid JSON text, counted without recursion (the harness must not
// overflow the stack on what the server refuses either).
int nesting(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// server.cc's kMaxNesting: deeper objects are refused before anything copies them.
constexpr int kMaxNesting = 100;

Expected expected_for(std::string_view input) {
  Json message = Json::parse(input, nullptr, false);
  if (message.is_discarded()) return {.response = true, .id = nullptr, .parse_error = true};
  if (!message.is_object()) return {.response = true, .id = nullptr};
  if (nesting(input) > kMaxNesting) {
    auto id = message.find("id");
    if (id == message.end()) return {};
    return {.response = true, .id = id->is_string() || id->is_number_integer() ? *id : Json()};
  }
  bool has_method = message.contains("method") && message["method"].is_string();
  if (!has_method && (message.contains("result") || message.contains("error"))) return {};
  Json id = message.contains("id") ? message["id"] : Json();
  bool valid_id = id.is_string() || id.is_number_integer();
  if (message.value("jsonrpc", Json()) != "2.0" || !has_method) {
    return {.response = true, .id = valid_id ? id : Json()};
  }
  if (!message.contains("id")) return {};  // a notification, whatever its params
  return {.response = true, .id = valid_id ? id : Json()};
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // the server's log would drown libFuzzer's output
  g_dir = fs::temp_directory_path();
  // The policy is compiled once. The loop, the engine and the server are made afresh for every
  // input, so that no input depends on the ones before (initialize, logging level), and because
  // each server adds observers to its engine for good.
  g_policy = fuzz::refuse_every_job(g_dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Engine engine(g_policy);
  std::vector<std::string> sent;
  {
    mcp::McpServer server(
        engine.io.get_executor(), engine.jobs, mcp::ToolLimits{}, "0.0.0-fuzz",
        [&](mcp::Outgoing message) { sent.push_back(mcp::serialize(message.message)); });
    server.handle(mcp::decode(input));

    Expected expected = expected_for(input);
    auto count_responses = [&] {
      size_t n = 0;
      for (const auto& line : sent) {
        Json m = Json::parse(line, nullptr, false);
        if (!m.is_discarded() && m.is_object() && !m.contains("method")) ++n;
      }
      return n;
    };
    // Tool calls are coroutines: run the loop until the answer is out (or the bound passes),
    // then a little longer with poll() so that anything queued behind it is delivered too.
    auto deadline = std::chrono::steady_clock::now() + kAnswerBound;
    while (expected.response && count_responses() == 0 &&
           std::chrono::steady_clock::now() < deadline) {
      engine.io.run_one_for(std::chrono::milliseconds(10));
    }
    engine.io.poll();

    size_t responses = 0;
    for (const auto& line : sent) {
      // Stdio framing: one message per line.
      if (line.find('\n') != std::string::npos) fail("a message contains a newline", input, sent);
      Json m = Json::parse(line, nullptr, false);
      if (m.is_discarded()) fail("a message is not valid JSON", input, sent);
      if (!m.is_object() || m.value("jsonrpc", Json()) != "2.0") {
        fail("a message is not a JSON-RPC 2.0 object", input, sent);
      }
      if (m.contains("method")) {
        // Sent unasked: a notification, never with an id. Nothing in a fresh server with no job
        // has a reason to send one but progress, which is only sent before the response.
        if (m.contains("id")) fail("a notification carries an id", input, sent);
        if (m["method"] != "notifications/progress")
          fail("an unexpected notification", input, sent);
        continue;
      }
      ++responses;
      if (!m.contains("id")) fail("a response has no id", input, sent);
      if (m.contains("result") == m.contains("error")) {
        fail("a response needs exactly one of result and error", input, sent);
      }
      if (m.contains("error")) {
        const Json& e = m["error"];
        if (!e.is_object() || !e.contains("code") || !e["code"].is_number_integer() ||
            !e.contains("message") || !e["message"].is_string()) {
          fail("an error needs an integer code and a string message", input, sent);
        }
        if (expected.parse_error && e["code"] != mcp::error_code::kParseError) {
          fail("invalid JSON not answered with -32700", input, sent);
        }
      } else if (!m["result"].is_object()) {
        fail("a result is not an object", input, sent);
      }
      if (m["id"] != expected.id) fail("a response carries the wrong id", input, sent);
    }
    if (responses != (expected.response ? 1u : 0u)) {
      fail(expected.response ? "a request did not get exactly one response"
                             : "a notification or a response got a response",
           input, sent);
    }
  }  // the server goes here; nothing of it may be left on the loop
  engine.io.poll();
  if (!engine.jobs.jobs_newest_first().empty() || engine.jobs.running_count() != 0) {
    fail("a job was started: the policy must refuse everything", input, sent);
  }
  return 0;
}
