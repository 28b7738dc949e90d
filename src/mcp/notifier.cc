#include "mcp/notifier.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "mcp/resources.h"
#include "mcp/tools/redaction.h"

namespace mcp {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

// RFC 5424 severities as MCP names them, least severe first.
constexpr std::array<std::string_view, 8> kLevels{"debug", "info",     "notice", "warning",
                                                  "error", "critical", "alert",  "emergency"};
constexpr int kInfo = 1;
constexpr int kWarning = 3;
// Until the client says otherwise, it hears of every job's end: an agent that started a job
// wants to know, and these messages are one per job.
constexpr int kDefaultLevel = kInfo;

constexpr size_t kMaxCommandBytes = 200;

}  // namespace

struct Notifier::Watch {
  Watch(const asio::any_io_executor& executor, std::shared_ptr<jobs::Job> watched)
      : job(std::move(watched)), throttle(executor) {}

  std::shared_ptr<jobs::Job> job;
  bool status = false;          // job://{id} is subscribed
  bool output = false;          // job://{id}/output is subscribed
  bool watching = false;        // watch_output is running for it
  bool stopped = false;         // the job was forgotten, or the notifier is going away
  uint64_t notified_bytes = 0;  // The output's size when the client was last told.
  Clock::time_point last_notice;
  asio::steady_timer throttle;  // Holds back the next output update until kMinInterval passed.
};

Notifier::Notifier(const asio::any_io_executor& executor, jobs::JobManager& jobs, Notify notify,
                   const policy::Redactor* redactor)
    : executor_(executor),
      jobs_(jobs),
      notify_(std::move(notify)),
      redactor_(redactor),
      log_level_(kDefaultLevel),
      last_list_changed_(Clock::now() - kMinInterval),
      list_timer_(executor) {
  std::weak_ptr<int> alive = alive_;
  jobs_.on_job_end(
      [this, alive](const jobs::Job& job) {
        if (!alive.expired()) job_ended(job);
      },
      alive_);
  jobs_.on_jobs_changed(
      [this, alive](const std::string& id) {
        if (!alive.expired()) jobs_changed(id);
      },
      alive_);
}

// Timer cancellation reports failure by exception only in theory (a broken reactor).
Notifier::~Notifier() {  // NOLINT(bugprone-exception-escape)
  for (auto& [id, watch] : watches_) {
    watch->stopped = true;
    watch->throttle.cancel();
  }
}

bool Notifier::set_log_level(std::string_view level) {
  auto it = std::find(kLevels.begin(), kLevels.end(), level);
  if (it == kLevels.end()) return false;
  log_level_ = static_cast<int>(it - kLevels.begin());
  return true;
}

base::Result<void> Notifier::subscribe(std::string_view uri) {
  auto target = resources::resolve(jobs_, uri);
  if (!target) return tl::unexpected(target.error());
  auto& watch = watches_[target->job->id()];
  if (!watch) watch = std::make_shared<Watch>(executor_, target->job);
  if (target->kind == resources::Kind::kStatus) {
    watch->status = true;
    return {};
  }
  if (watch->output) return {};
  watch->output = true;
  // Output that arrives within kMinInterval of subscribing is reported at its end, not at once.
  watch->notified_bytes = watch->job->output().total_bytes();
  watch->last_notice = Clock::now();
  bool producing = !watch->job->finished() || watch->job->output_open();
  if (producing && !watch->watching) {
    watch->watching = true;
    asio::co_spawn(executor_, watch_output(watch), asio::detached);
  }
  return {};
}

void Notifier::unsubscribe(std::string_view uri) {
  auto parsed = resources::parse_job_uri(uri);
  if (!parsed) return;
  auto it = watches_.find(parsed->job_id);
  if (it == watches_.end()) return;
  Watch& watch = *it->second;
  if (parsed->kind == resources::Kind::kStatus) {
    watch.status = false;
  } else {
    watch.output = false;
    watch.throttle.cancel();  // watch_output ends at its next wake-up
  }
}

void Notifier::send_updated(const std::string& job_id, bool output) {
  auto kind = output ? resources::Kind::kOutput : resources::Kind::kStatus;
  notify_("notifications/resources/updated", Json{{"uri", resources::job_uri(job_id, kind)}});
}

// Output growth: no work per append. Job::wait_for_change wakes this coroutine when output
// arrives; if the client was told less than kMinInterval ago, it sleeps on the watch's timer
// (not on the job) until then, and one notification covers everything that arrived meanwhile.
// So a job streaming GB/s costs at most two wake-ups a second here.
asio::awaitable<void> Notifier::watch_output(std::shared_ptr<Watch> watch) {
  const jobs::Job& job = *watch->job;
  for (;;) {
    // `this` is used only while the watch is live: the destructor stops every watch.
    if (watch->stopped || !watch->output) break;
    bool finished = job.finished() && !job.output_open();
    if (job.output().total_bytes() != watch->notified_bytes) {
      auto due = watch->last_notice + kMinInterval;
      // The last bytes after the end are reported at once: nothing more will follow them.
      if (!finished && Clock::now() < due) {
        watch->throttle.expires_at(due);
        co_await watch->throttle.async_wait(kAsTuple);
        continue;
      }
      watch->notified_bytes = job.output().total_bytes();
      watch->last_notice = Clock::now();
      send_updated(job.id(), /*output=*/true);
      continue;
    }
    if (finished) break;
    co_await watch->job->wait_for_change(Clock::time_point::max(), jobs::Job::Wake::kOnOutputToo);
  }
  watch->watching = false;
}

void Notifier::job_ended(const jobs::Job& job) {
  bool failed = job.status() == jobs::JobStatus::kFailed;
  int level = failed ? kWarning : kInfo;
  if (level >= log_level_) {
    // A job that never started (cancelled in the queue, or its program could not start) has no
    // duration: its started() is the epoch.
    std::string after;
    if (job.has_started()) {
      auto end = job.ended().value_or(base::WallClock::now());
      after =
          fmt::format(" after {:.1f} s",
                      std::max(0.0, std::chrono::duration<double>(end - job.started()).count()));
    }
    std::string label =
        job.spec().label.empty()
            ? ""
            : fmt::format("({}) ", resources::one_line(
                                       tools::shown_command(redactor_, job.spec().label), 80));
    notify_("notifications/message",
            Json{{"level", kLevels[level]},
                 {"logger", kLoggerName},
                 {"data", fmt::format("job {} {}`{}` {}{}", job.id(), label,
                                      resources::one_line(
                                          tools::shown_command(redactor_, job.spec().command),
                                          kMaxCommandBytes),
                                      resources::end_phrase(job), after)}});
  }

  auto it = watches_.find(job.id());
  if (it == watches_.end()) return;
  Watch& watch = *it->second;
  if (watch.status) send_updated(job.id(), /*output=*/false);
  if (watch.output) {
    watch.notified_bytes = job.output().total_bytes();
    watch.last_notice = Clock::now();
    watch.throttle.cancel();  // This notification covers what the timer was holding back.
    send_updated(job.id(), /*output=*/true);
  }
}

void Notifier::jobs_changed(const std::string& id) {
  if (!jobs_.find(id)) {  // Forgotten: its subscriptions go with it.
    if (auto it = watches_.find(id); it != watches_.end()) {
      it->second->stopped = true;
      it->second->throttle.cancel();
      watches_.erase(it);
    }
  }
  if (!list_requested_ || list_changed_pending_) return;
  auto due = last_list_changed_ + kMinInterval;
  if (Clock::now() >= due) {
    send_list_changed();
    return;
  }
  // A burst of starts or evictions becomes one notification.
  list_changed_pending_ = true;
  list_timer_.expires_at(due);
  // A handler already queued when the notifier goes away runs without an error: hence `alive`.
  list_timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](boost::system::error_code ec) {
    if (ec || alive.expired()) return;
    list_changed_pending_ = false;
    send_list_changed();
  });
}

void Notifier::send_list_changed() {
  last_list_changed_ = Clock::now();
  notify_("notifications/resources/list_changed", Json::object());
}

}  // namespace mcp
