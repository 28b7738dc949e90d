// The resource functions on their own: URIs, display names, and the output resource's text.
#include "mcp/resources.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

namespace mcp::resources {
namespace {

constexpr std::string_view kId = "3f0c9a52-6a1e-4b9e-9d55-2f1d8f3c7e10";

TEST(Resources, ParsesOnlyTheTwoJobUriShapes) {
  auto status = parse_job_uri(fmt::format("job://{}", kId));
  ASSERT_TRUE(status);
  EXPECT_EQ(status->job_id, kId);
  EXPECT_EQ(status->kind, Kind::kStatus);
  auto output = parse_job_uri(fmt::format("job://{}/output", kId));
  ASSERT_TRUE(output);
  EXPECT_EQ(output->kind, Kind::kOutput);
  EXPECT_EQ(job_uri(kId, Kind::kOutput), fmt::format("job://{}/output", kId));

  for (std::string bad :
       {std::string("job://"), std::string("job://nope"), fmt::format("job://{}/", kId),
        fmt::format("job://{}/outputs", kId), fmt::format("job://{}/output/x", kId),
        fmt::format("jobs://{}", kId), fmt::format("file:///{}", kId), std::string(kId)}) {
    EXPECT_FALSE(parse_job_uri(bad)) << bad;
  }
}

TEST(Resources, OneLineCutsLongTextOnACharacterBoundary) {
  EXPECT_EQ(one_line("make\ttest\nall", 80), "make test all");
  EXPECT_EQ(one_line(std::string(100, 'x'), 10), "xxxxxxx...");
  // "é" is two bytes: a cut after 7 bytes would split the fourth one.
  EXPECT_EQ(one_line("éééééééé", 10), "ééé...");
}

TEST(Resources, OutputTextIsEverythingWhenNothingWasDropped) {
  jobs::OutputLog log(1024);
  log.append(jobs::Stream::kStdout, "out\n");
  log.append(jobs::Stream::kStderr, "err\n");
  EXPECT_EQ(output_text(log, 1 << 20), "out\nerr\n");
  EXPECT_EQ(output_text(jobs::OutputLog(1024), 1 << 20), "");
}

TEST(Resources, OutputTextMarksTheDroppedMiddle) {
  jobs::OutputLog log(1024);  // head 256 bytes, tail 768
  log.append(jobs::Stream::kStdout, std::string(256, 'a'));
  log.append(jobs::Stream::kStdout, std::string(1000, 'b'));
  ASSERT_EQ(log.dropped_bytes(), 232u);
  EXPECT_EQ(output_text(log, 1 << 20),
            std::string(256, 'a') + "\n[... 232 bytes dropped ...]\n" + std::string(768, 'b'));
}

TEST(Resources, OutputTextKeepsTheLastMaxBytesAndSaysSo) {
  jobs::OutputLog log(1024);
  log.append(jobs::Stream::kStdout, std::string(256, 'a'));
  log.append(jobs::Stream::kStdout, std::string(1000, 'b'));
  // The window lies in the tail: 1256 bytes printed, the last 100 shown.
  std::string tail_only = output_text(log, 100);
  EXPECT_TRUE(tail_only.starts_with("[... 1156 earlier bytes not shown")) << tail_only;
  EXPECT_NE(tail_only.find("last 100 bytes"), std::string::npos);
  EXPECT_TRUE(tail_only.ends_with("\n" + std::string(100, 'b')));
  // The window starts in the head: its end, the dropped line, then the whole tail.
  EXPECT_EQ(output_text(log, 800),
            "[... 224 earlier bytes not shown: this resource returns at most the last 800 bytes "
            "(max_read_bytes); read the rest with the output tool from offset 0 ...]\n" +
                std::string(32, 'a') + "\n[... 232 bytes dropped ...]\n" + std::string(768, 'b'));
}

TEST(Resources, OutputTextStartsOnAWholeCharacterAndRepairsInvalidUtf8) {
  jobs::OutputLog log(1024);
  std::string accents;
  for (int i = 0; i < 10; ++i) accents += "é";  // 20 bytes
  log.append(jobs::Stream::kStdout, accents);
  // The last 5 bytes begin inside a character: the text starts at the next one.
  std::string text = output_text(log, 5);
  EXPECT_TRUE(text.starts_with("[... 16 earlier bytes not shown")) << text;
  EXPECT_TRUE(text.ends_with("]\néé")) << text;

  jobs::OutputLog invalid(1024);
  invalid.append(jobs::Stream::kStdout, "ok \xff\xfe end");
  EXPECT_EQ(output_text(invalid, 1 << 20), "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
}

}  // namespace
}  // namespace mcp::resources
