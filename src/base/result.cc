#include "base/result.h"

#include <fmt/format.h>

#include <cstring>

namespace base {

tl::unexpected<Error> fail_errno(std::string_view what, int sys_errno) {
  return tl::unexpected(Error{fmt::format("{}: {}", what, std::strerror(sys_errno)), sys_errno});
}

}  // namespace base
