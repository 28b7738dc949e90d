#include "base/uuid.h"

#include <gtest/gtest.h>

#include <set>

namespace base {
namespace {

TEST(Uuid, IsVersion4AndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = new_uuid_v4();
    ASSERT_TRUE(looks_like_uuid(id)) << id;
    EXPECT_EQ(id[14], '4');
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Uuid, RecognisesOnlyTheCanonicalShape) {
  EXPECT_TRUE(looks_like_uuid("3F0C9A52-6A1E-4B9E-9D55-2F1D8F3C7E10"));
  EXPECT_FALSE(looks_like_uuid("3f0c9a52-6a1e-4b9e-9d55-2f1d8f3c7e1"));
  EXPECT_FALSE(looks_like_uuid("3f0c9a52x6a1e-4b9e-9d55-2f1d8f3c7e10"));
  EXPECT_FALSE(looks_like_uuid("12345"));
  EXPECT_FALSE(looks_like_uuid("3g0c9a52-6a1e-4b9e-9d55-2f1d8f3c7e10"));
}

}  // namespace
}  // namespace base
