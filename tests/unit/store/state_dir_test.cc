#include "store/state_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "helpers/scratch_dir.h"

namespace store {
namespace {

TEST(StateDirTest, DefaultFollowsXdgThenHome) {
  EXPECT_EQ(default_state_dir({{"XDG_STATE_HOME", "/x/state"}, {"HOME", "/home/u"}}),
            "/x/state/mcp-background-job");
  EXPECT_EQ(default_state_dir({{"HOME", "/home/u"}}), "/home/u/.local/state/mcp-background-job");
  // A relative value is ignored, as the XDG specification says.
  EXPECT_EQ(default_state_dir({{"XDG_STATE_HOME", "rel"}, {"HOME", "/h"}}),
            "/h/.local/state/mcp-background-job");
  EXPECT_EQ(default_state_dir({}), "");
}

TEST(StateDirTest, CreatesItPrivate) {
  test::ScratchDir scratch("mcpbg-state");
  auto dir = scratch / "a" / "b" / "state";
  ASSERT_TRUE(prepare_state_dir(dir));
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(prepare_state_dir(dir));  // again: fine
}

TEST(StateDirTest, RefusesADirectoryOthersCanRead) {
  test::ScratchDir scratch("mcpbg-state");
  auto dir = scratch / "open";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  auto prepared = prepare_state_dir(dir);
  ASSERT_FALSE(prepared);
  EXPECT_NE(prepared.error().message.find("chmod 700"), std::string::npos)
      << prepared.error().message;
}

TEST(StateDirTest, RefusesAFileOrASymlink) {
  test::ScratchDir scratch("mcpbg-state");
  auto target = scratch / "real";
  ASSERT_EQ(::mkdir(target.c_str(), 0700), 0);
  auto link = scratch / "link";
  std::filesystem::create_symlink(target, link);
  EXPECT_FALSE(prepare_state_dir(link));
}

}  // namespace
}  // namespace store
