#include "store/output_file.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "helpers/scratch_dir.h"

namespace store {
namespace {

// The byte the job printed at `offset`, in the pattern these tests write: it changes with the
// offset in a way a wrapped or stale ring slot cannot fake.
char byte_at(uint64_t offset) { return static_cast<char>((offset * 131 + offset / 251) & 0xff); }

std::string pattern(uint64_t from, uint64_t count) {
  std::string bytes(count, '\0');
  for (uint64_t i = 0; i < count; ++i) bytes[i] = byte_at(from + i);
  return bytes;
}

// Everything kept, read the way a server syncs: from 0, continuing where each read says.
struct Kept {
  std::string head;
  std::string tail;
  uint64_t tail_offset = 0;
};
Kept read_all(const OutputFile& file) {
  Kept kept;
  uint64_t at = 0;
  for (;;) {
    auto read = file.read(at, 1000);
    EXPECT_TRUE(read);
    if (!read || read->bytes.empty()) break;
    if (read->offset < file.head_capacity()) {
      kept.head += read->bytes;
    } else {
      if (kept.tail.empty()) kept.tail_offset = read->offset;
      kept.tail += read->bytes;
    }
    at = read->offset + read->bytes.size();
  }
  return kept;
}

TEST(OutputFileTest, KeepsTheHeadAndTheRecentTailWithAbsoluteOffsets) {
  test::ScratchDir dir("mcpbg-out");
  auto file = OutputFile::create(dir / "output", 64);  // head 16, ring 48
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->head_capacity(), 16u);
  uint64_t written = 0;
  for (uint64_t size : {5u, 7u, 30u, 1u, 50u, 13u}) {
    ASSERT_TRUE(file->append(pattern(written, size)));
    written += size;
  }
  EXPECT_EQ(file->total_bytes(), written);  // 106
  EXPECT_EQ(file->tail_start(), written - 48);
  Kept kept = read_all(*file);
  EXPECT_EQ(kept.head, pattern(0, 16));
  EXPECT_EQ(kept.tail_offset, written - 48);
  EXPECT_EQ(kept.tail, pattern(written - 48, 48));
}

TEST(OutputFileTest, BeforeAnythingIsDroppedTheTailFollowsTheHead) {
  test::ScratchDir dir("mcpbg-out");
  auto file = OutputFile::create(dir / "output", 64);
  ASSERT_TRUE(file);
  ASSERT_TRUE(file->append(pattern(0, 40)));
  auto first = file->read(0, 100);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->offset, 0u);
  EXPECT_EQ(first->bytes, pattern(0, 16));  // a read stops at the end of the head
  auto second = file->read(16, 100);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->offset, 16u);
  EXPECT_EQ(second->bytes, pattern(16, 24));
  auto end = file->read(40, 100);
  ASSERT_TRUE(end);
  EXPECT_TRUE(end->bytes.empty());
  EXPECT_EQ(end->offset, 40u);
}

TEST(OutputFileTest, AReadFromTheDroppedMiddleStartsAtTheTail) {
  test::ScratchDir dir("mcpbg-out");
  auto file = OutputFile::create(dir / "output", 64);
  ASSERT_TRUE(file);
  ASSERT_TRUE(file->append(pattern(0, 1000)));  // one append larger than the ring
  auto read = file->read(20, 10);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->offset, 1000u - 48);
  EXPECT_EQ(read->bytes, pattern(1000 - 48, 10));
}

TEST(OutputFileTest, AnotherProcessOpensItAndSeesTheClosedMark) {
  test::ScratchDir dir("mcpbg-out");
  auto writer = OutputFile::create(dir / "output", 1 << 20);
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->append("hello\n"));
  auto reader = OutputFile::open(dir / "output", OutputFile::Access::kRead);
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_EQ(reader->total_bytes(), 6u);
  EXPECT_FALSE(reader->closed());
  writer->mark_closed();
  EXPECT_TRUE(reader->closed());
  struct stat st {};
  ASSERT_EQ(::stat((dir / "output").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Created once: a second create of the same file fails rather than truncating it.
  EXPECT_FALSE(OutputFile::create(dir / "output", 1 << 20));
}

TEST(OutputFileTest, RefusesAFileThatIsNotAnOutputLog) {
  test::ScratchDir dir("mcpbg-out");
  {
    std::ofstream junk(dir / "junk");
    junk << std::string(8192, 'j');
  }
  auto opened = OutputFile::open(dir / "junk", OutputFile::Access::kRead);
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("junk"), std::string::npos);
}

// A reader in another process, reading while the writer laps the ring many times, never gets a
// byte that is not the one printed at the offset it is returned for.
TEST(OutputFileTest, AConcurrentReaderNeverSeesAStaleOrTornByte) {
  test::ScratchDir dir("mcpbg-out");
  auto file = OutputFile::create(dir / "output", 4096);  // head 1 KiB, ring 3 KiB
  ASSERT_TRUE(file);
  pid_t reader = ::fork();
  ASSERT_GE(reader, 0);
  if (reader == 0) {
    auto mine = OutputFile::open(dir / "output", OutputFile::Access::kRead);
    if (!mine) _exit(3);
    for (bool last_pass = false; !last_pass;) {
      last_pass = mine->closed();  // once closed, one more read covers the end
      uint64_t total = mine->total_bytes();
      uint64_t from = total > 2000 ? total - 2000 : 0;
      auto read = mine->read(from, 1500);
      if (!read) _exit(4);
      for (size_t i = 0; i < read->bytes.size(); ++i) {
        if (read->bytes[i] != byte_at(read->offset + i)) _exit(5);
      }
    }
    _exit(0);
  }
  uint64_t written = 0;
  for (int i = 0; i < 20000; ++i) {
    uint64_t size = 1 + static_cast<uint64_t>(i * 37) % 700;
    ASSERT_TRUE(file->append(pattern(written, size)));
    written += size;
  }
  file->mark_closed();
  int status = 0;
  ASSERT_EQ(::waitpid(reader, &status, 0), reader);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "5: a byte did not match its offset";
}

}  // namespace
}  // namespace store
