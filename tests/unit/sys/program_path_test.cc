#include "sys/program_path.h"

#include <gtest/gtest.h>

namespace sys {
namespace {

TEST(ResolveProgram, LooksUpProgramsOnTheJobsPath) {
  auto found = resolve_program("sh", "/nonexistent:/bin");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, "/bin/sh");
  EXPECT_EQ(*resolve_program("./local", "/bin"), "./local");
  EXPECT_FALSE(resolve_program("sh", "/nonexistent").has_value());
}

TEST(ResolveProgram, RelativeNamesAndPathEntriesResolveFromTheGivenDirectory) {
  EXPECT_EQ(*resolve_program("./local", "/bin", "/some/dir"), "/some/dir/./local");
  EXPECT_EQ(*resolve_program("/bin/sh", "", "/some/dir"), "/bin/sh");
  // "." and the empty entry are the given directory, not the caller's current one.
  auto found = resolve_program("sh", "/nonexistent::", "/bin");
  ASSERT_TRUE(found.has_value()) << found.error().message;
  EXPECT_EQ(*found, "/bin/./sh");
  EXPECT_FALSE(resolve_program("sh", ".", "/nonexistent").has_value());
}

}  // namespace
}  // namespace sys
