#include "policy/audit_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "helpers/scratch_dir.h"

namespace policy {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(scratch_.path().empty());
    dir_ = scratch_.path();
  }

  static std::vector<Json> read_lines(const fs::path& path) {
    std::vector<Json> lines;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      Json parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
      EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
      lines.push_back(parsed);
    }
    return lines;
  }

  test::ScratchDir scratch_{"mcpbg-audit"};
  fs::path dir_;
};

TEST_F(AuditLogTest, WritesOneJsonObjectPerLineWithATimestamp) {
  fs::path path = dir_ / "audit.log";
  auto log = AuditLog::open({.path = path});
  ASSERT_TRUE(log) << log.error().message;
  (*log)->record(Json{{"event", "tool_call"}, {"tool", "execute"}, {"command", "make -j8"}});
  (*log)->record(Json{{"event", "job_end"}, {"status", "completed"}, {"exit_code", 0}});
  // Bytes that are not UTF-8 (a command can hold anything) are replaced, not an error.
  (*log)->record(Json{{"event", "tool_call"}, {"command", "echo \xff"}});
  (*log)->close();

  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["tool"], "execute");
  EXPECT_EQ(lines[0]["command"], "make -j8");
  EXPECT_EQ(lines[1]["exit_code"], 0);
  EXPECT_EQ(lines[2]["command"], "echo \xEF\xBF\xBD");
  std::regex iso(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  for (const auto& line : lines) {
    ASSERT_TRUE(line["time"].is_string());
    EXPECT_TRUE(std::regex_match(line["time"].get<std::string>(), iso)) << line["time"];
  }
  EXPECT_EQ((*log)->stats().written, 3u);
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(AuditLogTest, AppendsToAnExistingFile) {
  fs::path path = dir_ / "audit.log";
  std::ofstream(path) << "{\"earlier\":true}\n";
  {
    auto log = AuditLog::open({.path = path});
    ASSERT_TRUE(log);
    (*log)->record(Json{{"event", "x"}});
  }  // The destructor flushes.
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["earlier"], true);
  EXPECT_EQ(lines[1]["event"], "x");
}

TEST_F(AuditLogTest, RotatesToPathDotOneBeforeExceedingTheSize) {
  fs::path path = dir_ / "audit.log";
  fs::path previous = dir_ / "audit.log.1";
  std::string line =
      Json{{"time", "2026-01-01T00:00:00.000Z"}, {"n", 0}, {"pad", std::string(50, 'x')}}.dump() +
      "\n";
  // Room for two records per file.
  auto log = AuditLog::open({.path = path, .max_size = 2 * line.size() + 10});
  ASSERT_TRUE(log);
  for (int n = 0; n < 7; ++n) {
    (*log)->record(
        Json{{"time", "2026-01-01T00:00:00.000Z"}, {"n", n}, {"pad", std::string(50, 'x')}});
  }
  (*log)->close();
  // 0 1 | 2 3 | 4 5 | 6: the file holds the newest, PATH.1 the two before; older ones are gone.
  auto current = read_lines(path);
  auto rotated = read_lines(previous);
  ASSERT_EQ(current.size(), 1u);
  EXPECT_EQ(current[0]["n"], 6);
  ASSERT_EQ(rotated.size(), 2u);
  EXPECT_EQ(rotated[0]["n"], 4);
  EXPECT_EQ(rotated[1]["n"], 5);
  EXPECT_LE(fs::file_size(previous), 2 * line.size() + 10);
  EXPECT_EQ((*log)->stats().rotations, 3u);
  EXPECT_EQ((*log)->stats().written, 7u);
}

TEST_F(AuditLogTest, CountsWhatItDropsAndSaysSoInTheFile) {
  // A FIFO whose reader does not read yet: the writer blocks once the pipe is full, the queue
  // fills behind it, and further records are dropped.
  fs::path path = dir_ / "audit.fifo";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  int reader = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  // (max_size is ignored: a FIFO is never rotated.)
  auto log = AuditLog::open({.path = path, .max_size = 100, .queue_capacity = 4});
  ASSERT_TRUE(log) << log.error().message;
  constexpr int kRecords = 100;
  std::string pad(16 * 1024, 'p');  // Four records fill a 64 KiB pipe.
  for (int n = 0; n < kRecords; ++n) (*log)->record(Json{{"n", n}, {"pad", pad}});
  EXPECT_GT((*log)->stats().dropped, 0u);

  // Now read everything, until EOF once close() has written the rest and closed the file.
  ::fcntl(reader, F_SETFL, 0);
  std::string bytes;
  std::thread drain([&] {
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(reader, buffer, sizeof buffer)) > 0) {
      bytes.append(buffer, static_cast<size_t>(n));
    }
  });
  (*log)->close();
  drain.join();
  ::close(reader);

  // Every gap in the records is announced, where it happened, by a notice counting exactly it.
  int expected = 0;
  uint64_t reported = 0;
  size_t start = 0;
  for (size_t end; (end = bytes.find('\n', start)) != std::string::npos; start = end + 1) {
    Json line = Json::parse(bytes.substr(start, end - start));
    if (line.value("event", "") == "audit_records_lost") {
      EXPECT_NE(line["reason"].get<std::string>().find("queue was full"), std::string::npos);
      expected += line["count"].get<int>();
      reported += line["count"].get<uint64_t>();
      continue;
    }
    EXPECT_EQ(line["n"].get<int>(), expected);
    expected = line["n"].get<int>() + 1;
  }
  EXPECT_EQ(expected, kRecords);
  EXPECT_EQ(reported, (*log)->stats().dropped);
  EXPECT_EQ((*log)->stats().failed, 0u);
}

TEST_F(AuditLogTest, AnUnwritablePathIsAClearError) {
  auto missing = AuditLog::open({.path = dir_ / "no-such-dir" / "audit.log"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("audit_log: cannot open"), std::string::npos);
  EXPECT_NE(missing.error().message.find("No such file or directory"), std::string::npos)
      << missing.error().message;

  auto directory = AuditLog::open({.path = dir_});
  ASSERT_FALSE(directory);
  EXPECT_NE(directory.error().message.find("Is a directory"), std::string::npos)
      << directory.error().message;
}

TEST_F(AuditLogTest, CountsRecordsLostToWriteErrors) {
  // /dev/full accepts the open and fails every write with ENOSPC, like a full disk.
  auto log = AuditLog::open({.path = "/dev/full"});
  ASSERT_TRUE(log) << log.error().message;
  for (int n = 0; n < 3; ++n) (*log)->record(Json{{"n", n}});
  (*log)->close();
  EXPECT_EQ((*log)->stats().failed, 3u);
  EXPECT_EQ((*log)->stats().written, 0u);
}

TEST_F(AuditLogTest, AFifoWithoutAReaderIsAnErrorNotAHang) {
  fs::path path = dir_ / "audit.fifo";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  auto log = AuditLog::open({.path = path});
  ASSERT_FALSE(log);
  EXPECT_NE(log.error().message.find("No such device or address"), std::string::npos)
      << log.error().message;
}

TEST_F(AuditLogTest, RecordsAfterCloseAreCountedAsDropped) {
  auto log = AuditLog::open({.path = dir_ / "audit.log"});
  ASSERT_TRUE(log);
  (*log)->close();
  (*log)->record(Json{{"late", true}});
  EXPECT_EQ((*log)->stats().dropped, 1u);
  EXPECT_TRUE(read_lines(dir_ / "audit.log").empty());
}

}  // namespace
}  // namespace policy
