// The HTTP transport's settings: who may call (auth token, allowed hosts, CORS origins), the
// rule that a non-loopback address needs a token, and the bounds. The token must never appear
// in an error: every refusal here is checked for it.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "helpers/scratch_dir.h"

namespace config {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr const char* kToken = "tok-0123456789abcdef-XYZ";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class HttpSettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(scratch_.path().empty());
    dir_ = fs::canonical(scratch_.path());
    // No real config file is read: XDG_CONFIG_HOME and HOME point into the fresh directory.
    env_ = {{"XDG_CONFIG_HOME", (dir_ / "xdg").string()}, {"HOME", dir_.string()}};
  }

  fs::path write(const std::string& name, const std::string& text, fs::perms mode) {
    fs::path path = dir_ / name;
    std::ofstream(path) << text;
    fs::permissions(path, mode);
    return path;
  }
  fs::path token_file(const std::string& text, const std::string& name = "token") {
    return write(name, text, fs::perms::owner_read | fs::perms::owner_write);
  }

  Config load_ok(const std::vector<std::string>& args) {
    LoadOutcome outcome = load_config(args, env_);
    EXPECT_EQ(outcome.exit_code, 0) << outcome.message;
    EXPECT_TRUE(outcome.config.has_value()) << outcome.message;
    return outcome.config.value_or(Config{});
  }
  std::string load_error(const std::vector<std::string>& args) {
    LoadOutcome outcome = load_config(args, env_);
    EXPECT_EQ(outcome.exit_code, 2);
    EXPECT_FALSE(outcome.config.has_value());
    EXPECT_FALSE(outcome.message.empty());
    return outcome.message;
  }

  test::ScratchDir scratch_{"http_settings_test"};
  fs::path dir_;
  Environment env_;
};

TEST_F(HttpSettingsTest, DefaultsAreLoopbackOnlyWithoutTokenAndTheDocumentedBounds) {
  const Config config = load_ok({});
  EXPECT_TRUE(config.auth_token.empty());
  EXPECT_TRUE(config.auth_token_file.empty());
  EXPECT_TRUE(config.http_allowed_hosts.empty());
  EXPECT_TRUE(config.http_cors_origins.empty());
  EXPECT_EQ(config.http_max_connections, 128);
  EXPECT_EQ(config.http_max_sessions, 64);
  EXPECT_EQ(config.http_header_timeout, milliseconds(10s));
  EXPECT_EQ(config.http_idle_timeout, milliseconds(60s));
  EXPECT_EQ(config.http_max_streams_per_session, 4);
}

TEST_F(HttpSettingsTest, BoundsFromFlagsEnvironmentAndFile) {
  Config config =
      load_ok({"--http-max-connections", "2", "--http-max-sessions", "3", "--http-header-timeout",
               "250ms", "--http-idle-timeout", "2", "--http-max-streams-per-session", "1"});
  EXPECT_EQ(config.http_max_connections, 2);
  EXPECT_EQ(config.http_max_sessions, 3);
  EXPECT_EQ(config.http_header_timeout, milliseconds(250));
  EXPECT_EQ(config.http_idle_timeout, milliseconds(2s));
  EXPECT_EQ(config.http_max_streams_per_session, 1);

  env_["MCP_BG_HTTP_MAX_CONNECTIONS"] = "5";
  env_["MCP_BG_HTTP_IDLE_TIMEOUT"] = "1m";
  config = load_ok({});
  EXPECT_EQ(config.http_max_connections, 5);
  EXPECT_EQ(config.http_idle_timeout, milliseconds(1min));
  env_.clear();

  const fs::path file = write("c.toml",
                              "http_max_sessions = 7\nhttp_header_timeout = 0.5\n"
                              "http_max_streams_per_session = 9\n",
                              fs::perms::owner_read | fs::perms::owner_write);
  config = load_ok({"--config", file.string()});
  EXPECT_EQ(config.http_max_sessions, 7);
  EXPECT_EQ(config.http_header_timeout, milliseconds(500));
  EXPECT_EQ(config.http_max_streams_per_session, 9);
}

TEST_F(HttpSettingsTest, BoundsAreCheckedAtTheirEdges) {
  struct Row {
    std::string flag, lowest, below, highest, above;
  };
  for (const Row& row :
       std::vector<Row>{{"--http-max-connections", "1", "0", "100000", "100001"},
                        {"--http-max-sessions", "1", "0", "100000", "100001"},
                        {"--http-header-timeout", "100ms", "99ms", "10m", "601s"},
                        {"--http-idle-timeout", "100ms", "99ms", "1h", "3601s"},
                        {"--http-max-streams-per-session", "1", "0", "1000", "1001"}}) {
    SCOPED_TRACE(row.flag);
    load_ok({row.flag, row.lowest});
    load_ok({row.flag, row.highest});
    for (const std::string& bad : {row.below, row.above, std::string("many")}) {
      const std::string message = load_error({row.flag, bad});
      EXPECT_EQ(message.rfind("invalid " + row.flag + " (command line): \"" + bad + "\"", 0), 0u)
          << message;
      EXPECT_TRUE(contains(message, "; allowed: ")) << message;
    }
  }
}

TEST_F(HttpSettingsTest, AllowedHostsAreCanonicalAndMalformedOnesAreErrors) {
  EXPECT_EQ(load_ok({"--http-allowed-hosts", "MCP.example.com, 10.0.0.5,fd00::7,[::2]"})
                .http_allowed_hosts,
            (std::vector<std::string>{"mcp.example.com", "10.0.0.5", "[fd00::7]", "[::2]"}));
  const fs::path file = write("c.toml", "http_allowed_hosts = [\"a.example\", \"b.example\"]\n",
                              fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(load_ok({"--config", file.string()}).http_allowed_hosts,
            (std::vector<std::string>{"a.example", "b.example"}));
  std::string message = load_error({"--http-allowed-hosts", "mcp.example.com:8765"});
  EXPECT_TRUE(contains(message, "invalid --http-allowed-hosts (command line)")) << message;
  EXPECT_TRUE(contains(message, "\"mcp.example.com:8765\": it has a port")) << message;
  message = load_error({"--http-allowed-hosts", "https://mcp.example.com"});
  EXPECT_TRUE(contains(message, "\"https://mcp.example.com\"")) << message;
  env_["MCP_BG_HTTP_ALLOWED_HOSTS"] = "bad host";
  message = load_error({});
  EXPECT_TRUE(contains(message, "invalid MCP_BG_HTTP_ALLOWED_HOSTS (environment)")) << message;
}

TEST_F(HttpSettingsTest, CorsOriginsAreCanonicalAndAWildcardIsRefused) {
  EXPECT_EQ(load_ok({"--http-cors-origins", "https://App.example.com:443,http://localhost:3000/"})
                .http_cors_origins,
            (std::vector<std::string>{"https://app.example.com", "http://localhost:3000"}));
  std::string message = load_error({"--http-cors-origins", "*"});
  EXPECT_TRUE(contains(message, "list the origins")) << message;
  message = load_error({"--http-cors-origins", "https://app.example.com/app"});
  EXPECT_TRUE(contains(message, "no path")) << message;
  message = load_error({"--http-cors-origins", "app.example.com"});
  EXPECT_TRUE(contains(message, "\"app.example.com\"")) << message;
  message = load_error({"--http-cors-origins", "null"});
  EXPECT_TRUE(contains(message, "\"null\"")) << message;
}

TEST_F(HttpSettingsTest, TokenFromTheEnvironmentIsTrimmedAndChecked) {
  env_["MCP_BG_AUTH_TOKEN"] = std::string("  ") + kToken + "\n";
  EXPECT_EQ(load_ok({}).auth_token, kToken);
  struct Case {
    std::string token, reason;
  };
  for (const Case& bad : std::vector<Case>{{"", "the token is empty"},
                                           {"   ", "the token is empty"},
                                           {"short-token", "shorter than 16 characters"},
                                           {"0123456789 abcdef0123", "printable ASCII"},
                                           {"0123456789\tabcdef0123", "printable ASCII"},
                                           {"0123456789abcdéf0123", "printable ASCII"},
                                           {std::string(4097, 'a'), "longer than 4096"}}) {
    env_["MCP_BG_AUTH_TOKEN"] = bad.token;
    const std::string message = load_error({});
    EXPECT_EQ(message.rfind("invalid MCP_BG_AUTH_TOKEN (environment): the token ", 0), 0u)
        << message;
    EXPECT_TRUE(contains(message, bad.reason)) << message;
    if (!bad.token.empty() && bad.token != "   ") {
      EXPECT_FALSE(contains(message, bad.token.substr(0, 10)))
          << "the token is quoted: " << message;
    }
  }
}

TEST_F(HttpSettingsTest, ThereIsNoFlagThatTakesTheTokenItself) {
  for (const char* flag : {"--auth-token", "--token"}) {
    const std::string message = load_error({flag, kToken});
    EXPECT_TRUE(contains(message, flag)) << message;
  }
  const fs::path file = write("c.toml", std::string("auth_token = \"") + kToken + "\"\n",
                              fs::perms::owner_read | fs::perms::owner_write);
  const std::string message = load_error({"--config", file.string()});
  EXPECT_TRUE(contains(message, "unknown key 'auth_token'")) << message;
  EXPECT_FALSE(contains(message, kToken)) << message;
}

TEST_F(HttpSettingsTest, TokenFileIsReadAtStartUpTrimmedAndMustBePrivate) {
  const fs::path file = token_file(std::string(kToken) + "\n");
  Config config = load_ok({"--auth-token-file", file.string()});
  EXPECT_EQ(config.auth_token, kToken);
  EXPECT_EQ(config.auth_token_file, file);
  env_["MCP_BG_AUTH_TOKEN_FILE"] = file.string();
  EXPECT_EQ(load_ok({}).auth_token, kToken);
  EXPECT_TRUE(load_ok({"--auth-token-file", ""}).auth_token.empty());  // flag beats env: none
  env_.erase("MCP_BG_AUTH_TOKEN_FILE");

  // In the config file, a relative path is relative to the file's directory.
  fs::create_directory(dir_ / "conf");
  token_file(kToken, "conf/secret");
  const fs::path toml = write("conf/c.toml", "auth_token_file = \"secret\"\n",
                              fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(load_ok({"--config", toml.string()}).auth_token, kToken);

  const fs::path shared = write("shared", kToken,
                                fs::perms::owner_read | fs::perms::owner_write |
                                    fs::perms::group_read | fs::perms::others_read);
  std::string message = load_error({"--auth-token-file", shared.string()});
  EXPECT_TRUE(contains(message, "mode 0644")) << message;
  EXPECT_TRUE(contains(message, "chmod 600 " + shared.string())) << message;
  EXPECT_FALSE(contains(message, kToken)) << message;

  message = load_error({"--auth-token-file", token_file("\n\n", "empty").string()});
  EXPECT_TRUE(contains(message, "the token is empty")) << message;
  message = load_error({"--auth-token-file",
                        token_file("line one is long enough\nline two\n", "two-lines").string()});
  EXPECT_TRUE(contains(message, "printable ASCII")) << message;
  EXPECT_FALSE(contains(message, "line one")) << message;
  message = load_error({"--auth-token-file", (dir_ / "missing").string()});
  EXPECT_TRUE(contains(message, "cannot open")) << message;
  message = load_error({"--auth-token-file", dir_.string()});
  EXPECT_TRUE(contains(message, "not a regular file")) << message;
  message = load_error({"--auth-token-file", token_file(std::string(5000, 'a'), "big").string()});
  EXPECT_TRUE(contains(message, "larger than a token")) << message;
}

TEST_F(HttpSettingsTest, BothTokenSourcesAtOnceIsAnError) {
  env_["MCP_BG_AUTH_TOKEN"] = kToken;
  const std::string message = load_error({"--auth-token-file", token_file(kToken).string()});
  EXPECT_TRUE(contains(message, "set only one")) << message;
  EXPECT_FALSE(contains(message, kToken)) << message;
}

TEST_F(HttpSettingsTest, ANonLoopbackAddressNeedsAToken) {
  for (const char* address : {"0.0.0.0:8765", "[::]:0", "192.168.1.2:80", "[fd00::1]:1"}) {
    SCOPED_TRACE(address);
    std::string message = load_error({"--http", address});
    EXPECT_TRUE(contains(message, "--http (command line)")) << message;
    EXPECT_TRUE(contains(message, "not a loopback address")) << message;
    EXPECT_TRUE(contains(message, "MCP_BG_AUTH_TOKEN")) << message;
    EXPECT_TRUE(contains(message, "auth_token_file")) << message;
    EXPECT_TRUE(load_ok({"--http", address, "--auth-token-file", token_file(kToken).string()})
                    .http.has_value());
    env_["MCP_BG_AUTH_TOKEN"] = kToken;
    EXPECT_EQ(load_ok({"--http", address}).auth_token, kToken);
    env_.erase("MCP_BG_AUTH_TOKEN");
  }
  const fs::path toml =
      write("c.toml", "http = \"10.1.2.3:8080\"\n", fs::perms::owner_read | fs::perms::owner_write);
  const std::string message = load_error({"--config", toml.string()});
  EXPECT_TRUE(contains(message, "http (config file " + toml.string() + ")")) << message;
  // Loopback addresses need none.
  for (const char* address : {"127.0.0.1:0", "127.0.0.9:0", "[::1]:0", "localhost:0"}) {
    EXPECT_TRUE(load_ok({"--http", address}).http->loopback()) << address;
  }
}

TEST_F(HttpSettingsTest, HelpNamesTheTokenVariableAndEveryHttpSetting) {
  LoadOutcome outcome = load_config({"--help"}, env_);
  EXPECT_EQ(outcome.exit_code, 0);
  for (const char* name :
       {"MCP_BG_AUTH_TOKEN", "--auth-token-file", "--http-allowed-hosts", "--http-cors-origins",
        "--http-max-connections", "--http-max-sessions", "--http-header-timeout",
        "--http-idle-timeout", "--http-max-streams-per-session"}) {
    EXPECT_TRUE(contains(outcome.message, name)) << name;
  }
}

}  // namespace
}  // namespace config
