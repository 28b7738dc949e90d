#include "history/job_history.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "base/uuid.h"
#include "store/output_file.h"
#include "store/state_dir.h"
#include "sys/marked_processes.h"
#include "sys/proc_stats.h"
#include "sys/process.h"
#include "sys/small_file.h"

namespace history {
namespace {

using base::WallClock;

// A write waits this long for another server's write to the same file before it fails.
constexpr store::BusyTimeout kBusy{2000};

store::EpochMillis to_millis(WallClock::time_point when) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
}

WallClock::time_point from_millis(store::EpochMillis millis) {
  return WallClock::time_point(std::chrono::milliseconds(millis));
}

std::optional<jobs::JobStatus> parse_status(std::string_view text) {
  for (size_t i = 0; i < jobs::kJobStatusCount; ++i) {
    auto status = static_cast<jobs::JobStatus>(i);
    if (jobs::to_string(status) == text) return status;
  }
  return std::nullopt;
}

jobs::EndReason parse_reason(std::string_view text) {
  if (text == jobs::to_string(jobs::EndReason::kMemoryLimit)) return jobs::EndReason::kMemoryLimit;
  if (text == jobs::to_string(jobs::EndReason::kServerGone)) return jobs::EndReason::kServerGone;
  if (text == jobs::to_string(jobs::EndReason::kKeeperGone)) return jobs::EndReason::kKeeperGone;
  return jobs::EndReason::kNone;
}

std::string redacted(const policy::Redactor* redactor, std::string_view text) {
  return redactor ? redactor->redact(text) : std::string(text);
}

// The kept bytes of `log` in [from, to), both streams, in one string. read_window finds where
// each kept region ends without copying; the bytes are copied once, straight into the result.
std::string kept_bytes(const jobs::OutputLog& log, uint64_t from, uint64_t to) {
  std::string bytes;
  while (from < to) {
    auto window = log.read_window(from, to - from, jobs::StreamFilter::kBoth);
    // A cut inside a character ends the window early and the next one returns it whole, maybe
    // past `to`: the range asked for is what is kept.
    uint64_t end = std::min(window.to, to);
    if (end <= window.from) break;
    if (bytes.empty()) {
      bytes = log.bytes(window.from, end, jobs::StreamFilter::kBoth);
    } else {
      bytes += log.bytes(window.from, end, jobs::StreamFilter::kBoth);
    }
    from = end;
  }
  return bytes;
}

// The first `head_bytes` and the last `tail_bytes` of what the job printed, redacted.
store::StoredOutput kept_output(const jobs::OutputLog& log, const policy::Redactor* redactor,
                                uint64_t head_bytes, uint64_t tail_bytes) {
  store::StoredOutput kept;
  kept.total_bytes = log.total_bytes();
  uint64_t head_end = std::min(log.head_size(), head_bytes);
  // The last tail_bytes that are kept: in the head still, or in the live log's tail (never in
  // the middle it dropped).
  uint64_t tail_from = log.total_bytes() > tail_bytes ? log.total_bytes() - tail_bytes : 0;
  if (tail_from >= log.head_size() && tail_from < log.tail_start()) tail_from = log.tail_start();
  if (tail_from <= head_end) {  // Everything kept fits: one piece.
    kept.head = redacted(redactor, kept_bytes(log, 0, log.total_bytes()));
    kept.tail_offset = kept.head.size();
    return kept;
  }
  kept.head = redacted(redactor, kept_bytes(log, 0, head_end));
  kept.tail = redacted(redactor, kept_bytes(log, tail_from, log.total_bytes()));
  kept.tail_offset = tail_from;
  return kept;
}

// Whether the process `identity` names runs now, in this boot.
bool alive(const store::ProcessIdentity& identity, const std::string& boot_id) {
  return identity.boot_id == boot_id &&
         sys::process_alive(sys::ProcessId{identity.pid, identity.start_ticks});
}

}  // namespace

std::string current_boot_id() {
  std::string id = sys::read_small_file("/proc/sys/kernel/random/boot_id");
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

base::Result<std::unique_ptr<JobHistory>> JobHistory::open(const std::filesystem::path& state_dir,
                                                           jobs::JobManager& manager,
                                                           const policy::Redactor* redactor,
                                                           Role role) {
  if (auto prepared = store::prepare_state_dir(state_dir); !prepared) {
    return tl::unexpected(prepared.error());
  }
  auto file = state_dir / "history.sqlite3";
  auto reader = store::HistoryDb::open(file, kBusy);
  if (!reader) return tl::unexpected(reader.error());
  auto writer = store::HistoryDb::open(file, kBusy);
  if (!writer) return tl::unexpected(writer.error());
  std::unique_ptr<JobHistory> history(
      new JobHistory(std::move(*reader), std::move(*writer), manager, redactor, role));
  history->prune();
  return history;
}

JobHistory::JobHistory(store::HistoryDb reader, store::HistoryDb writer, jobs::JobManager& manager,
                       const policy::Redactor* redactor, Role role)
    : reader_(std::move(reader)),
      writer_(std::move(writer),
              [this](const std::string& job_id, const base::Error& error) {
                log_write_failure(job_id, error);
              }),
      manager_(manager),
      redactor_(redactor),
      role_(role),
      server_id_(base::new_uuid_v4()) {
  server_.pid = ::getpid();
  if (auto self = sys::read_process(server_.pid)) server_.start_ticks = self->id.start_ticks;
  server_.boot_id = current_boot_id();
  manager_.on_jobs_changed(
      [this](const std::string& id) {
        if (auto job = manager_.find(id)) {
          record(*job, false);
        } else {
          prune();  // Forgotten by the engine: the same rule applies to the database.
        }
      },
      alive_);
  manager_.on_job_end([this](const jobs::Job& job) { record(job, true); }, alive_);
}

JobHistory::~JobHistory() {
  writer_.close();
  auto stats = writer_.stats();
  if (stats.failed > 0) {
    spdlog::warn("history: {} of {} writes to {} failed; the last error: {}", stats.failed,
                 stats.failed + stats.applied, reader_.file().string(), stats.last_error);
  }
}

void JobHistory::log_write_failure(const std::string& job_id, const base::Error& error) {
  // A full disk fails every write: the first error and each new one are logged, not each write.
  if (error.message == last_logged_error_) return;
  last_logged_error_ = error.message;
  spdlog::warn(
      "history: a write{} failed, and is lost: {} (later failures with the same error "
      "are counted, and summed up at exit)",
      job_id.empty() ? "" : " of job " + job_id, error.message);
}

void JobHistory::record(const jobs::Job& job, bool with_output) {
  // A persisted job shown here is its keeper's to record.
  if (job.is_kept()) return;
  store::JobRecord row;
  row.id = job.id();
  row.server_id = server_id_;
  row.server = server_;
  row.client = job.spec().owner.client;
  row.session = job.spec().owner.session;
  row.command = redacted(redactor_, job.spec().command);
  row.cwd = job.spec().cwd.string();
  row.label = redacted(redactor_, job.spec().label);
  row.pty = job.has_terminal();
  row.status = std::string(jobs::to_string(job.status()));
  row.exit_code = job.exit_code();
  if (job.term_signal()) row.signal = sys::signal_name(*job.term_signal());
  row.reason = std::string(jobs::to_string(job.end_reason()));
  row.start_error = redacted(redactor_, job.start_error());
  row.created = to_millis(job.queued_at());
  if (job.has_started()) {
    row.started = to_millis(job.started());
    row.process = store::ProcessIdentity{.pid = job.pid(), .boot_id = server_.boot_id};
    if (role_ == Role::kKeeper) {
      // Whoever finds the keeper gone ends what is left of the job: by its group only while
      // the group's leader is provably the job's.
      if (auto main = sys::read_process(job.pid())) row.process->start_ticks = main->id.start_ticks;
    }
  }
  if (role_ == Role::kKeeper) {
    row.persisted = true;
    row.keeper = server_;
  }
  if (job.ended()) row.ended = to_millis(*job.ended());
  row.output_bytes = job.output().total_bytes();
  row.dropped_bytes = job.output().dropped_bytes();
  std::optional<store::StoredOutput> output;
  if (with_output) {
    // A persisted job keeps what its log kept (its head and tail, up to max_output_size);
    // others a bounded head and tail.
    bool all = role_ == Role::kKeeper;
    output = kept_output(job.output(), redactor_, all ? job.output().head_size() : kKeptHeadBytes,
                         all ? job.output().total_bytes() : kKeptTailBytes);
  }
  std::string id = row.id;
  writer_.submit(
      [row = std::move(row), output = std::move(output)](store::HistoryDb& db) {
        if (auto saved = db.save(row); !saved) return saved;
        if (output) return db.save_output(row.id, *output);
        return base::Result<void>{};
      },
      std::move(id));
}

void JobHistory::prune() {
  const auto& settings = manager_.settings();
  auto ended_before = to_millis(WallClock::now() - settings.retention);
  auto keep = static_cast<size_t>(settings.max_finished);
  writer_.submit([keep, ended_before](store::HistoryDb& db) -> base::Result<void> {
    auto removed = db.prune(keep, ended_before);
    if (!removed) return tl::unexpected(removed.error());
    return {};
  });
}

void JobHistory::mark_lost(const std::string& id, jobs::EndReason reason) {
  auto now = to_millis(WallClock::now());
  writer_.submit([id, reason = std::string(jobs::to_string(reason)), now](store::HistoryDb& db) {
    auto marked = db.mark_lost(id, reason, now);
    if (!marked) return base::Result<void>(tl::unexpected(marked.error()));
    return base::Result<void>{};
  });
}

std::optional<store::StoredOutput> JobHistory::output_on_disk(const std::string& id) const {
  auto file = store::OutputFile::open(store::keeper_file(reader_.file().parent_path(), id, ".out"),
                                      store::OutputFile::Access::kRead);
  if (!file) return std::nullopt;
  // The whole of each kept part, in reads that never span the dropped middle.
  auto read_all = [&](uint64_t from, uint64_t to) {
    std::string bytes;
    while (from < to) {
      auto piece = file->read(from, to - from);
      if (!piece || piece->bytes.empty()) break;
      bytes += piece->bytes;
      from = piece->offset + piece->bytes.size();
    }
    return bytes;
  };
  store::StoredOutput kept;
  kept.total_bytes = file->total_bytes();
  uint64_t head_end = std::min(file->head_capacity(), kept.total_bytes);
  kept.head = read_all(0, head_end);
  kept.tail_offset = std::max(file->tail_start(), head_end);
  kept.tail = read_all(kept.tail_offset, kept.total_bytes);
  return kept;
}

base::Result<bool> JobHistory::settle(store::JobRecord& row) {
  if (row.ended) return true;
  if (row.server_id == server_id_ || alive(row.server, server_.boot_id)) return false;
  auto why = row.persisted ? jobs::EndReason::kKeeperGone : jobs::EndReason::kServerGone;
  // Its server is gone: shown lost now, and marked so by the writer thread. mark_lost changes
  // the row only while it is still open; if its writer ended it meanwhile, the mark is dropped
  // here too and the next read shows the real end.
  store::EpochMillis at = 0;
  bool first = false;
  {
    std::lock_guard lock(lost_mutex_);
    auto [entry, inserted] = marked_lost_.try_emplace(row.id, to_millis(WallClock::now()));
    at = entry->second;
    first = inserted;
  }
  if (first && row.persisted && row.process && row.process->boot_id == server_.boot_id) {
    // Its keeper was killed: what it held of the job is ended now, as the keeper would have.
    // The group is the job's only while its leader is the job's main process.
    pid_t group = 0;
    if (row.process->start_ticks != 0 &&
        sys::process_alive(sys::ProcessId{row.process->pid, row.process->start_ticks})) {
      group = row.process->pid;
    }
    int killed = sys::kill_processes_of_job(row.id, group);
    if (killed > 0)
      spdlog::warn("job {}: its keeper is gone; ended {} process(es) of it", row.id, killed);
  }
  std::string reason = std::string(jobs::to_string(why));
  if (first) {
    writer_.submit(
        [this, id = row.id, reason, at](store::HistoryDb& db) -> base::Result<void> {
          auto marked = db.mark_lost(id, reason, at);
          if (!marked) return tl::unexpected(marked.error());
          if (!*marked) {
            std::lock_guard lock(lost_mutex_);
            marked_lost_.erase(id);
          }
          return {};
        },
        row.id);
  }
  row.status = std::string(jobs::to_string(jobs::JobStatus::kLost));
  row.reason = std::move(reason);
  row.ended = at;
  return true;
}

std::shared_ptr<jobs::Job> JobHistory::rebuild(
    const store::JobRecord& row, const std::optional<store::StoredOutput>& output) const {
  jobs::Job::Recorded recorded{.output = jobs::OutputLog(0)};
  recorded.id = row.id;
  recorded.spec.command = row.command;
  recorded.spec.cwd = row.cwd;
  recorded.spec.label = row.label;
  recorded.spec.owner = jobs::JobOwner{row.client, row.session};
  if (row.pty) recorded.spec.terminal = sys::TerminalSize{};
  recorded.status = parse_status(row.status).value_or(jobs::JobStatus::kLost);
  recorded.exit_code = row.exit_code;
  if (!row.signal.empty()) recorded.term_signal = sys::parse_signal_name(row.signal);
  recorded.end_reason = parse_reason(row.reason);
  recorded.start_error = row.start_error;
  if (row.process) recorded.pid = row.process->pid;
  recorded.queued_at = from_millis(row.created);
  recorded.started = from_millis(row.started.value_or(row.created));
  if (row.ended) recorded.ended = from_millis(*row.ended);
  recorded.persisted = row.persisted;
  if (output) {
    recorded.output = jobs::OutputLog::restored(output->head, output->tail_offset, output->tail);
  } else {
    // Not stored (a lost job, or a page of list): the counts alone, nothing kept.
    recorded.output = jobs::OutputLog::restored({}, row.output_bytes, {});
  }
  return jobs::Job::from_history(manager_.executor(), std::move(recorded));
}

base::Result<std::shared_ptr<jobs::Job>> JobHistory::find(std::string_view id) {
  auto found = reader_.find(std::string(id));
  if (!found) return tl::unexpected(found.error());
  if (!*found) return std::shared_ptr<jobs::Job>();
  store::JobRecord row = std::move(**found);
  auto settled = settle(row);
  if (!settled) return tl::unexpected(settled.error());
  if (!*settled && row.persisted && take_back_) return take_back_(row.id);
  if (!*settled) {
    return base::fail(fmt::format(
        "job {} is {} under another server (pid {}, client {}), which is still running: only "
        "that server can act on it or show its output; ask it, or wait for the job to end and "
        "read it here then",
        row.id, row.status, row.server.pid, row.client.empty() ? "unnamed" : row.client));
  }
  auto output = reader_.find_output(row.id);
  if (!output) return tl::unexpected(output.error());
  // A persisted job whose keeper was killed recorded no output; its keeper's copy on disk did.
  if (!*output && row.persisted) *output = output_on_disk(row.id);
  return rebuild(row, *output);
}

base::Result<JobHistory::Page> JobHistory::list(std::optional<int64_t> before_seq, size_t limit) {
  Page page;
  store::ListQuery query{.limit = limit, .before_seq = before_seq};
  while (page.jobs.size() < limit) {
    auto rows = reader_.list(query);
    if (!rows) return tl::unexpected(rows.error());
    for (auto& row : rows->rows) {
      query.before_seq = row.seq;
      if (manager_.find(row.id)) continue;  // This server's own: listed from memory.
      if (auto settled = settle(row); !settled) return tl::unexpected(settled.error());
      if (page.jobs.size() == limit) {
        page.more = true;
        return page;
      }
      page.jobs.push_back(rebuild(row, std::nullopt));
      page.seqs.push_back(row.seq);
    }
    if (!rows->more) return page;
  }
  page.more = true;
  return page;
}

}  // namespace history
