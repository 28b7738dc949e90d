#include "base/paths.h"

#include <gtest/gtest.h>

namespace {

TEST(PathInside, ComparesWholeComponents) {
  EXPECT_TRUE(base::path_inside("/work/a", "/work/a"));
  EXPECT_TRUE(base::path_inside("/work/a/b", "/work/a"));
  EXPECT_FALSE(base::path_inside("/work/ab", "/work/a"));
  EXPECT_FALSE(base::path_inside("/work", "/work/a"));
  EXPECT_TRUE(base::path_inside("/anything", "/"));
  EXPECT_TRUE(base::path_inside("/", "/"));
  EXPECT_TRUE(base::path_inside("/work/a/b", "/work/a/"));
}

}  // namespace
