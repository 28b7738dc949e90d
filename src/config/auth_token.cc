// The bearer token HTTP requests must carry: checked wherever it came from, and read from a
// private file (auth_token_file) or the environment (MCP_BG_AUTH_TOKEN, see config.cc).
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "base/unique_fd.h"
#include "config/setting.h"
#include "sys/small_file.h"

namespace config {
namespace {

constexpr size_t kMinTokenLength = 16;
constexpr size_t kMaxTokenLength = 4096;

}  // namespace

base::Result<std::string> check_token(std::string_view text) {
  std::string_view token = trim(text);
  if (token.empty()) return base::fail("the token is empty");
  if (!std::all_of(token.begin(), token.end(),
                   [](unsigned char c) { return c > 0x20 && c < 0x7f; })) {
    return base::fail(
        "the token holds a space, a control character or a non-ASCII byte; it "
        "must be one word of printable ASCII");
  }
  if (token.size() < kMinTokenLength) {
    return base::fail(fmt::format("the token is shorter than {} characters", kMinTokenLength));
  }
  if (token.size() > kMaxTokenLength) {
    return base::fail(fmt::format("the token is longer than {} characters", kMaxTokenLength));
  }
  return std::string(token);
}

namespace {

// The token file: a regular file only its owner may read or write (as ssh asks of a private
// key), holding the token and perhaps a trailing newline.
base::Result<std::string> read_token_file(const std::filesystem::path& path) {
  base::UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) return base::fail_errno(fmt::format("cannot open {}", quote(path.string())));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) {
    return base::fail_errno(fmt::format("cannot stat {}", quote(path.string())));
  }
  if (!S_ISREG(info.st_mode)) {
    return base::fail(fmt::format("{} is not a regular file", quote(path.string())));
  }
  if ((info.st_mode & 077) != 0) {
    return base::fail(
        fmt::format("{} may be read or written by others than its owner (mode "
                    "{:04o}); make it private: chmod 600 {}",
                    quote(path.string()), info.st_mode & 07777, path.string()));
  }
  if (info.st_size > static_cast<off_t>(kMaxTokenLength + 2)) {
    return base::fail(
        fmt::format("{} is larger than a token ({} bytes)", quote(path.string()), info.st_size));
  }
  // One byte beyond the size fstat saw: a file that grew since is read far enough to be refused.
  auto text =
      sys::read_to_end(fd.get(), quote(path.string()), static_cast<size_t>(info.st_size) + 1);
  if (!text) return tl::unexpected(text.error());
  auto token = check_token(*text);
  if (!token) {
    return base::fail(fmt::format("{}: {}", quote(path.string()), token.error().message));
  }
  return token;
}

}  // namespace

Setting token_file_setting(Names names, std::string help) {
  return Setting{
      std::move(names),
      "PATH",
      std::move(help),
      "none",
      fmt::format("a file only its owner may read (chmod 600) holding the token ({}; "
                  "surrounding blanks and newlines are dropped), or \"\" for none; a "
                  "relative path in the config file is relative to the file's "
                  "directory",
                  kTokenAllowed),
      TomlForm::kStringOnly,
      [](std::string_view text, const ValueContext& context, Config& config) -> base::Result<void> {
        if (trim(text).empty()) {
          config.auth_token_file.clear();
          config.auth_token.clear();
          return {};
        }
        auto absolute = absolute_path(text, context);
        if (!absolute) return tl::unexpected(absolute.error());
        auto token = read_token_file(*absolute);
        if (!token) return tl::unexpected(token.error());
        config.auth_token_file = std::move(*absolute);
        config.auth_token = std::move(*token);
        return {};
      }};
}

}  // namespace config
