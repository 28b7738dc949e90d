#include "observe/metrics.h"

#include <prometheus/text_serializer.h>

namespace observe {
namespace {

// Tool calls take from about 100 us (status) to a minute (wait, interact, execute with
// wait_seconds, bounded by max_wait below the clients' ~60 s timeout): roughly 1-2.5-5 per
// decade across that range.
const prometheus::Histogram::BucketBoundaries kCallBuckets{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};

// A counter whose total is kept elsewhere (the engine's): moved up to it when scraped. Totals
// only grow, and stay exact as doubles up to 2^53.
void advance_to(prometheus::Counter& counter, uint64_t total) {
  double delta = static_cast<double>(total) - counter.Value();
  if (delta > 0) counter.Increment(delta);
}

}  // namespace

std::string_view to_string(CallOutcome outcome) {
  switch (outcome) {
    case CallOutcome::kOk:
      return "ok";
    case CallOutcome::kError:
      return "error";
    case CallOutcome::kDenied:
      return "denied";
    case CallOutcome::kCancelled:
      return "cancelled";
  }
  return "error";
}

Metrics::Metrics(const jobs::JobManager& jobs)
    : jobs_(jobs),
      jobs_started_(prometheus::BuildCounter()
                        .Name("mcp_bg_jobs_started_total")
                        .Help("Jobs whose process was started (a queued job when it leaves the "
                              "queue).")
                        .Register(*registry_)
                        .Add({})),
      jobs_ended_(prometheus::BuildCounter()
                      .Name("mcp_bg_jobs_ended_total")
                      .Help("Jobs that reached a final status, by that status (cancelled: "
                            "ended while queued, never started).")
                      .Register(*registry_)),
      jobs_running_(prometheus::BuildGauge()
                        .Name("mcp_bg_jobs_running")
                        .Help("Jobs running now.")
                        .Register(*registry_)
                        .Add({})),
      jobs_queued_(prometheus::BuildGauge()
                       .Name("mcp_bg_jobs_queued")
                       .Help("Jobs waiting in the queue for a slot under max_jobs now.")
                       .Register(*registry_)
                       .Add({})),
      output_bytes_(prometheus::BuildCounter()
                        .Name("mcp_bg_job_output_bytes_total")
                        .Help("Bytes jobs printed (stdout and stderr, or the terminal).")
                        .Register(*registry_)
                        .Add({})),
      dropped_bytes_(prometheus::BuildCounter()
                         .Name("mcp_bg_job_output_dropped_bytes_total")
                         .Help("Bytes of job output discarded from the middle to stay within "
                               "max_output_size.")
                         .Register(*registry_)
                         .Add({})),
      tool_calls_(prometheus::BuildCounter()
                      .Name("mcp_bg_tool_calls_total")
                      .Help("tools/call requests by tool and outcome (ok, error, denied by the "
                            "policy, cancelled by the client).")
                      .Register(*registry_)),
      tool_duration_(prometheus::BuildHistogram()
                         .Name("mcp_bg_tool_call_duration_seconds")
                         .Help("Time from a tools/call request to its answer, by tool.")
                         .Register(*registry_)),
      http_requests_(prometheus::BuildCounter()
                         .Name("mcp_bg_http_requests_total")
                         .Help("HTTP responses sent, by status code.")
                         .Register(*registry_)),
      sessions_(prometheus::BuildGauge()
                    .Name("mcp_bg_http_sessions")
                    .Help("MCP sessions (Mcp-Session-Id) open now.")
                    .Register(*registry_)
                    .Add({})),
      streams_(prometheus::BuildGauge()
                   .Name("mcp_bg_http_streams")
                   .Help("Server-sent event streams open now.")
                   .Register(*registry_)
                   .Add({})) {
  // Every final status from the start, at zero: a rate over a series that appears only with
  // its first event misses that event.
  for (auto status :
       {jobs::JobStatus::kCompleted, jobs::JobStatus::kFailed, jobs::JobStatus::kKilled,
        jobs::JobStatus::kTimedOut, jobs::JobStatus::kCancelled}) {
    ended_by_status_[static_cast<size_t>(status)] =
        &jobs_ended_.Add({{"status", std::string(jobs::to_string(status))}});
  }
}

void Metrics::tool_call(const std::string& tool, CallOutcome outcome,
                        std::chrono::steady_clock::duration took) {
  ToolSeries& series = tools_[tool];
  auto& calls = series.calls[static_cast<size_t>(outcome)];
  if (calls == nullptr) {
    calls = &tool_calls_.Add({{"tool", tool}, {"outcome", std::string(to_string(outcome))}});
  }
  calls->Increment();
  if (series.duration == nullptr) {
    series.duration = &tool_duration_.Add({{"tool", tool}}, kCallBuckets);
  }
  series.duration->Observe(std::chrono::duration<double>(took).count());
}

void Metrics::http_request(unsigned status) {
  auto& counter = http_by_code_[status];
  if (counter == nullptr) counter = &http_requests_.Add({{"code", std::to_string(status)}});
  counter->Increment();
}

void Metrics::set_sessions(size_t count) { sessions_.Set(static_cast<double>(count)); }

void Metrics::set_open_streams(size_t count) { streams_.Set(static_cast<double>(count)); }

std::string Metrics::render() {
  auto totals = jobs_.totals();
  advance_to(jobs_started_, totals.started);
  for (size_t i = 0; i < totals.ended.size(); ++i) {
    if (ended_by_status_[i] != nullptr) advance_to(*ended_by_status_[i], totals.ended[i]);
  }
  advance_to(output_bytes_, totals.output_bytes);
  advance_to(dropped_bytes_, totals.dropped_bytes);
  jobs_running_.Set(jobs_.running_count());
  jobs_queued_.Set(jobs_.queued_count());
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace observe
