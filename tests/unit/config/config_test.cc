#include "config/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "helpers/fd_leak_check.h"
#include "helpers/scratch_dir.h"

namespace config {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A fresh directory per test, removed with everything in it afterwards. The base
// environment points XDG_CONFIG_HOME and HOME into it, so that no real config file is read.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(scratch_.path().empty());
    dir_ = fs::canonical(scratch_.path());
    fs::create_directory(dir_ / "xdg");
    fs::create_directory(dir_ / "home");
    env_ = {{"XDG_CONFIG_HOME", (dir_ / "xdg").string()}, {"HOME", (dir_ / "home").string()}};
  }

  fs::path write(const fs::path& relative, const std::string& text) {
    fs::path path = dir_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path;
  }

  LoadOutcome load(const std::vector<std::string>& args) { return load_config(args, env_); }

  // Loads and expects success, reporting the message otherwise.
  Config load_ok(const std::vector<std::string>& args) {
    LoadOutcome outcome = load(args);
    EXPECT_EQ(outcome.exit_code, 0) << outcome.message;
    EXPECT_TRUE(outcome.config.has_value()) << outcome.message;
    return outcome.config.value_or(Config{});
  }

  // Loads and expects a usage error (exit 2, no config), returning its message.
  std::string load_error(const std::vector<std::string>& args) {
    LoadOutcome outcome = load(args);
    EXPECT_EQ(outcome.exit_code, 2);
    EXPECT_FALSE(outcome.config.has_value());
    EXPECT_FALSE(outcome.message.empty());
    return outcome.message;
  }

  test::ScratchDir scratch_{"config_test"};
  fs::path dir_;
  Environment env_;
};

TEST_F(ConfigTest, DefaultsWhenNothingIsSetAndTheDefaultFileIsMissing) {
  const size_t fds_before = test::open_fd_count();
  const Config config = load_ok({});
  const Config defaults;
  EXPECT_EQ(config.working_dir, fs::canonical(fs::current_path()));
  EXPECT_TRUE(config.working_dir.is_absolute());
  EXPECT_EQ(config.max_jobs, 10);
  EXPECT_EQ(config.max_output_size, 10ull << 20);
  EXPECT_EQ(config.max_finished, 100);
  EXPECT_EQ(config.retention, milliseconds(1h));
  EXPECT_EQ(config.cleanup_interval, milliseconds(1min));
  EXPECT_EQ(config.log_level, LogLevel::kInfo);
  EXPECT_EQ(config.max_message_size, 4ull << 20);
  EXPECT_EQ(config.max_read_bytes, 1ull << 20);
  EXPECT_EQ(config.stdin_buffer_size, 1ull << 20);
  EXPECT_EQ(config.max_interact_wait, milliseconds(30s));
  EXPECT_EQ(config.shutdown_grace, milliseconds(2s));
  EXPECT_TRUE(config.non_interactive_env);
  EXPECT_EQ(test::open_fd_count(), fds_before);
}

TEST_F(ConfigTest, NoHomeAndNoXdgMeansNoConfigFile) {
  env_.clear();
  EXPECT_EQ(load_ok({}).max_jobs, 10);
}

// Every setting at a non-default value; the same expectations serve all three sources.
void expect_all_set(const Config& config, const fs::path& working_dir) {
  EXPECT_EQ(config.working_dir, working_dir);
  EXPECT_EQ(config.max_jobs, 3);
  EXPECT_EQ(config.max_output_size, 2ull << 20);
  EXPECT_EQ(config.max_finished, 0);
  EXPECT_EQ(config.retention, milliseconds(90s));
  EXPECT_EQ(config.cleanup_interval, milliseconds(500ms));
  EXPECT_EQ(config.log_level, LogLevel::kWarn);
  EXPECT_EQ(config.max_message_size, 64ull << 10);
  EXPECT_EQ(config.max_read_bytes, 1536ull);
  EXPECT_EQ(config.stdin_buffer_size, 3ull << 20);
  EXPECT_EQ(config.max_interact_wait, milliseconds(2min));
  EXPECT_EQ(config.shutdown_grace, milliseconds(0));
  EXPECT_FALSE(config.non_interactive_env);
}

TEST_F(ConfigTest, EverySettingFromFlags) {
  fs::create_directory(dir_ / "work");
  // clang-format off
  const Config config = load_ok({
      "--working-dir", (dir_ / "work").string(),
      "--max-jobs", "3",
      "--max-output-size", "2MiB",
      "--max-finished", "0",
      "--retention", "1.5m",
      "--cleanup-interval=500ms",
      "--log-level", "WARNING",
      "--max-message-size", "64K",
      "--max-read-bytes", "1.5k",
      "--stdin-buffer-size", "3 MB",
      "--max-interact-wait", "120",
      "--shutdown-grace", "0",
      "--non-interactive-env", "no",
  });
  // clang-format on
  expect_all_set(config, dir_ / "work");
}

TEST_F(ConfigTest, EverySettingFromTheEnvironment) {
  fs::create_directory(dir_ / "work");
  env_["MCP_BG_WORKING_DIR"] = (dir_ / "work").string();
  env_["MCP_BG_MAX_JOBS"] = "3";
  env_["MCP_BG_MAX_OUTPUT_SIZE"] = "2MiB";
  env_["MCP_BG_MAX_FINISHED"] = "0";
  env_["MCP_BG_RETENTION"] = "1.5m";
  env_["MCP_BG_CLEANUP_INTERVAL"] = "500ms";
  env_["MCP_BG_LOG_LEVEL"] = "warn";
  env_["MCP_BG_MAX_MESSAGE_SIZE"] = "64K";
  env_["MCP_BG_MAX_READ_BYTES"] = "1536";
  env_["MCP_BG_STDIN_BUFFER_SIZE"] = "3m";
  env_["MCP_BG_MAX_INTERACT_WAIT"] = "2m";
  env_["MCP_BG_SHUTDOWN_GRACE"] = "0s";
  env_["MCP_BG_NON_INTERACTIVE_ENV"] = "0";
  expect_all_set(load_ok({}), dir_ / "work");
}

TEST_F(ConfigTest, EverySettingFromTheConfigFileWithNativeTomlTypes) {
  fs::create_directory(dir_ / "work");
  const fs::path file = write("conf/config.toml",
                              "# sizes as integers or strings, durations as numbers or strings\n"
                              "working_dir = \"" +
                                  (dir_ / "work").string() +
                                  "\"\n"
                                  "max_jobs = 3\n"
                                  "max_output_size = \"2MiB\"\n"
                                  "max_finished = 0\n"
                                  "retention = 90\n"
                                  "cleanup_interval = 0.5\n"
                                  "log_level = \"Warn\"\n"
                                  "max_message_size = 65536\n"
                                  "max_read_bytes = \"1.5KiB\"\n"
                                  "stdin_buffer_size = \"3MiB\"\n"
                                  "max_interact_wait = \"2m\"\n"
                                  "shutdown_grace = 0.0\n"
                                  "non_interactive_env = false\n");
  expect_all_set(load_ok({"--config", file.string()}), dir_ / "work");
}

TEST_F(ConfigTest, ConfigFileNamedByEnvironment) {
  const fs::path file = write("elsewhere.toml", "max_jobs = 7\n");
  env_["MCP_BG_CONFIG"] = file.string();
  EXPECT_EQ(load_ok({}).max_jobs, 7);
}

TEST_F(ConfigTest, ConfigFlagBeatsConfigEnvironmentVariable) {
  const fs::path from_flag = write("flag.toml", "max_jobs = 8\n");
  env_["MCP_BG_CONFIG"] = (dir_ / "does-not-exist.toml").string();
  EXPECT_EQ(load_ok({"--config", from_flag.string()}).max_jobs, 8);
}

TEST_F(ConfigTest, DefaultFileUnderXdgConfigHome) {
  write("xdg/mcp-background-job/config.toml", "max_jobs = 7\n");
  write("home/.config/mcp-background-job/config.toml", "max_jobs = 9\n");
  EXPECT_EQ(load_ok({}).max_jobs, 7);
}

TEST_F(ConfigTest, DefaultFileUnderHomeWhenXdgIsUnsetOrRelative) {
  write("home/.config/mcp-background-job/config.toml", "max_jobs = 9\n");
  env_.erase("XDG_CONFIG_HOME");
  EXPECT_EQ(load_ok({}).max_jobs, 9);
  env_["XDG_CONFIG_HOME"] = "relative/dir";  // The XDG spec says to ignore it.
  EXPECT_EQ(load_ok({}).max_jobs, 9);
}

TEST_F(ConfigTest, PrecedenceFlagBeatsEnvironmentBeatsFileBeatsDefault) {
  write("xdg/mcp-background-job/config.toml", "max_jobs = 3\n");
  env_["MCP_BG_MAX_JOBS"] = "4";
  EXPECT_EQ(load_ok({"--max-jobs", "5"}).max_jobs, 5);
  EXPECT_EQ(load_ok({}).max_jobs, 4);
  env_.erase("MCP_BG_MAX_JOBS");
  EXPECT_EQ(load_ok({}).max_jobs, 3);
  fs::remove(dir_ / "xdg/mcp-background-job/config.toml");
  EXPECT_EQ(load_ok({}).max_jobs, 10);
}

TEST_F(ConfigTest, SourcesCombineSettingBySetting) {
  write("xdg/mcp-background-job/config.toml", "max_jobs = 3\nmax_finished = 4\n");
  env_["MCP_BG_RETENTION"] = "5m";
  const Config config = load_ok({"--max-finished", "6"});
  EXPECT_EQ(config.max_jobs, 3);
  EXPECT_EQ(config.max_finished, 6);
  EXPECT_EQ(config.retention, milliseconds(5min));
  EXPECT_EQ(config.shutdown_grace, milliseconds(2s));
}

TEST_F(ConfigTest, EnvironmentErrorMatchesTheDocumentedFormat) {
  env_["MCP_BG_MAX_JOBS"] = "ten";
  EXPECT_EQ(load_error({}),
            "invalid MCP_BG_MAX_JOBS (environment): \"ten\" is not an integer; allowed: a whole "
            "number from 1 to 10000");
}

TEST_F(ConfigTest, FlagErrorNamesFlagSourceValueAndAllowed) {
  EXPECT_EQ(load_error({"--max-jobs", "ten"}),
            "invalid --max-jobs (command line): \"ten\" is not an integer; allowed: a whole "
            "number from 1 to 10000");
}

TEST_F(ConfigTest, ConfigFileErrorNamesKeyFileLineValueAndAllowed) {
  const fs::path file = write("c.toml", "# comment\nmax_jobs = \"ten\"\n");
  EXPECT_EQ(load_error({"--config", file.string()}),
            "invalid max_jobs (config file " + file.string() +
                ", line 2): \"ten\" is not an integer; allowed: a whole number from 1 to 10000");
}

TEST_F(ConfigTest, InvalidValueInAnOverriddenSourceIsStillAnError) {
  const fs::path file = write("c.toml", "max_jobs = 0\n");
  const std::string message = load_error({"--config", file.string(), "--max-jobs", "5"});
  EXPECT_TRUE(contains(message, "invalid max_jobs (config file " + file.string())) << message;
  EXPECT_TRUE(contains(message, "\"0\" is out of range")) << message;
}

TEST_F(ConfigTest, EmptyEnvironmentValueIsAnError) {
  env_["MCP_BG_LOG_LEVEL"] = "";
  const std::string message = load_error({});
  EXPECT_TRUE(contains(message, "invalid MCP_BG_LOG_LEVEL (environment): \"\"")) << message;
}

// One row per setting: a garbage value, the bounds, and one step beyond each bound.
struct Bounds {
  std::string env_var;
  std::string flag;
  std::string lowest;
  std::string below;  // Empty when the lowest allowed value is zero (negatives are tested apart).
  std::string highest;
  std::string above;
  std::string allowed_fragment;
};

const std::vector<Bounds>& bounds() {
  static const std::vector<Bounds> rows = {
      {"MCP_BG_MAX_JOBS", "--max-jobs", "1", "0", "10000", "10001", "from 1 to 10000"},
      {"MCP_BG_MAX_OUTPUT_SIZE", "--max-output-size", "1K", "1023", "64G", "68719476737",
       "from 1KiB to 64GiB"},
      {"MCP_BG_MAX_FINISHED", "--max-finished", "0", "-1", "100000", "100001", "from 0 to 100000"},
      {"MCP_BG_RETENTION", "--retention", "0", "", "30d", "2592000001ms", "from 0s to 30d"},
      {"MCP_BG_CLEANUP_INTERVAL", "--cleanup-interval", "100ms", "99ms", "1d", "86400001ms",
       "from 100ms to 1d"},
      {"MCP_BG_MAX_MESSAGE_SIZE", "--max-message-size", "1KiB", "1023B", "1GiB", "1073741825",
       "from 1KiB to 1GiB"},
      {"MCP_BG_MAX_READ_BYTES", "--max-read-bytes", "1kb", "1023", "64MiB", "67108865",
       "from 1KiB to 64MiB"},
      {"MCP_BG_STDIN_BUFFER_SIZE", "--stdin-buffer-size", "1024", "1023", "1G", "1.0000001G",
       "from 1KiB to 1GiB"},
      {"MCP_BG_MAX_INTERACT_WAIT", "--max-interact-wait", "0.1", "0.099", "10m", "600.001",
       "from 100ms to 10m"},
      {"MCP_BG_SHUTDOWN_GRACE", "--shutdown-grace", "0ms", "", "60", "60001ms", "from 0s to 1m"},
  };
  return rows;
}

TEST_F(ConfigTest, EveryBoundIsInclusiveAndOneStepBeyondIsAnError) {
  for (const Bounds& row : bounds()) {
    SCOPED_TRACE(row.env_var);
    const Environment base = env_;
    for (const std::string& ok : {row.lowest, row.highest}) {
      env_[row.env_var] = ok;
      LoadOutcome outcome = load({});
      EXPECT_EQ(outcome.exit_code, 0) << ok << ": " << outcome.message;
    }
    for (const std::string& bad : {row.below, row.above}) {
      if (bad.empty()) continue;
      env_[row.env_var] = bad;
      const std::string message = load_error({});
      EXPECT_EQ(message.rfind("invalid " + row.env_var + " (environment): \"" + bad + "\"", 0), 0u)
          << message;
      EXPECT_TRUE(contains(message, row.allowed_fragment)) << message;
      env_ = base;
      const std::string flag_message = load_error({row.flag, bad});
      EXPECT_EQ(flag_message.rfind("invalid " + row.flag + " (command line): \"" + bad + "\"", 0),
                0u)
          << flag_message;
    }
    env_ = base;
  }
}

TEST_F(ConfigTest, EveryNumericSettingRejectsGarbageAndNegativesFromEverySource) {
  for (const Bounds& row : bounds()) {
    SCOPED_TRACE(row.env_var);
    const Environment base = env_;
    for (const std::string& bad : {std::string("bogus!"), std::string("-5")}) {
      env_[row.env_var] = bad;
      const std::string message = load_error({});
      EXPECT_TRUE(contains(message, row.env_var)) << message;
      EXPECT_TRUE(contains(message, "(environment)")) << message;
      EXPECT_TRUE(contains(message, "\"" + bad + "\"")) << message;
      EXPECT_TRUE(contains(message, "; allowed: ")) << message;
      env_ = base;
    }
  }
}

TEST_F(ConfigTest, SameParserSameReasonInEverySource) {
  // The reason after the source is identical whether the value came from a flag, env or file.
  const std::string reason = ": \"12 parsecs\" has an unknown unit \"parsecs\"; allowed: ";
  env_["MCP_BG_RETENTION"] = "12 parsecs";
  EXPECT_TRUE(contains(load_error({}), reason));
  env_.erase("MCP_BG_RETENTION");
  EXPECT_TRUE(contains(load_error({"--retention", "12 parsecs"}), reason));
  const fs::path file = write("c.toml", "retention = \"12 parsecs\"\n");
  EXPECT_TRUE(contains(load_error({"--config", file.string()}), reason));
}

TEST_F(ConfigTest, TomlValuesOfTheWrongTypeAreErrors) {
  struct Case {
    std::string toml;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"max_jobs = true", "true is a boolean, not an integer or a string"},
      {"max_jobs = 2.5", "2.5 is a float, not an integer or a string"},
      {"max_output_size = 1.5", "1.5 is a float, not an integer (bytes) or a string"},
      {"log_level = 3", "3 is an integer, not a string"},
      {"working_dir = [\"/tmp\"]", "got an array, expected a string"},
      {"retention = { s = 1 }", "got a table, expected a number (seconds) or a string"},
      {"retention = -1", "\"-1\" is negative"},
      {"max_read_bytes = -2048", "\"-2048\" is negative"},
  };
  for (const Case& c : cases) {
    const fs::path file = write("c.toml", c.toml + "\n");
    const std::string message = load_error({"--config", file.string()});
    EXPECT_TRUE(contains(message, c.expected)) << c.toml << " -> " << message;
    EXPECT_TRUE(contains(message, "config file " + file.string() + ", line 1")) << message;
  }
}

TEST_F(ConfigTest, TomlStringsAndNumbersReadTheSameAsFlags) {
  const fs::path file =
      write("c.toml", "max_jobs = \"12\"\nretention = 0.25\nshutdown_grace = 3\n");
  const Config config = load_ok({"--config", file.string()});
  EXPECT_EQ(config.max_jobs, 12);
  EXPECT_EQ(config.retention, milliseconds(250));
  EXPECT_EQ(config.shutdown_grace, milliseconds(3s));
}

TEST_F(ConfigTest, TomlFloatInExponentFormIsReadAsDecimal) {
  const fs::path file = write("c.toml", "cleanup_interval = 1.5e2\nretention = 1e20\n");
  const std::string message = load_error({"--config", file.string()});
  // cleanup_interval = 150s is fine; retention 1e20 seconds is too large, not "not a duration".
  EXPECT_TRUE(contains(message, "invalid retention")) << message;
  EXPECT_TRUE(contains(message, "is too large")) << message;
}

TEST_F(ConfigTest, UnknownTomlKeyIsNamedWithTheValidKeys) {
  const fs::path file = write("c.toml", "max_jobs = 3\nmax_job = 4\n[server]\nport = 1\n");
  const std::string message = load_error({"--config", file.string()});
  EXPECT_TRUE(contains(message, file.string())) << message;
  EXPECT_TRUE(contains(message, "'max_job' (line 2)")) << message;
  EXPECT_TRUE(contains(message, "'server'")) << message;
  EXPECT_TRUE(contains(message, "valid keys: working_dir, max_jobs, max_output_size")) << message;
  EXPECT_TRUE(contains(message, "shutdown_grace")) << message;
}

TEST_F(ConfigTest, TomlSyntaxErrorNamesFileAndLine) {
  const fs::path file = write("c.toml", "max_jobs = 3\nretention = = 5\n");
  const std::string message = load_error({"--config", file.string()});
  EXPECT_TRUE(contains(message, "config file " + file.string())) << message;
  EXPECT_TRUE(contains(message, "syntax error at line 2")) << message;
}

TEST_F(ConfigTest, SyntaxErrorInTheDefaultFileIsAnError) {
  const fs::path file = write("xdg/mcp-background-job/config.toml", "max_jobs = \n");
  const std::string message = load_error({});
  EXPECT_TRUE(contains(message, file.string())) << message;
}

TEST_F(ConfigTest, ExplicitConfigFileThatIsMissingIsAnError) {
  const fs::path missing = dir_ / "missing.toml";
  const std::string from_flag = load_error({"--config", missing.string()});
  EXPECT_EQ(from_flag, "config file " + missing.string() + " (from --config) does not exist");
  env_["MCP_BG_CONFIG"] = missing.string();
  const std::string from_env = load_error({});
  EXPECT_EQ(from_env, "config file " + missing.string() + " (from MCP_BG_CONFIG) does not exist");
}

TEST_F(ConfigTest, ConfigPathThatIsADirectoryOrEmptyIsAnError) {
  EXPECT_TRUE(contains(load_error({"--config", dir_.string()}), "is a directory"));
  env_["MCP_BG_CONFIG"] = "";
  EXPECT_TRUE(contains(load_error({}), "invalid MCP_BG_CONFIG (environment): \"\" is empty"));
}

TEST_F(ConfigTest, WorkingDirIsCanonicalAndAbsolute) {
  fs::create_directories(dir_ / "a/b");
  fs::create_directory_symlink(dir_ / "a/b", dir_ / "link");
  EXPECT_EQ(load_ok({"--working-dir", (dir_ / "a/../a/b/.").string()}).working_dir, dir_ / "a/b");
  EXPECT_EQ(load_ok({"--working-dir", (dir_ / "link").string()}).working_dir, dir_ / "a/b");
  EXPECT_EQ(load_ok({"--working-dir", "."}).working_dir, fs::canonical(fs::current_path()));
}

TEST_F(ConfigTest, WorkingDirMustBeAnExistingDirectory) {
  const std::string missing = (dir_ / "nope").string();
  EXPECT_EQ(load_error({"--working-dir", missing}),
            "invalid --working-dir (command line): \"" + missing +
                "\" does not exist; allowed: an existing directory (a relative path in the config "
                "file is relative to the file's directory)");
  const fs::path file = write("plain-file", "x");
  env_["MCP_BG_WORKING_DIR"] = file.string();
  const std::string message = load_error({});
  EXPECT_TRUE(contains(message, "invalid MCP_BG_WORKING_DIR (environment)")) << message;
  EXPECT_TRUE(contains(message, "is not a directory")) << message;
}

TEST_F(ConfigTest, RelativeWorkingDirInConfigFileIsRelativeToTheFile) {
  fs::create_directories(dir_ / "conf/jobs");
  const fs::path file = write("conf/config.toml", "working_dir = \"jobs\"\n");
  EXPECT_EQ(load_ok({"--config", file.string()}).working_dir, dir_ / "conf/jobs");

  const fs::path bad = write("conf/bad.toml", "working_dir = \"nowhere\"\n");
  const std::string message = load_error({"--config", bad.string()});
  EXPECT_TRUE(contains(message, "(resolved to " + (dir_ / "conf/nowhere").string() + ")"))
      << message;
}

TEST_F(ConfigTest, TildeInWorkingDirExpandsWithHome) {
  fs::create_directories(dir_ / "home/projects");
  EXPECT_EQ(load_ok({"--working-dir", "~/projects"}).working_dir, dir_ / "home/projects");
  EXPECT_EQ(load_ok({"--working-dir", "~"}).working_dir, dir_ / "home");
  env_.erase("HOME");
  EXPECT_TRUE(contains(load_error({"--working-dir", "~/projects"}), "HOME is not set"));
}

TEST_F(ConfigTest, LogLevelIsCaseInsensitiveAndValidated) {
  EXPECT_EQ(load_ok({"--log-level", "TRACE"}).log_level, LogLevel::kTrace);
  EXPECT_EQ(load_ok({"--log-level", "Off"}).log_level, LogLevel::kOff);
  EXPECT_EQ(load_ok({"--log-level", "warning"}).log_level, LogLevel::kWarn);
  const std::string message = load_error({"--log-level", "loud"});
  EXPECT_TRUE(contains(message, "invalid --log-level (command line): \"loud\"")) << message;
  EXPECT_TRUE(contains(message, "trace, debug, info, warn")) << message;
}

TEST_F(ConfigTest, NonInteractiveEnvIsABooleanFromEverySource) {
  for (const char* yes : {"true", "TRUE", "1", "yes", "Yes"}) {
    env_["MCP_BG_NON_INTERACTIVE_ENV"] = yes;
    EXPECT_FALSE(load_ok({"--non-interactive-env", "false"}).non_interactive_env) << yes;
    EXPECT_TRUE(load_ok({}).non_interactive_env) << yes;
  }
  for (const char* no : {"false", "False", "0", "no", "NO"}) {
    env_["MCP_BG_NON_INTERACTIVE_ENV"] = no;
    EXPECT_FALSE(load_ok({}).non_interactive_env) << no;
    EXPECT_TRUE(load_ok({"--non-interactive-env", "true"}).non_interactive_env) << no;
  }
  env_.erase("MCP_BG_NON_INTERACTIVE_ENV");
  const std::string message = load_error({"--non-interactive-env", "maybe"});
  EXPECT_TRUE(contains(message,
                       "invalid --non-interactive-env (command line): \"maybe\" is not "
                       "a boolean; allowed: true, false, 1, 0, yes or no"))
      << message;
  env_["MCP_BG_NON_INTERACTIVE_ENV"] = "";
  EXPECT_TRUE(contains(load_error({}), "invalid MCP_BG_NON_INTERACTIVE_ENV (environment)"));
  env_.erase("MCP_BG_NON_INTERACTIVE_ENV");
  // TOML: a native boolean or a string; anything else names what it got.
  EXPECT_FALSE(load_ok({"--config", write("a.toml", "non_interactive_env = false\n").string()})
                   .non_interactive_env);
  EXPECT_FALSE(load_ok({"--config", write("b.toml", "non_interactive_env = \"no\"\n").string()})
                   .non_interactive_env);
  const std::string toml_message =
      load_error({"--config", write("c.toml", "non_interactive_env = 2.5\n").string()});
  EXPECT_TRUE(contains(toml_message, "2.5 is a float, not a boolean or a string")) << toml_message;
}

TEST_F(ConfigTest, HelpExitsZeroAndDocumentsEverySetting) {
  env_["MCP_BG_MAX_JOBS"] = "ten";  // Help works even when a setting is invalid.
  for (const char* flag : {"--help", "-h"}) {
    LoadOutcome outcome = load({flag});
    EXPECT_EQ(outcome.exit_code, 0);
    EXPECT_FALSE(outcome.config.has_value());
    const std::string& help = outcome.message;
    for (const char* name : {"MCP_BG_WORKING_DIR",
                             "MCP_BG_MAX_JOBS",
                             "MCP_BG_MAX_OUTPUT_SIZE",
                             "MCP_BG_MAX_FINISHED",
                             "MCP_BG_RETENTION",
                             "MCP_BG_CLEANUP_INTERVAL",
                             "MCP_BG_LOG_LEVEL",
                             "MCP_BG_MAX_MESSAGE_SIZE",
                             "MCP_BG_MAX_READ_BYTES",
                             "MCP_BG_STDIN_BUFFER_SIZE",
                             "MCP_BG_MAX_INTERACT_WAIT",
                             "MCP_BG_SHUTDOWN_GRACE",
                             "MCP_BG_NON_INTERACTIVE_ENV",
                             "MCP_BG_CONFIG",
                             "--config",
                             "--working-dir",
                             "--max-jobs",
                             "--max-output-size",
                             "--max-finished",
                             "--retention",
                             "--cleanup-interval",
                             "--log-level",
                             "--max-message-size",
                             "--max-read-bytes",
                             "--stdin-buffer-size",
                             "--max-interact-wait",
                             "--shutdown-grace",
                             "--non-interactive-env",
                             "--version"}) {
      EXPECT_TRUE(contains(help, name)) << name;
    }
    EXPECT_TRUE(contains(help, "env: MCP_BG_MAX_JOBS, toml: max_jobs, default: 10")) << help;
    EXPECT_TRUE(contains(help, "toml: max_output_size, default: 10MiB")) << help;
    EXPECT_TRUE(contains(help, "toml: retention, default: 1h")) << help;
    EXPECT_TRUE(contains(help, "env: MCP_BG_NON_INTERACTIVE_ENV, toml: non_interactive_env"))
        << help;
    EXPECT_TRUE(contains(help, "allowed: a whole number from 1 to 10000")) << help;
    EXPECT_TRUE(contains(help,
                         "Precedence: command-line flag > environment variable > config "
                         "file > default"))
        << help;
    EXPECT_TRUE(contains(help, "1K = 1KB = 1KiB = 1024 bytes")) << help;
    // House style: 100 columns.
    size_t longest = 0, start = 0;
    for (size_t end; (end = help.find('\n', start)) != std::string::npos; start = end + 1) {
      longest = std::max(longest, end - start);
    }
    EXPECT_LE(longest, 100u);
  }
}

TEST_F(ConfigTest, VersionExitsZeroWithProgramAndVersion) {
  LoadOutcome outcome = load({"--version"});
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_FALSE(outcome.config.has_value());
  EXPECT_TRUE(
      std::regex_match(outcome.message, std::regex(R"(mcp-background-job \d+\.\d+\.\d+.*)")))
      << outcome.message;
}

TEST_F(ConfigTest, UnknownFlagsAndStrayArgumentsAreErrors) {
  std::string message = load_error({"--max-jobz", "3"});
  EXPECT_TRUE(contains(message, "--max-jobz")) << message;
  EXPECT_TRUE(contains(message, "see --help")) << message;
  message = load_error({"stray"});
  EXPECT_TRUE(contains(message, "stray")) << message;
}

TEST_F(ConfigTest, FlagWithoutValueOrRepeatedIsAnError) {
  EXPECT_TRUE(contains(load_error({"--max-jobs"}), "--max-jobs"));
  EXPECT_TRUE(contains(load_error({"--max-jobs", "2", "--max-jobs", "3"}), "--max-jobs"));
}

TEST(CurrentEnvironment, SnapshotsTheProcessEnvironment) {
  ASSERT_EQ(::setenv("MCPBG_CONFIG_TEST_VARIABLE", "a=b c", 1), 0);
  const Environment env = current_environment();
  ::unsetenv("MCPBG_CONFIG_TEST_VARIABLE");
  auto it = env.find("MCPBG_CONFIG_TEST_VARIABLE");
  ASSERT_NE(it, env.end());
  EXPECT_EQ(it->second, "a=b c");  // Split at the first '=' only.
  EXPECT_FALSE(current_environment().contains("MCPBG_CONFIG_TEST_VARIABLE"));
}

}  // namespace
}  // namespace config

namespace config {
namespace {

class PolicySettingsTest : public ConfigTest {};

TEST_F(PolicySettingsTest, DefaultsAreOpenButRedactAndExcludeSecrets) {
  const Config config = load_ok({});
  EXPECT_TRUE(config.allowed_commands.empty());
  EXPECT_TRUE(config.denied_commands.empty());
  EXPECT_TRUE(config.allowed_programs.empty());
  EXPECT_TRUE(config.shell);
  EXPECT_EQ(config.allowed_roots, std::vector<fs::path>{config.working_dir});
  EXPECT_EQ(config.sandbox, Sandbox::kNone);
  EXPECT_TRUE(config.network);
  EXPECT_EQ(config.env_policy, EnvPolicy::kInherit);
  EXPECT_EQ(config.env_exclude, default_env_exclude());
  EXPECT_TRUE(config.allowed_loader_env.empty());
  EXPECT_TRUE(config.queue);
  EXPECT_EQ(config.max_queued, 100);
  EXPECT_EQ(config.max_starts_per_minute, 0);
  EXPECT_TRUE(config.redact);
  EXPECT_TRUE(config.audit_log.empty());
  EXPECT_EQ(config.max_memory, 0u);
  EXPECT_EQ(config.max_processes, 0);
}

TEST_F(PolicySettingsTest, ListsFromEnvironmentFlagsAndTomlArrays) {
  env_["MCP_BG_DENIED_COMMANDS"] = R"(\brm\b, curl.*\|\s*sh, x{1\,3})";
  EXPECT_EQ(load_ok({}).denied_commands,
            (std::vector<std::string>{R"(\brm\b)", R"(curl.*\|\s*sh)", "x{1,3}"}));
  EXPECT_EQ(load_ok({"--denied-commands", ""}).denied_commands, std::vector<std::string>{});
  env_.erase("MCP_BG_DENIED_COMMANDS");
  const fs::path file = write("lists.toml",
                              "allowed_programs = [\"git\", \"/usr/bin/make\"]\n"
                              "redact_patterns = \"a{1,2}\"\n"
                              "env_exclude = []\n"
                              "allowed_loader_env = [\"LD_LIBRARY_PATH\"]\n");
  const Config config = load_ok({"--config", file.string()});
  EXPECT_EQ(config.allowed_loader_env, std::vector<std::string>{"LD_LIBRARY_PATH"});
  EXPECT_EQ(load_ok({"--allowed-loader-env", "LD_PRELOAD,GCONV_PATH"}).allowed_loader_env,
            (std::vector<std::string>{"LD_PRELOAD", "GCONV_PATH"}));
  EXPECT_EQ(config.allowed_programs, (std::vector<std::string>{"git", "/usr/bin/make"}));
  EXPECT_EQ(config.redact_patterns, (std::vector<std::string>{"a{1", "2}"}))
      << "a TOML string is comma-separated text, like the environment";
  EXPECT_TRUE(config.env_exclude.empty());
  const std::string message =
      load_error({"--config", write("bad.toml", "allowed_commands = [\"ls\", 3]\n").string()});
  EXPECT_TRUE(contains(message, "an item is an integer, not a string")) << message;
}

TEST_F(PolicySettingsTest, ChoicesInAnyCaseAndErrorsListTheChoices) {
  EXPECT_EQ(load_ok({"--sandbox", "Landlock"}).sandbox, Sandbox::kLandlock);
  EXPECT_EQ(load_ok({"--env-policy", " minimal "}).env_policy, EnvPolicy::kMinimal);
  const std::string message = load_error({"--sandbox", "docker"});
  EXPECT_TRUE(contains(message,
                       "invalid --sandbox (command line): \"docker\" is not one of the "
                       "choices; allowed: one of none, landlock"))
      << message;
}

TEST_F(PolicySettingsTest, AllowedRootsAreRealPathsAndMustHoldTheWorkingDir) {
  fs::create_directories(dir_ / "work" / "sub");
  fs::create_directory_symlink(dir_ / "work", dir_ / "link");
  const Config config = load_ok({"--working-dir", (dir_ / "work" / "sub").string(),
                                 "--allowed-roots", (dir_ / "link").string()});
  EXPECT_EQ(config.allowed_roots, std::vector<fs::path>{dir_ / "work"});
  std::string message = load_error(
      {"--working-dir", (dir_ / "work").string(), "--allowed-roots", (dir_ / "xdg").string()});
  EXPECT_TRUE(contains(message, "is outside every allowed_roots directory")) << message;
  message = load_error({"--allowed-roots", (dir_ / "missing").string()});
  EXPECT_TRUE(contains(message, "does not exist")) << message;
  message = load_error({"--allowed-roots", ""});
  EXPECT_TRUE(contains(message, "the list is empty")) << message;
}

TEST_F(PolicySettingsTest, WithoutAWorkingDirAServerStartedOutsideItsRootsUsesTheFirstRoot) {
  // The test runs in the build directory, outside dir_.
  fs::create_directories(dir_ / "a");
  fs::create_directories(dir_ / "b");
  const std::string roots = (dir_ / "a").string() + "," + (dir_ / "b").string();
  EXPECT_EQ(load_ok({"--allowed-roots", roots}).working_dir, dir_ / "a");
  // Started inside a root, it keeps its own directory.
  const fs::path here = fs::canonical(fs::current_path());
  EXPECT_EQ(load_ok({"--allowed-roots", roots + "," + here.string()}).working_dir, here);
}

TEST_F(PolicySettingsTest, AuditLogIsAFileInAnExistingDirectory) {
  EXPECT_EQ(load_ok({"--audit-log", (dir_ / "audit.jsonl").string()}).audit_log,
            dir_ / "audit.jsonl");
  EXPECT_TRUE(load_ok({"--audit-log", ""}).audit_log.empty());
  std::string message = load_error({"--audit-log", (dir_ / "nope" / "a.jsonl").string()});
  EXPECT_TRUE(contains(message, "does not exist")) << message;
  message = load_error({"--audit-log", dir_.string()});
  EXPECT_TRUE(contains(message, "is a directory")) << message;
  const fs::path file = write("conf/c.toml", "audit_log = \"audit.jsonl\"\n");
  EXPECT_EQ(load_ok({"--config", file.string()}).audit_log, dir_ / "conf" / "audit.jsonl");
}

TEST_F(PolicySettingsTest, LimitsTakeZeroForNone) {
  const Config config = load_ok({"--max-memory", "512M", "--max-processes", "20", "--max-cpu-time",
                                 "1.5", "--max-file-size", "0"});
  EXPECT_EQ(config.max_memory, 512ull << 20);
  EXPECT_EQ(config.max_processes, 20);
  EXPECT_EQ(config.max_cpu_time, milliseconds(1500));
  EXPECT_EQ(config.max_file_size, 0u);
}

}  // namespace
}  // namespace config

namespace config {
namespace {

TEST_F(ConfigTest, HttpIsOffByDefaultAndTakesALoopbackHostAndPort) {
  EXPECT_FALSE(load_ok({}).http.has_value());
  EXPECT_EQ(load_ok({"--http", "127.0.0.1:8765"}).http, (HttpAddress{"127.0.0.1", 8765}));
  EXPECT_EQ(load_ok({"--http", "[::1]:0"}).http, (HttpAddress{"::1", 0}));
  EXPECT_EQ(load_ok({"--http", "localhost:80"}).http, (HttpAddress{"localhost", 80}));
  EXPECT_EQ(load_ok({"--http", "127.0.0.2:1"}).http, (HttpAddress{"127.0.0.2", 1}));
  EXPECT_FALSE(load_ok({"--http", ""}).http.has_value());
  env_["MCP_BG_HTTP"] = "127.0.0.1:9000";
  EXPECT_EQ(load_ok({}).http, (HttpAddress{"127.0.0.1", 9000}));
  EXPECT_EQ(load_ok({"--http", "[::1]:9001"}).http, (HttpAddress{"::1", 9001}));  // flag wins
  env_.erase("MCP_BG_HTTP");
  const fs::path file = write("c.toml", "http = \"127.0.0.1:7000\"\n");
  EXPECT_EQ(load_ok({"--config", file.string()}).http, (HttpAddress{"127.0.0.1", 7000}));
}

TEST_F(ConfigTest, HttpRefusesANonLoopbackAddressAndMalformedOnes) {
  std::string message = load_error({"--http", "0.0.0.0:8765"});
  EXPECT_TRUE(contains(message, "not a loopback address")) << message;
  EXPECT_TRUE(contains(message, "auth token")) << message;
  message = load_error({"--http", "192.168.1.2:8765"});
  EXPECT_TRUE(contains(message, "not a loopback address")) << message;
  message = load_error({"--http", "[::]:8765"});
  EXPECT_TRUE(contains(message, "not a loopback address")) << message;
  message = load_error({"--http", "example.com:80"});
  EXPECT_TRUE(contains(message, "not an IP address")) << message;
  message = load_error({"--http", "127.0.0.1"});
  EXPECT_TRUE(contains(message, "HOST:PORT")) << message;
  message = load_error({"--http", "127.0.0.1:65536"});
  EXPECT_TRUE(contains(message, "port")) << message;
  message = load_error({"--http", "::1:80"});
  EXPECT_TRUE(contains(message, "brackets")) << message;
  env_["MCP_BG_HTTP"] = "10.0.0.1:1";
  message = load_error({});
  EXPECT_TRUE(contains(message, "MCP_BG_HTTP")) << message;
}

}  // namespace
}  // namespace config
