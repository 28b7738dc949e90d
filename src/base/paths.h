#pragma once
/// Path questions answered by components, never by string prefix.

#include <filesystem>

namespace base {

/// True when `path` is `root` or lies below it, component by component (/work/ab is not inside
/// /work/a). Both must be absolute and normal (real paths are).
bool path_inside(const std::filesystem::path& path, const std::filesystem::path& root);

}  // namespace base
