#pragma once
/// Counts what the server does and renders it as Prometheus text (`GET /metrics`). Owns a
/// prometheus::Registry (prometheus-cpp's core library: its serializer, not its web server) and
/// every metric family. One per server, made by main and used from the io_context's thread only.
///
/// What the job engine did is not pushed here: the engine keeps plain totals
/// (JobManager::totals) and they are read when scraped, so capturing output costs nothing extra.
/// What the protocol and HTTP layers see (tool calls, requests) is counted as it happens: each
/// costs a lookup in a small map and an atomic add, once per call or request.
///
///   mcp_bg_jobs_started_total                      counter  processes launched
///   mcp_bg_jobs_ended_total{status}                counter  jobs that reached a final status
///   mcp_bg_jobs_running, mcp_bg_jobs_queued        gauge    now
///   mcp_bg_job_output_bytes_total                  counter  bytes printed by jobs
///   mcp_bg_job_output_dropped_bytes_total          counter  of those, dropped from the middle
///   mcp_bg_tool_calls_total{tool,outcome}          counter  ok, error, denied, cancelled
///   mcp_bg_tool_call_duration_seconds{tool}        histogram 100 us .. 60 s
///   mcp_bg_http_requests_total{code}               counter  HTTP responses by status code
///   mcp_bg_http_sessions                           gauge    MCP sessions open
///   mcp_bg_http_streams                            gauge    SSE streams open

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "jobs/job_manager.h"

namespace observe {

/// How a tool call ended, as counted.
enum class CallOutcome {
  kOk,         // a result without isError
  kError,      // isError (bad arguments, no such job, failure to start) or an internal error
  kDenied,     // refused by the operator's policy (the result names the rule)
  kCancelled,  // withdrawn by the client (notifications/cancelled, or its session ended)
};
std::string_view to_string(CallOutcome outcome);

class Metrics {
 public:
  explicit Metrics(const jobs::JobManager& jobs);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// One tools/call of a tool the server offers (never a name a client made up: each name is a
  /// set of series), from its arrival to its answer.
  void tool_call(const std::string& tool, CallOutcome outcome,
                 std::chrono::steady_clock::duration took);
  /// One HTTP response, by status code.
  void http_request(unsigned status);
  /// Sessions open now (the HTTP server sets it when scraped).
  void set_sessions(size_t count);
  /// SSE streams open now: whoever opens and closes streams sets it.
  void set_open_streams(size_t count);

  /// Reads the engine's totals and gauges, then serializes every family (text format 0.0.4).
  std::string render();

  /// The text format's content type.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct ToolSeries {
    std::array<prometheus::Counter*, 4> calls{};  // by CallOutcome, made on first use
    prometheus::Histogram* duration = nullptr;
  };

  const jobs::JobManager& jobs_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  prometheus::Counter& jobs_started_;
  prometheus::Family<prometheus::Counter>& jobs_ended_;
  std::array<prometheus::Counter*, jobs::kJobStatusCount> ended_by_status_{};
  prometheus::Gauge& jobs_running_;
  prometheus::Gauge& jobs_queued_;
  prometheus::Counter& output_bytes_;
  prometheus::Counter& dropped_bytes_;
  prometheus::Family<prometheus::Counter>& tool_calls_;
  prometheus::Family<prometheus::Histogram>& tool_duration_;
  std::unordered_map<std::string, ToolSeries> tools_;
  prometheus::Family<prometheus::Counter>& http_requests_;
  std::map<unsigned, prometheus::Counter*> http_by_code_;
  prometheus::Gauge& sessions_;
  prometheus::Gauge& streams_;
};

}  // namespace observe
