#include "jobs/output_log.h"

#include <gtest/gtest.h>

#include <string>

namespace jobs {
namespace {

std::string read_all(const OutputLog& log, StreamFilter filter = StreamFilter::kBoth) {
  std::string out;
  uint64_t offset = 0;
  for (;;) {
    auto slice = log.read(offset, 7, filter);  // small pages exercise the paging
    out += slice.bytes;
    if (!slice.truncated) return out;
    EXPECT_GT(slice.next_offset, offset);
    offset = slice.next_offset;
  }
}

TEST(OutputLog, KeepsEverythingUnderTheBound) {
  OutputLog log(1024);
  log.append(Stream::kStdout, "hello ");
  log.append(Stream::kStderr, "world\n");
  EXPECT_EQ(log.total_bytes(), 12u);
  EXPECT_EQ(log.dropped_bytes(), 0u);
  EXPECT_EQ(read_all(log), "hello world\n");
  auto slice = log.read(0, 1000, StreamFilter::kBoth);
  EXPECT_EQ(slice.offset, 0u);
  EXPECT_EQ(slice.next_offset, 12u);
  EXPECT_FALSE(slice.truncated);
}

TEST(OutputLog, FiltersByStreamKeepingMergedOffsets) {
  OutputLog log(1024);
  log.append(Stream::kStdout, "out1\n");
  log.append(Stream::kStderr, "err1\n");
  log.append(Stream::kStdout, "out2\n");
  EXPECT_EQ(read_all(log, StreamFilter::kStdout), "out1\nout2\n");
  EXPECT_EQ(read_all(log, StreamFilter::kStderr), "err1\n");
  auto err = log.read(0, 100, StreamFilter::kStderr);
  EXPECT_EQ(err.bytes, "err1\n");
  EXPECT_EQ(err.next_offset, 15u);  // offsets are positions in the merged log
  auto from_middle = log.read(7, 100, StreamFilter::kStdout);
  EXPECT_EQ(from_middle.bytes, "out2\n");
  EXPECT_EQ(from_middle.offset, 7u);
}

TEST(OutputLog, DropsTheMiddleAndCountsIt) {
  OutputLog log(400);  // head 100, tail 300
  std::string all;
  for (int i = 0; i < 100; ++i) {
    std::string line = "line " + std::to_string(i) + "\n";
    log.append(Stream::kStdout, line);
    all += line;
  }
  EXPECT_EQ(log.total_bytes(), all.size());
  EXPECT_EQ(log.kept_bytes(), 400u);
  EXPECT_EQ(log.dropped_bytes(), all.size() - 400);
  // The head is the start, the tail is the end, and a read never spans the gap.
  auto head = log.read(0, 1000, StreamFilter::kBoth);
  EXPECT_EQ(head.bytes, all.substr(0, 100));
  EXPECT_EQ(head.next_offset, 100u);
  EXPECT_TRUE(head.truncated);
  auto tail = log.read(head.next_offset, 1000, StreamFilter::kBoth);
  EXPECT_EQ(tail.offset, log.tail_start());
  EXPECT_EQ(tail.bytes, all.substr(all.size() - 300));
  EXPECT_EQ(tail.next_offset, all.size());
  EXPECT_FALSE(tail.truncated);
}

TEST(OutputLog, ALongLineIsBoundedLikeAnyOther) {
  OutputLog log(1024);
  log.append(Stream::kStdout, std::string(5 << 20, 'x'));  // one 5 MB line
  EXPECT_EQ(log.total_bytes(), 5u << 20);
  EXPECT_EQ(log.kept_bytes(), 1024u);
  EXPECT_EQ(log.dropped_bytes(), (5u << 20) - 1024);
}

TEST(OutputLog, ManySmallAppendsAcrossBlocksReadBackExactly) {
  OutputLog log(1 << 20);  // 64 KiB blocks in the tail
  std::string all;
  for (int i = 0; i < 50000; ++i) {
    std::string chunk = std::to_string(i) + (i % 3 == 0 ? "\n" : " ");
    log.append(i % 5 == 0 ? Stream::kStderr : Stream::kStdout, chunk);
    all += chunk;
  }
  ASSERT_EQ(log.dropped_bytes(), 0u);
  auto slice = log.read(0, 10 << 20, StreamFilter::kBoth);
  EXPECT_EQ(slice.bytes, all);
}

TEST(OutputLog, ReadInsideTheDroppedPartResumesWhereOutputIsKept) {
  OutputLog log(4096);
  log.append(Stream::kStdout, std::string(100000, 'a'));
  auto slice = log.read(5000, 10, StreamFilter::kBoth);
  EXPECT_EQ(slice.offset, log.tail_start());
  EXPECT_EQ(slice.bytes.size(), 10u);
}

TEST(OutputLog, DoesNotSplitACharacterAtTheCut) {
  OutputLog log(1024);
  log.append(Stream::kStdout,
             "ab\xE2\x82\xAC"
             "cd");  // "ab€cd"
  auto first = log.read(0, 3, StreamFilter::kBoth);
  EXPECT_EQ(first.bytes, "ab");
  EXPECT_EQ(first.next_offset, 2u);
  auto second = log.read(first.next_offset, 3, StreamFilter::kBoth);
  EXPECT_EQ(second.bytes, "\xE2\x82\xAC");
}

TEST(OutputLog, TailReturnsTheLastLines) {
  OutputLog log(1024);
  log.append(Stream::kStdout, "one\ntwo\nthree\nfour\n");
  auto two = log.tail(2, 1000, StreamFilter::kBoth);
  EXPECT_EQ(two.bytes, "three\nfour\n");
  EXPECT_EQ(two.lines, 2u);
  EXPECT_EQ(two.next_offset, log.total_bytes());
  EXPECT_FALSE(two.truncated);
  auto all = log.tail(50, 1000, StreamFilter::kBoth);
  EXPECT_EQ(all.bytes, "one\ntwo\nthree\nfour\n");
  EXPECT_EQ(all.lines, 4u);
}

TEST(OutputLog, TailCountsAFinalLineWithoutNewline) {
  OutputLog log(1024);
  log.append(Stream::kStdout, "one\ntwo\nprompt> ");
  auto last = log.tail(1, 1000, StreamFilter::kBoth);
  EXPECT_EQ(last.bytes, "prompt> ");
  EXPECT_EQ(last.lines, 1u);
}

TEST(OutputLog, TailByStream) {
  OutputLog log(1024);
  log.append(Stream::kStdout, "out1\n");
  log.append(Stream::kStderr, "err1\n");
  log.append(Stream::kStdout, "out2\n");
  log.append(Stream::kStderr, "err2\n");
  EXPECT_EQ(log.tail(1, 1000, StreamFilter::kStdout).bytes, "out2\n");
  EXPECT_EQ(log.tail(2, 1000, StreamFilter::kStderr).bytes, "err1\nerr2\n");
}

TEST(OutputLog, TailIsBoundedByMaxBytes) {
  OutputLog log(1 << 20);
  log.append(Stream::kStdout, std::string(5000, 'x') + "\n");
  auto slice = log.tail(1, 100, StreamFilter::kBoth);
  EXPECT_EQ(slice.bytes.size(), 100u);
  EXPECT_TRUE(slice.truncated);
}

TEST(OutputLog, TailSaysWhenOlderLinesWereDropped) {
  OutputLog log(400);
  for (int i = 0; i < 100; ++i) log.append(Stream::kStdout, "line " + std::to_string(i) + "\n");
  auto slice = log.tail(10000, 1 << 20, StreamFilter::kBoth);
  EXPECT_TRUE(slice.truncated);
  EXPECT_EQ(slice.bytes.substr(slice.bytes.size() - 8), "line 99\n");
}

TEST(OutputLog, MemoryFollowsWhatWasPrinted) {
  OutputLog log(1ull << 30);  // a 1 GiB bound costs nothing until output arrives
  log.append(Stream::kStdout, "x");
  EXPECT_EQ(log.kept_bytes(), 1u);
  EXPECT_EQ(log.read(0, 10, StreamFilter::kBoth).bytes, "x");
}

}  // namespace
}  // namespace jobs
