// docs/settings.md is made from the settings table that --help prints: it must be what the table
// makes now, so that the doc never drifts from the code. On failure, run `make settings-doc`.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "config/help.h"

namespace config {
namespace {

TEST(SettingsDoc, MatchesTheSettingsTable) {
  std::ifstream file(SETTINGS_DOC_PATH, std::ios::binary);
  ASSERT_TRUE(file) << "cannot open " << SETTINGS_DOC_PATH;
  std::ostringstream text;
  text << file.rdbuf();
  EXPECT_EQ(text.str(), settings_markdown())
      << SETTINGS_DOC_PATH << " differs from the settings table: run `make settings-doc`";
}

TEST(SettingsDoc, ListsEverySettingByEachName) {
  const std::string doc = settings_markdown();
  for (const char* name : {"`max_jobs`", "`--max-jobs`", "`MCP_BG_MAX_JOBS`", "`http`",
                           "`--http-max-streams-per-session`", "MCP_BG_AUTH_TOKEN"}) {
    EXPECT_NE(doc.find(name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace config
