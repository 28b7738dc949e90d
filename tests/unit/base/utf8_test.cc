#include "base/utf8.h"

#include <gtest/gtest.h>

#include <random>
#include <string_view>
#include <vector>

namespace base {
namespace {

TEST(Utf8, ValidTextIsUnchanged) {
  std::string text = "plain ascii, caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x98\x80";
  EXPECT_EQ(sanitize_utf8(text), text);
}

TEST(Utf8, InvalidBytesBecomeReplacementCharacters) {
  EXPECT_EQ(sanitize_utf8("ok \xFF\xFE end"), "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_EQ(sanitize_utf8("\xC3\x28"), "\xEF\xBF\xBD(");             // bad continuation
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(sanitize_utf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // truncated
}

// A text in parts comes out as the same text joined: characters split between parts (valid,
// truncated or invalid) included, empty parts and parts shorter than a character too.
TEST(Utf8, PartsComeOutAsTheJoinedText) {
  const std::vector<std::string> texts = {
      "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 end",
      "\xE2\x82 \xC3\x28 \xED\xA0\x80 \xFF\xF0\x9F\x98",
      "\xF0\x9F\x98\x80\xF0\x9F\x98\x80",
  };
  for (const std::string& text : texts) {
    const std::string joined = sanitize_utf8(text);
    for (size_t a = 0; a <= text.size(); ++a) {
      for (size_t b = a; b <= text.size(); ++b) {
        std::string_view whole = text;
        std::vector<std::string_view> parts = {whole.substr(0, a), whole.substr(a, b - a),
                                               whole.substr(b)};
        std::string out = "x";
        append_sanitized_utf8(out, parts);
        EXPECT_EQ(out, "x" + joined) << "split at " << a << " and " << b;
      }
    }
  }
  // Random bytes, heavy in lead and continuation bytes, split into one-byte to five-byte parts.
  std::mt19937 random(11);
  const std::string alphabet = "a\n\x80\x8F\x9F\xA0\xBF\xC2\xC3\xDF\xE0\xE2\xED\xEF\xF0\xF4\xFF";
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    for (int i = 0; i < 24; ++i) text.push_back(alphabet[random() % alphabet.size()]);
    std::vector<std::string_view> parts;
    for (size_t at = 0; at < text.size();) {
      size_t size = std::min<size_t>(1 + random() % 5, text.size() - at);
      parts.push_back(std::string_view(text).substr(at, size));
      at += size;
    }
    std::string out;
    append_sanitized_utf8(out, parts);
    EXPECT_EQ(out, sanitize_utf8(text)) << "round " << round;
  }
}

TEST(Utf8, IncompleteTailIsMeasured) {
  EXPECT_EQ(incomplete_utf8_tail("abc"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("ab\xE2"), 1u);
  EXPECT_EQ(incomplete_utf8_tail("ab\xE2\x82"), 2u);
  EXPECT_EQ(incomplete_utf8_tail("ab\xE2\x82\xAC"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("\xF0\x9F\x98"), 3u);
  EXPECT_EQ(incomplete_utf8_tail(""), 0u);
}

}  // namespace
}  // namespace base
