// How tools show output: secrets replaced with context around the part shown, offsets untouched.
#include "mcp/tools/redaction.h"

#include <gtest/gtest.h>

#include <string>

#include "mcp/resources.h"

namespace mcp::tools {
namespace {

constexpr std::string_view kToken = "ghp_0123456789abcdefghijABCDEFGHIJklmnopqr";
constexpr std::string_view kPemLine =
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n";

const policy::Redactor& redactor() {
  static const policy::Redactor instance = *policy::Redactor::create();
  return instance;
}

std::string key_block(int body_lines) {
  std::string block = "-----BEGIN PRIVATE KEY-----\n";
  for (int i = 0; i < body_lines; ++i) block += kPemLine;
  return block + "-----END PRIVATE KEY-----\n";
}

TEST(ShownOutput, WithoutARedactorItIsTheBytesAsValidUtf8) {
  jobs::OutputLog log(1 << 20);
  log.append(jobs::Stream::kStdout, "token " + std::string(kToken) + " \xff\n");
  EXPECT_EQ(shown_output(nullptr, log, jobs::StreamFilter::kBoth, 0, log.total_bytes()),
            "token " + std::string(kToken) + " \xEF\xBF\xBD\n");
}

TEST(ShownOutput, ASecretCutByThePageEdgesIsStillOneMarker) {
  jobs::OutputLog log(1 << 20);
  std::string text = "token " + std::string(kToken) + " end\n";
  log.append(jobs::Stream::kStdout, text);
  const auto both = jobs::StreamFilter::kBoth;
  // Pages of 10 bytes: none shows more of the token than a marker.
  std::string joined;
  for (uint64_t from = 0; from < text.size(); from += 10) {
    std::string page =
        shown_output(&redactor(), log, both, from, std::min<uint64_t>(from + 10, text.size()));
    EXPECT_EQ(page.find("abcdefghij"), std::string::npos) << page;
    joined += page;
  }
  EXPECT_EQ(joined, "token [REDACTED][REDACTED][REDACTED][REDACTED][REDACTED] end\n");
  EXPECT_EQ(shown_output(&redactor(), log, both, 0, 6), "token ");
  EXPECT_EQ(shown_output(&redactor(), log, both, 6, 6), "");
}

TEST(ShownOutput, AKeyBlockIsRecognisedFromAPageInsideIt) {
  jobs::OutputLog log(1 << 20);
  std::string before(20000, 'x');  // Output before the key, more than the context holds.
  before += "\n";
  std::string block = key_block(40);  // About 2.7 KiB, like a 2048-bit RSA key.
  log.append(jobs::Stream::kStdout, before + block + "after\n");
  uint64_t body = before.size() + 100;
  const auto both = jobs::StreamFilter::kBoth;
  EXPECT_EQ(shown_output(&redactor(), log, both, body, body + 200), "[REDACTED]");
  EXPECT_EQ(shown_output(&redactor(), log, both, body, log.total_bytes()), "[REDACTED]\nafter\n");
  EXPECT_EQ(shown_output(&redactor(), log, both, before.size() - 5, before.size() + 30),
            "xxxx\n[REDACTED]");
}

TEST(ShownOutput, OnlyTheFilteredStreamIsLookedAt) {
  jobs::OutputLog log(1 << 20);
  log.append(jobs::Stream::kStdout, "key ");
  log.append(jobs::Stream::kStderr, "warning: slow\n");
  log.append(jobs::Stream::kStdout, std::string(kToken) + "\n");
  EXPECT_EQ(shown_output(&redactor(), log, jobs::StreamFilter::kStdout, 0, log.total_bytes()),
            "key [REDACTED]\n");
  EXPECT_EQ(shown_output(&redactor(), log, jobs::StreamFilter::kStderr, 0, log.total_bytes()),
            "warning: slow\n");
}

TEST(ShownOutput, ContextNeverReachesAcrossTheDroppedMiddle) {
  jobs::OutputLog log(1024);  // head 256 bytes, tail 768
  // The head ends with the start of an assignment, and the tail begins with what would be its
  // value: joined, they would make a secret that was never printed, and hide the tail's start.
  log.append(jobs::Stream::kStdout, std::string(246, 'a') + "\npassword=");
  log.append(jobs::Stream::kStdout, std::string(2000, 'b'));
  log.append(jobs::Stream::kStdout, "\nvisible\n");
  ASSERT_GT(log.dropped_bytes(), 0u);
  ASSERT_EQ(log.head_size(), 256u);
  const auto both = jobs::StreamFilter::kBoth;
  EXPECT_EQ(shown_output(&redactor(), log, both, 240, log.head_size()), "aaaaaa\npassword=");
  EXPECT_EQ(shown_output(&redactor(), log, both, log.tail_start(), log.tail_start() + 10),
            "bbbbbbbbbb");
}

TEST(ShownOutput, AWindowOverTwoBlocksOfTheTailComesOutWhole) {
  jobs::OutputLog log(64 * 1024);  // a head of 16 KiB, then the tail in blocks of 6 KiB
  const std::string head(16 * 1024, 'h');
  // A euro sign split by the first block's end, a token by the second's.
  const std::string euro = "\xE2\x82\xAC";
  std::string tail = std::string(6 * 1024 - 1, 'a') + euro;
  tail += std::string(12 * 1024 - 10 - tail.size(), 'b') + " " + std::string(kToken) + " end\n";
  log.append(jobs::Stream::kStdout, head + tail);
  ASSERT_EQ(log.dropped_bytes(), 0u);
  const auto both = jobs::StreamFilter::kBoth;
  const uint64_t euro_at = head.size() + 6 * 1024 - 1;
  ASSERT_EQ(log.pieces(euro_at, euro_at + 3, both).size(), 2u);  // the case under test
  EXPECT_EQ(shown_output(nullptr, log, both, euro_at - 2, euro_at + 5), "aa" + euro + "bb");
  EXPECT_EQ(shown_output(&redactor(), log, both, euro_at - 2, euro_at + 5), "aa" + euro + "bb");
  const uint64_t token_at = head.size() + 12 * 1024 - 9;
  ASSERT_EQ(log.pieces(token_at, token_at + kToken.size(), both).size(), 2u);
  EXPECT_EQ(shown_output(&redactor(), log, both, token_at - 3, log.total_bytes()),
            "bb [REDACTED] end\n");
  EXPECT_EQ(shown_output(nullptr, log, both, token_at - 3, log.total_bytes()),
            "bb " + std::string(kToken) + " end\n");
}

TEST(RedactLines, LinesOfAKeyBlockAreEachAMarkerAndKeepTheirRawSize) {
  jobs::OutputLog log(1 << 20);
  std::string text = "start\n" + key_block(2) + "use " + std::string(kToken) + " now\nend";
  log.append(jobs::Stream::kStdout, text);
  auto lines = collect_lines(log, 0, log.total_bytes(), jobs::StreamFilter::kBoth);
  ASSERT_EQ(lines.size(), 7u);
  std::vector<size_t> raw;
  for (const auto& line : lines) raw.push_back(line.raw_size);
  redact_lines(&redactor(), log, jobs::StreamFilter::kBoth, lines);
  std::vector<std::string> shown;
  for (const auto& line : lines) shown.push_back(line.text);
  EXPECT_EQ(shown, (std::vector<std::string>{"start", "[REDACTED]", "[REDACTED]", "[REDACTED]",
                                             "[REDACTED]", "use [REDACTED] now", "end"}));
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i].raw_size, raw[i]);
  EXPECT_EQ(lines[5].offset, text.find("use "));

  // grep continues from raw offsets, not from the shorter redacted text.
  RE2 pattern("use");
  auto found = grep_forward(lines, pattern, 0, 1 << 20);
  EXPECT_EQ(found.text, "use [REDACTED] now\n");
  EXPECT_EQ(found.scanned_to, text.size());
}

TEST(LineMatcher, MatchesWhatTheClientSeesAndResumesAtRawOffsets) {
  jobs::OutputLog log(1 << 20);
  RE2 token_pattern("ghp_");
  RE2 use_pattern("^use");
  LineMatcher probe(token_pattern, 0, jobs::StreamFilter::kBoth, &redactor());
  LineMatcher matcher(use_pattern, 0, jobs::StreamFilter::kBoth, &redactor());
  std::string first = "x " + std::string(kToken) + "\n";
  log.append(jobs::Stream::kStdout, first);
  EXPECT_FALSE(probe.scan(log));  // The token is not there to match.
  EXPECT_FALSE(matcher.scan(log));
  log.append(jobs::Stream::kStdout, "use " + std::string(kToken) + "\n");
  auto match = matcher.scan(log);
  ASSERT_TRUE(match);
  EXPECT_EQ(match->text, "use [REDACTED]");
  EXPECT_EQ(match->offset, first.size());
  EXPECT_FALSE(probe.scan(log));
}

TEST(OutputResource, IsRedactedOnBothSidesOfTheDroppedMiddle) {
  jobs::OutputLog log(1024);
  log.append(jobs::Stream::kStdout, "head " + std::string(kToken) + "\n" + std::string(300, 'a'));
  log.append(jobs::Stream::kStdout,
             std::string(1000, 'b') + "\ntail " + std::string(kToken) + "\n");
  std::string text = resources::output_text(log, 1 << 20, &redactor());
  EXPECT_EQ(text.find(kToken), std::string::npos) << text;
  EXPECT_EQ(text.rfind("head [REDACTED]\n", 0), 0u) << text;
  EXPECT_NE(text.find("bytes dropped ...]\n"), std::string::npos);
  EXPECT_TRUE(text.ends_with("\ntail [REDACTED]\n")) << text;
}

}  // namespace
}  // namespace mcp::tools
