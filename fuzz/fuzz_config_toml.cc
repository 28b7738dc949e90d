// libFuzzer target: arbitrary bytes as the TOML config file, through config::load_config (the
// TOML parser, every setting's validation and message). The file is written once per input into
// a private temp dir; the environment is empty, so only the file and the defaults count.
// Invariant: load_config returns a Config, or exit code 2 with a message, and never throws.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.h"

namespace {

namespace fs = std::filesystem;

fs::path g_dir;
std::string g_file;

void remove_dir() {
  std::error_code ec;
  fs::remove_all(g_dir, ec);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  char tmpl[] = "/tmp/fuzz_config_toml.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  g_dir = tmpl;
  g_file = (g_dir / "config.toml").string();
  std::atexit(remove_dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream out(g_file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  // Relative paths in the file (working_dir, allowed_roots) resolve against the temp dir.
  config::Environment env{{"HOME", g_dir.string()}, {"PWD", g_dir.string()}};
  config::LoadOutcome outcome = config::load_config({"--config", g_file}, env);
  if (outcome.config.has_value() == (outcome.exit_code != 0) ||
      (outcome.exit_code != 0 && outcome.message.empty())) {
    std::fprintf(stderr, "INVARIANT BROKEN: exit_code %d, config %s, message '%s'\n",
                 outcome.exit_code, outcome.config ? "set" : "unset", outcome.message.c_str());
    std::abort();
  }
  return 0;
}
