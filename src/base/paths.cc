#include "base/paths.h"

#include <iterator>

namespace base {

bool path_inside(const std::filesystem::path& path, const std::filesystem::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++p) {
    // A trailing separator shows up as an empty last component; it adds nothing.
    if (r->empty() && std::next(r) == root.end()) break;
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

}  // namespace base
