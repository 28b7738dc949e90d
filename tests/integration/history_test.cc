// The history database under the real binary: a server killed in the middle of a burst, a full
// disk and a read-only one. Each file system failure is real: a tmpfs of a few hundred KiB, in a
// mount namespace of this test's own (the server it starts shares it; nothing else sees it).
#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include "helpers/scratch_dir.h"
#include "integration/server_process.h"

namespace test {
namespace {

using namespace std::chrono_literals;

// Waits, with a deadline, for a condition about the outside world (another process's state).
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);  // re-check interval under the deadline
  }
  return true;
}

Json execute_request(int id, const std::string& command) {
  return Json{{"jsonrpc", "2.0"},
              {"id", id},
              {"method", "tools/call"},
              {"params", {{"name", "execute"}, {"arguments", {{"command", command}}}}}};
}

struct Row {
  std::string status;
  bool ended = false;
};

// Every row of the database, read through a connection of this process's own.
std::map<std::string, Row> committed_rows(const std::filesystem::path& file) {
  SQLite::Database db(file, SQLite::OPEN_READONLY);
  SQLite::Statement rows(db, "SELECT id, status, ended_ms IS NOT NULL FROM jobs");
  std::map<std::string, Row> seen;
  while (rows.executeStep()) {
    seen[rows.getColumn(0).getString()] =
        Row{rows.getColumn(1).getString(), rows.getColumn(2).getInt() != 0};
  }
  return seen;
}

// A tmpfs of `options` at `dir`, private to this process and its children. An empty result
// means mounted; otherwise why not (the test then skips, saying so).
std::string mount_private_tmpfs(const std::filesystem::path& dir, const std::string& options) {
  if (::geteuid() != 0) return "not root: a tmpfs cannot be mounted";
  if (::unshare(CLONE_NEWNS) != 0) {
    return std::string("unshare(CLONE_NEWNS) failed: ") + std::strerror(errno);
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return std::string("making / private failed: ") + std::strerror(errno);
  }
  std::filesystem::create_directories(dir);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    return std::string("mount tmpfs failed: ") + std::strerror(errno);
  }
  return {};
}

// Fills the file system of `dir` to the last byte; returns the filler's path.
std::filesystem::path fill_disk(const std::filesystem::path& dir) {
  auto filler = dir / "filler";
  int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  EXPECT_GE(fd, 0);
  std::string block(4096, 'x');
  while (::write(fd, block.data(), block.size()) > 0) {
  }
  EXPECT_EQ(errno, ENOSPC);
  while (::write(fd, block.data(), 1) > 0) {  // the last partial block
  }
  ::close(fd);
  return filler;
}

// The crash proof: SIGKILL of a real server in the middle of a 1,000-job burst. Every row
// another connection saw committed before the kill is still there afterwards, as it was or
// further on; the file passes SQLite's own integrity check; and the next server reads it.
TEST(History, ASigkilledServerMidBurstLosesNoCommittedJobAndLeavesASoundFile) {
  ScratchDir scratch("mcpbg-crash");
  auto state = scratch / "state";
  auto file = state / "history.sqlite3";
  std::map<std::string, Row> before_kill;
  {
    // Room for every job of the burst: none refused, none pruned by max_finished.
    ServerProcess server(
        {"--state-dir", state.string(), "--max-jobs", "1000", "--max-finished", "100000"});
    server.initialize();
    constexpr int kRound = 50;
    int next_id = 1;
    // Rounds of 50 requests in flight; after 500 jobs, a look at what is committed, then 100
    // more sent without waiting and the server killed while it works on them.
    for (int round = 0; round < 12; ++round) {
      int first = next_id;
      for (int i = 0; i < kRound; ++i) server.send(execute_request(next_id++, "true"));
      if (round >= 10) continue;
      for (int id = first; id < next_id; ++id) {
        auto answer = server.response(id, 30s);
        ASSERT_TRUE(answer) << "no answer to execute " << id;
        ASSERT_FALSE((*answer)["result"].value("isError", false)) << answer->dump();
      }
      if (round == 9) {
        ASSERT_TRUE(eventually([&] { return committed_rows(file).size() >= 300; }));
        before_kill = committed_rows(file);
      }
    }
    ::kill(server.pid(), SIGKILL);
    auto status = server.wait_exit();
    ASSERT_TRUE(status);
    ASSERT_TRUE(WIFSIGNALED(*status));
  }
  ASSERT_GE(before_kill.size(), 300u);

  {
    SQLite::Database db(file, SQLite::OPEN_READWRITE);
    EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
  }
  auto after = committed_rows(file);
  EXPECT_GE(after.size(), before_kill.size());
  for (const auto& [id, row] : before_kill) {
    auto found = after.find(id);
    ASSERT_NE(found, after.end()) << "committed job " << id << " was lost";
    if (row.ended) {
      EXPECT_TRUE(found->second.ended) << id;
      EXPECT_EQ(found->second.status, row.status) << id;
    }
  }

  // The next server serves the history: a job seen finished, and the rest in list.
  ServerProcess next({"--state-dir", state.string(), "--max-finished", "100000"});
  next.initialize();
  auto finished = std::find_if(before_kill.begin(), before_kill.end(),
                               [](const auto& entry) { return entry.second.ended; });
  ASSERT_NE(finished, before_kill.end());
  auto status = next.call("status", Json{{"job_id", finished->first}});
  EXPECT_EQ(status.value("status", ""), finished->second.status) << status.dump();
  EXPECT_EQ(status.value("from_history", false), true) << status.dump();
  auto page = next.call("list", Json::object());
  ASSERT_TRUE(page.contains("jobs")) << page.dump();
  EXPECT_FALSE(page["jobs"].empty());
  for (const auto& job : page["jobs"]) {
    EXPECT_NE(job["status"], "running") << "a job of the killed server is running for ever";
  }
}

// A full disk: the server started with a working history, then the disk filled up. Jobs still
// run and answer; status says their row could not be written, naming the file; the log says so
// once and sums up at exit. Room made again, the next job is written.
TEST(History, AFullDiskIsReportedOnTheCallAndTheServerKeepsServing) {
  ScratchDir scratch("mcpbg-full");
  auto mount_point = scratch / "disk";
  if (auto why = mount_private_tmpfs(mount_point, "size=512k,mode=0700"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto state = mount_point / "state";
  auto file = state / "history.sqlite3";
  {
    ServerProcess server({"--state-dir", state.string()});
    server.initialize();
    auto filler = fill_disk(mount_point);

    auto job = server.call("execute", Json{{"command", "echo still-served"}});
    ASSERT_TRUE(job.contains("job_id")) << job.dump();
    auto done = server.call("wait", Json{{"job_id", job["job_id"]}});
    EXPECT_EQ(done.value("status", ""), "completed") << done.dump();
    auto output = server.call("output", Json{{"job_id", job["job_id"]}});
    EXPECT_NE(output.dump().find("still-served"), std::string::npos) << output.dump();
    Json status;
    ASSERT_TRUE(eventually([&] {
      status = server.call("status", Json{{"job_id", job["job_id"]}});
      return status.contains("history_error");
    })) << status.dump();
    std::string error = status["history_error"];
    EXPECT_NE(error.find(file.string()), std::string::npos) << error;
    EXPECT_NE(error.find("full"), std::string::npos) << error;

    std::filesystem::remove(filler);
    auto later = server.call("execute", Json{{"command", "echo written"}});
    server.call("wait", Json{{"job_id", later["job_id"]}});
    ASSERT_TRUE(eventually([&] {
      auto rows = committed_rows(file);
      auto row = rows.find(later["job_id"].get<std::string>());
      return row != rows.end() && row->second.ended;
    }));
    auto fine = server.call("status", Json{{"job_id", later["job_id"]}});
    EXPECT_FALSE(fine.contains("history_error")) << fine.dump();

    server.close_stdin();
    ASSERT_TRUE(server.wait_exit());
    auto log = server.stderr_text();
    EXPECT_NE(log.find("history: a write"), std::string::npos) << log;
    EXPECT_NE(log.find("failed; the last error"), std::string::npos) << log;
  }
  SQLite::Database db(file, SQLite::OPEN_READWRITE);
  EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
  ::umount2(mount_point.c_str(), MNT_DETACH);
}

// A read-only disk: a state_dir that was set on purpose stops start-up with an error naming it;
// the default one is passed over with a warning, and the server serves without a history.
TEST(History, AReadOnlyStateDirIsAClearErrorAtStartUp) {
  ScratchDir scratch("mcpbg-ro");
  auto mount_point = scratch / "disk";
  if (auto why = mount_private_tmpfs(mount_point, "size=256k,mode=0700"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto state = mount_point / "mcp-background-job";
  {
    ServerProcess first({"--state-dir", state.string()});
    first.initialize();
    first.close_stdin();
    ASSERT_TRUE(first.wait_exit());
  }
  ASSERT_EQ(::mount(nullptr, mount_point.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0)
      << std::strerror(errno);

  ServerProcess chosen({"--state-dir", state.string()});
  auto status = chosen.wait_exit();
  ASSERT_TRUE(status) << "a server with an unusable state_dir kept running";
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  auto error = chosen.stderr_text();
  EXPECT_NE(error.find(state.string()), std::string::npos) << error;
  EXPECT_NE(error.find("Read-only file system"), std::string::npos) << error;

  ServerProcess fallback({}, {{"XDG_STATE_HOME", mount_point.string()}});
  fallback.initialize();
  auto job = fallback.call("execute", Json{{"command", "echo served"}});
  ASSERT_TRUE(job.contains("job_id")) << job.dump();
  auto done = fallback.call("wait", Json{{"job_id", job["job_id"]}});
  EXPECT_EQ(done.value("status", ""), "completed") << done.dump();
  fallback.close_stdin();
  ASSERT_TRUE(fallback.wait_exit());
  auto warning = fallback.stderr_text();
  EXPECT_NE(warning.find("no history of jobs is kept"), std::string::npos) << warning;
  ::umount2(mount_point.c_str(), MNT_DETACH);
}

}  // namespace
}  // namespace test
