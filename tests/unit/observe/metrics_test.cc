// Metrics counted from real engine work (real processes), rendered, and read back from the text.
#include "observe/metrics.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <csignal>
#include <filesystem>
#include <map>
#include <sstream>

#include "helpers/run_until.h"
#include "helpers/scratch_dir.h"

namespace observe {
namespace {

using namespace std::chrono_literals;

// The samples of a text exposition: "name{labels}" -> value. Comment lines must be HELP or TYPE.
std::map<std::string, double> parse(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      EXPECT_TRUE(line.starts_with("# HELP ") || line.starts_with("# TYPE ")) << line;
      continue;
    }
    auto space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    dir_ = scratch_.path();
    settings_.working_dir = dir_;
    settings_.cleanup_interval = 1h;
  }
  void TearDown() override {
    if (jobs_) {
      for (const auto& job : jobs_->jobs_newest_first()) {
        if (job->running()) job->kill(SIGKILL, 0ms);
      }
      test::run_until(io_, [&] { return jobs_->running_count() == 0; });
    }
    metrics_.reset();
    jobs_.reset();
  }
  void start() {
    jobs_ = std::make_unique<jobs::JobManager>(io_.get_executor(), settings_);
    metrics_ = std::make_unique<Metrics>(*jobs_);
  }
  std::shared_ptr<jobs::Job> run(std::string command) {
    jobs::ExecuteRequest request;
    request.command = std::move(command);
    auto job = jobs_->execute(request);
    EXPECT_TRUE(job.has_value()) << (job ? "" : job.error().message);
    return job ? *job : nullptr;
  }
  std::map<std::string, double> scrape() { return parse(metrics_->render()); }

  boost::asio::io_context io_;
  test::ScratchDir scratch_{"mcpbg-metrics"};
  std::filesystem::path dir_;
  jobs::EngineSettings settings_;
  std::unique_ptr<jobs::JobManager> jobs_;
  std::unique_ptr<Metrics> metrics_;
};

TEST_F(MetricsTest, StartsAtZeroWithEveryFinalStatus) {
  start();
  auto samples = scrape();
  EXPECT_EQ(samples.at("mcp_bg_jobs_started_total"), 0);
  for (const char* status : {"completed", "failed", "killed", "timed_out", "cancelled"}) {
    EXPECT_EQ(samples.at(std::string("mcp_bg_jobs_ended_total{status=\"") + status + "\"}"), 0)
        << status;
  }
  EXPECT_FALSE(samples.contains("mcp_bg_jobs_ended_total{status=\"running\"}"));
  EXPECT_EQ(samples.at("mcp_bg_jobs_running"), 0);
  EXPECT_EQ(samples.at("mcp_bg_jobs_queued"), 0);
  EXPECT_EQ(samples.at("mcp_bg_job_output_bytes_total"), 0);
  EXPECT_EQ(samples.at("mcp_bg_http_sessions"), 0);
  EXPECT_EQ(samples.at("mcp_bg_http_streams"), 0);
}

TEST_F(MetricsTest, CountsJobsByStatusAndTheirOutputEvenOnceForgotten) {
  settings_.max_jobs = 1;
  settings_.max_finished = 1;  // each job is forgotten when the next one ends
  settings_.limits.max_output_size = 1024;
  start();
  // 5000 bytes into a 1 KiB bound: some are dropped.
  auto big = run("head -c 5000 /dev/zero");
  auto queued = run("true");  // max_jobs = 1: waits in the queue
  ASSERT_TRUE(queued->queued());
  auto running = scrape();
  EXPECT_EQ(running.at("mcp_bg_jobs_queued"), 1);
  EXPECT_TRUE(jobs_->cancel_queued(queued->id()));
  ASSERT_TRUE(test::run_until(io_, [&] { return big->finished() && !big->output_open(); }));
  uint64_t dropped = big->output().dropped_bytes();
  EXPECT_GT(dropped, 0u);
  auto failing = run("printf 'abc'; exit 3");
  ASSERT_TRUE(test::run_until(io_, [&] { return failing->finished() && !failing->output_open(); }));
  ASSERT_EQ(jobs_->jobs_newest_first().size(), 1u) << "max_finished = 1 forgets all but one";
  EXPECT_EQ(jobs_->jobs_newest_first().front(), failing);

  auto samples = scrape();
  EXPECT_EQ(samples.at("mcp_bg_jobs_started_total"), 2);  // the cancelled one never started
  EXPECT_EQ(samples.at("mcp_bg_jobs_ended_total{status=\"completed\"}"), 1);
  EXPECT_EQ(samples.at("mcp_bg_jobs_ended_total{status=\"failed\"}"), 1);
  EXPECT_EQ(samples.at("mcp_bg_jobs_ended_total{status=\"cancelled\"}"), 1);
  EXPECT_EQ(samples.at("mcp_bg_jobs_ended_total{status=\"killed\"}"), 0);
  EXPECT_EQ(samples.at("mcp_bg_jobs_running"), 0);
  EXPECT_EQ(samples.at("mcp_bg_jobs_queued"), 0);
  EXPECT_EQ(samples.at("mcp_bg_job_output_bytes_total"), 5003);
  EXPECT_EQ(samples.at("mcp_bg_job_output_dropped_bytes_total"), static_cast<double>(dropped));
  // A second scrape with nothing new changes nothing (counters are advanced, never re-added).
  EXPECT_EQ(scrape(), samples);
}

TEST_F(MetricsTest, CountsARunningJobsOutputAsItArrives) {
  start();
  jobs::ExecuteRequest request;
  request.argv = {"sh", "-c", "printf 0123456789; exec cat"};  // then waits on stdin
  auto job = jobs_->execute(request);
  ASSERT_TRUE(job.has_value());
  ASSERT_TRUE(test::run_until(io_, [&] { return (*job)->output().total_bytes() == 10; }));
  auto samples = scrape();
  EXPECT_EQ(samples.at("mcp_bg_jobs_running"), 1);
  EXPECT_EQ(samples.at("mcp_bg_job_output_bytes_total"), 10);
  ASSERT_TRUE((*job)->write_stdin("abcde", /*close_after=*/true).has_value());
  ASSERT_TRUE(test::run_until(io_, [&] { return (*job)->finished() && !(*job)->output_open(); }));
  samples = scrape();
  EXPECT_EQ(samples.at("mcp_bg_job_output_bytes_total"), 15);
  EXPECT_EQ(samples.at("mcp_bg_jobs_ended_total{status=\"completed\"}"), 1);
}

TEST_F(MetricsTest, CountsToolCallsWithDurationsAndHttpRequests) {
  start();
  metrics_->tool_call("status", CallOutcome::kOk, 200us);
  metrics_->tool_call("status", CallOutcome::kOk, 3ms);
  metrics_->tool_call("status", CallOutcome::kError, 50us);
  metrics_->tool_call("execute", CallOutcome::kDenied, 2s);
  metrics_->tool_call("wait", CallOutcome::kCancelled, 90s);  // beyond the last bucket
  metrics_->http_request(200);
  metrics_->http_request(200);
  metrics_->http_request(404);
  metrics_->set_sessions(3);
  metrics_->set_open_streams(2);
  auto samples = scrape();
  EXPECT_EQ(samples.at("mcp_bg_tool_calls_total{outcome=\"ok\",tool=\"status\"}"), 2);
  EXPECT_EQ(samples.at("mcp_bg_tool_calls_total{outcome=\"error\",tool=\"status\"}"), 1);
  EXPECT_EQ(samples.at("mcp_bg_tool_calls_total{outcome=\"denied\",tool=\"execute\"}"), 1);
  EXPECT_EQ(samples.at("mcp_bg_tool_calls_total{outcome=\"cancelled\",tool=\"wait\"}"), 1);
  EXPECT_FALSE(samples.contains("mcp_bg_tool_calls_total{outcome=\"ok\",tool=\"execute\"}"));
  EXPECT_EQ(samples.at("mcp_bg_tool_call_duration_seconds_count{tool=\"status\"}"), 3);
  EXPECT_EQ(samples.at("mcp_bg_tool_call_duration_seconds_bucket{tool=\"status\",le=\"0.0001\"}"),
            1);
  EXPECT_EQ(samples.at("mcp_bg_tool_call_duration_seconds_bucket{tool=\"status\",le=\"0.00025\"}"),
            2);
  EXPECT_EQ(samples.at("mcp_bg_tool_call_duration_seconds_bucket{tool=\"status\",le=\"0.005\"}"),
            3);
  EXPECT_NEAR(samples.at("mcp_bg_tool_call_duration_seconds_sum{tool=\"status\"}"), 0.00325, 1e-9);
  EXPECT_EQ(samples.at("mcp_bg_tool_call_duration_seconds_bucket{tool=\"execute\",le=\"1\"}"), 0);
  EXPECT_EQ(samples.at("mcp_bg_tool_call_duration_seconds_bucket{tool=\"execute\",le=\"2.5\"}"), 1);
  EXPECT_EQ(samples.at("mcp_bg_tool_call_duration_seconds_bucket{tool=\"wait\",le=\"60\"}"), 0);
  EXPECT_EQ(samples.at("mcp_bg_tool_call_duration_seconds_bucket{tool=\"wait\",le=\"+Inf\"}"), 1);
  EXPECT_EQ(samples.at("mcp_bg_http_requests_total{code=\"200\"}"), 2);
  EXPECT_EQ(samples.at("mcp_bg_http_requests_total{code=\"404\"}"), 1);
  EXPECT_EQ(samples.at("mcp_bg_http_sessions"), 3);
  EXPECT_EQ(samples.at("mcp_bg_http_streams"), 2);
}

TEST_F(MetricsTest, RendersTypesAndUnits) {
  start();
  metrics_->tool_call("list", CallOutcome::kOk, 1ms);
  std::string text = metrics_->render();
  EXPECT_NE(text.find("# TYPE mcp_bg_jobs_started_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE mcp_bg_jobs_running gauge"), std::string::npos);
  EXPECT_NE(text.find("# TYPE mcp_bg_tool_call_duration_seconds histogram"), std::string::npos);
  EXPECT_EQ(Metrics::kContentType.substr(0, 25), "text/plain; version=0.0.4");
}

}  // namespace
}  // namespace observe
