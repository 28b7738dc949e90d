// capture: how fast the server takes in a job's output, with the default 10 MB bound in force so
// the head/tail bookkeeping and the dropping of the middle are part of the price. Two
// references, both run by the driver itself:
//  - the command with its output sent to /dev/null: the cost of producing the bytes with nobody
//    reading them (writes to /dev/null copy nothing), the figure the targets are set against;
//  - the command writing into a pipe that the driver drains with plain blocking reads of the
//    server's read size, discarding the bytes: what a minimal pipe reader achieves. It shows how
//    much of the gap to /dev/null is the pipe itself (a copy into it, a copy out of it, the
//    writer blocking whenever it is full). It is not a strict floor: a blocking reader wakes for
//    every write, where an event loop often finds several writes' worth waiting.

#include <algorithm>

#include "failure.h"
#include "fds.h"
#include "job_calls.h"
#include "process.h"
#include "scenario.h"

namespace bench {
namespace {

// The server's default max_output_size, which this scenario leaves in place.
constexpr uint64_t kDefaultMaxOutput = 10ull << 20;
// Status is asked this often while a capture runs: fine enough to add well under 1% to runs of
// 100 ms or more, coarse enough that answering it takes almost none of the server's time.
constexpr auto kPollInterval = std::chrono::milliseconds(1);
constexpr auto kCaptureTimeout = std::chrono::seconds(120);
// The server reads its jobs' pipes 256 KiB at a time; the plain pipe reader does the same.
constexpr size_t kPipeReadSize = size_t{256} << 10;

struct Stream {
  std::string label;    // For the table.
  std::string command;  // What the job runs.
  uint64_t bytes;       // What it prints.
};

std::string size_label(uint64_t bytes) {
  if (bytes % (1ull << 30) == 0) return fmt::format("{}G", bytes >> 30);
  if (bytes % (1ull << 20) == 0) return fmt::format("{}M", bytes >> 20);
  return fmt::format("{}", bytes);
}

Clock::duration capture_with_server(McpClient& client, const Stream& stream) {
  StartedJob job = execute(client, stream.command);
  JobStatus done = await_completion(client, job,
                                    CompletionWait{.output_bytes = stream.bytes,
                                                   .poll_interval = kPollInterval,
                                                   .timeout = kCaptureTimeout});
  if (stream.bytes > kDefaultMaxOutput) {
    check(done.dropped_bytes > 0, "{} printed {} bytes but the server dropped none of them",
          stream.label, done.output_bytes);
  }
  return done.received - job.sent;
}

Clock::duration run_to_dev_null(const Stream& stream, const std::vector<std::string>& env) {
  const std::string command = stream.command + " > /dev/null";
  const auto started = Clock::now();
  Child child =
      unwrap(spawn(SpawnRequest{
                 .argv = {"/bin/sh", "-c", command}, .env = env, .group = ProcessGroup::kOwn}),
             fmt::format("spawning sh -c '{}'", command));
  sys::ExitInfo status = unwrap(child.wait(), fmt::format("waiting for sh -c '{}'", command));
  const auto ended = Clock::now();
  check(status.exit_code == 0, "sh -c '{}' ended with {}", command, describe_exit(status));
  return ended - started;
}

Clock::duration read_through_pipe(const Stream& stream, const std::vector<std::string>& env) {
  std::vector<char> buffer(kPipeReadSize);
  const auto started = Clock::now();
  Pipe pipe = unwrap(make_pipe(), "creating a pipe");
  Child child = unwrap(spawn(SpawnRequest{.argv = {"/bin/sh", "-c", stream.command},
                                          .env = env,
                                          .group = ProcessGroup::kOwn,
                                          .stdout_fd = pipe.write_end.get()}),
                       fmt::format("spawning sh -c '{}'", stream.command));
  pipe.write_end.reset();  // Only the child writes now; EOF comes when it exits.
  uint64_t total = 0;
  while (size_t n = unwrap(read_some(pipe.read_end.get(), buffer), "reading the pipe")) total += n;
  sys::ExitInfo status =
      unwrap(child.wait(), fmt::format("waiting for sh -c '{}'", stream.command));
  const auto ended = Clock::now();
  check(status.exit_code == 0 && total == stream.bytes,
        "sh -c '{}' ended with {} after {} bytes (expected {})", stream.command,
        describe_exit(status), total, stream.bytes);
  return ended - started;
}

}  // namespace

std::vector<Figure> run_capture(const ScenarioContext& context) {
  const Scale& scale = context.scale();
  const std::vector<Stream> streams = {
      {"seq 1 2000000", "seq 1 2000000", seq_output_bytes(2'000'000)},
      {fmt::format("head -c {} /dev/zero", size_label(scale.zero_bytes)),
       fmt::format("head -c {} /dev/zero", scale.zero_bytes), scale.zero_bytes},
  };
  McpClient client = McpClient::start(context.server("capture"));
  const std::vector<std::string> env = current_environment();

  std::vector<Figure> figures;
  for (const Stream& stream : streams) {
    Samples server_times;
    Samples null_times;
    Samples pipe_times;
    for (int i = 0; i < scale.capture_repeats; ++i) {
      // Interleaved, so that all three see the same state of the machine.
      server_times.add(capture_with_server(client, stream));
      null_times.add(run_to_dev_null(stream, env));
      pipe_times.add(read_through_pipe(stream, env));
    }
    const double server_ms = to_millis(server_times.median());
    const double null_ms = to_millis(null_times.median());
    const double pipe_ms = to_millis(pipe_times.median());
    figures.push_back(Figure{
        .scenario = "capture",
        .name = fmt::format("{} captured, median of {}", stream.label, scale.capture_repeats),
        .unit = "ms",
        .measured = server_ms,
        .reference = null_ms,
        .reference_label = "same > /dev/null",
        .target = Target::ratio_at_most(1.3)});
    figures.push_back(
        Figure{.scenario = "capture",
               .name = fmt::format("{} captured, vs a plain pipe reader", stream.label),
               .unit = "ms",
               .measured = server_ms,
               .reference = pipe_ms,
               .reference_label = "driver: blocking reads of a pipe",
               .target = Target::none()});
    if (stream.command.starts_with("head")) {
      auto gb_per_s = [&](double ms) {
        return static_cast<double>(stream.bytes) / 1e9 / (ms / 1e3);
      };
      figures.push_back(Figure{.scenario = "capture",
                               .name = "zero stream throughput (1 GB = 10^9 B)",
                               .unit = "GB/s",
                               .measured = gb_per_s(server_ms),
                               .reference = gb_per_s(null_ms),
                               .reference_label = "same > /dev/null",
                               .target = Target::at_least(1.0)});
    }
  }
  client.shut_down(std::chrono::seconds(30));
  return figures;
}

}  // namespace bench
