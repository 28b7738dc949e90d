// The digest of a stretch of output: whole when it fits; else the first and last lines, a line
// saying what was left out, and the left-out lines matching the error pattern.
#include "mcp/tools/digest.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace mcp::tools {
namespace {

using jobs::Stream;

// `count` lines "line N\n", with `insert` after line `at` (if any).
void print_lines(jobs::OutputLog& log, int count, int at = 0, std::string_view insert = "") {
  std::string text;
  for (int i = 1; i <= count; ++i) {
    text += fmt::format("line {}\n", i);
    if (i == at) text += insert;
  }
  log.append(Stream::kStdout, text);
}

TEST(Digest, AStretchThatFitsIsShownWhole) {
  jobs::OutputLog log(1 << 20);
  print_lines(log, 3);
  Digest digest = output_digest(nullptr, log, 0, 2048, &default_error_pattern());
  EXPECT_EQ(digest.text, "line 1\nline 2\nline 3\n");
  EXPECT_FALSE(digest.truncated);
  EXPECT_EQ(digest.next_offset, log.total_bytes());
  // From an offset: only what follows it.
  EXPECT_EQ(output_digest(nullptr, log, 7, 2048, nullptr).text, "line 2\nline 3\n");
}

TEST(Digest, ALongStretchShowsItsEndsTheErrorLineAndHowToReadTheRest) {
  jobs::OutputLog log(1 << 20);
  print_lines(log, 10'000, 5'000, "AssertionError: 3 != 4\n");
  Digest digest = output_digest(nullptr, log, 0, 2048, &default_error_pattern());
  EXPECT_TRUE(digest.truncated);
  EXPECT_LE(digest.text.size(), 2048u + 400u);
  EXPECT_TRUE(digest.text.starts_with("line 1\nline 2\n"));
  EXPECT_TRUE(digest.text.ends_with("line 9999\nline 10000\n"));
  // The error line with a line of context on each side.
  EXPECT_NE(digest.text.find("line 5000\nAssertionError: 3 != 4\nline 5001\n"), std::string::npos)
      << digest.text;
  EXPECT_NE(digest.text.find("1 of them match the error pattern"), std::string::npos);
  EXPECT_NE(digest.text.find("output {\"offset\": "), std::string::npos);
  // The count of lines left out is exact.
  uint64_t lines = 0, bytes = 0, from = 0, to = 0;
  const size_t marker = digest.text.find("[... ");
  ASSERT_NE(marker, std::string::npos);
  ASSERT_EQ(std::sscanf(digest.text.c_str() + marker,
                        "[... %lu lines, %lu bytes not shown (offsets %lu to %lu)", &lines, &bytes,
                        &from, &to),
            4);
  std::string all;
  for (const auto& piece : log.pieces(from, to, jobs::StreamFilter::kBoth)) all += piece.bytes;
  EXPECT_EQ(bytes, to - from);
  EXPECT_EQ(lines, static_cast<uint64_t>(std::count(all.begin(), all.end(), '\n')));
  // No error pattern: no error lines, and more of the end instead.
  Digest plain = output_digest(nullptr, log, 0, 2048, nullptr);
  EXPECT_EQ(plain.text.find("AssertionError"), std::string::npos);
}

TEST(Digest, TheErrorPatternIsLookedForNearTheEndOnlyAndTheDigestSaysWhere) {
  jobs::OutputLog log(64 << 20);
  // About 1.2 MB of lines; the error is near the start, far before the last 256 KiB.
  print_lines(log, 100'000, 1'000, "AssertionError: early\n");
  Digest digest = output_digest(nullptr, log, 0, 2048, &default_error_pattern());
  EXPECT_EQ(digest.text.find("AssertionError"), std::string::npos);
  EXPECT_NE(digest.text.find("none matches the error pattern (it was looked for from offset "),
            std::string::npos)
      << digest.text;
}

TEST(Digest, TheCacheAnswersTheSameQuestionOnceAndSeesNewOutput) {
  jobs::OutputLog log(1 << 20);
  print_lines(log, 10'000);
  DigestCache cache;
  const std::string id = "3f0c9a52-6a1e-4b9e-9d55-2f1d8f3c7e10";
  Digest first = cache.digest(id, nullptr, log, 0, 2048, &default_error_pattern());
  EXPECT_EQ(cache.digest(id, nullptr, log, 0, 2048, &default_error_pattern()).text, first.text);
  // More output, another budget or another pattern: another digest.
  log.append(Stream::kStdout, "FAILED: the end\n");
  Digest after = cache.digest(id, nullptr, log, 0, 2048, &default_error_pattern());
  EXPECT_TRUE(after.text.ends_with("FAILED: the end\n")) << after.text;
  EXPECT_NE(cache.digest(id, nullptr, log, 0, 1024, nullptr).text, after.text);
}

}  // namespace
}  // namespace mcp::tools
