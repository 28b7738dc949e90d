#include "policy/environment.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

namespace policy {
namespace {

using Entries = std::vector<std::string>;

const std::vector<std::string_view> kServer = {
    "PATH=/usr/bin:/bin",  "HOME=/home/op",      "USER=op",
    "LANG=C.UTF-8",        "TERM=xterm-server",  "SHELL=/bin/bash",
    "GITHUB_TOKEN=ghp_x",  "my_api_token=lower", "AWS_REGION=eu-1",
    "DB_PASSWORD=hunter2", "EDITOR=vim",         "PAGER=less"};

const std::vector<std::string> kSecrets = {"*TOKEN*",       "*SECRET*",     "*PASSWORD*",
                                           "*PASSWD*",      "*API_KEY*",    "*APIKEY*",
                                           "*PRIVATE_KEY*", "*CREDENTIAL*", "AWS_*"};

Entries sorted(Entries entries) {
  std::sort(entries.begin(), entries.end());
  return entries;
}

bool has(const Entries& env, std::string_view entry) {
  return std::find(env.begin(), env.end(), entry) != env.end();
}

bool has_name(const Entries& env, std::string_view name) {
  return find_variable(env, name).has_value();
}

TEST(Environment, InheritsEverythingButTheExcludedNamesInAnyCase) {
  EnvironmentRules rules{.exclude = kSecrets, .non_interactive = false};
  auto env = build_environment(rules, kServer, {}, Attachment::kPipes);
  EXPECT_EQ(sorted(env),
            sorted({"PATH=/usr/bin:/bin", "HOME=/home/op", "USER=op", "LANG=C.UTF-8",
                    "TERM=xterm-server", "SHELL=/bin/bash", "EDITOR=vim", "PAGER=less"}));
  EXPECT_FALSE(has_name(env, "my_api_token")) << "patterns match in any case";
}

TEST(Environment, TheJobsOwnEnvMaySetAnExcludedName) {
  EnvironmentRules rules{.exclude = kSecrets};
  auto env = build_environment(rules, kServer, {{"MY_API_TOKEN", "given"}}, Attachment::kPipes);
  EXPECT_TRUE(has(env, "MY_API_TOKEN=given"));
  EXPECT_FALSE(has_name(env, "GITHUB_TOKEN"));
}

TEST(Environment, MinimalKeepsOnlyTheBasicsAndTheJobsOwnEnv) {
  EnvironmentRules rules{.inheritance = EnvInheritance::kMinimal, .non_interactive = false};
  auto env = build_environment(rules, kServer, {{"EXTRA", "1"}}, Attachment::kPipes);
  EXPECT_EQ(sorted(env), sorted({"PATH=/usr/bin:/bin", "HOME=/home/op", "USER=op", "LANG=C.UTF-8",
                                 "TERM=xterm-server", "EXTRA=1"}));
}

TEST(Environment, MinimalStillAppliesTheExclusions) {
  EnvironmentRules rules{.inheritance = EnvInheritance::kMinimal, .exclude = {"home"}};
  auto env = build_environment(rules, kServer, {}, Attachment::kPipes);
  EXPECT_FALSE(has_name(env, "HOME"));
  EXPECT_TRUE(has_name(env, "PATH"));
}

TEST(Environment, JobsOnPipesGetTheNonInteractiveDefaultsUnlessTheirEnvSaysOtherwise) {
  EnvironmentRules rules;
  auto env = build_environment(rules, kServer, {{"GIT_PAGER", "less -R"}}, Attachment::kPipes);
  EXPECT_TRUE(has(env, "TERM=dumb"));
  EXPECT_TRUE(has(env, "NO_COLOR=1"));
  EXPECT_TRUE(has(env, "PAGER=cat"));
  EXPECT_TRUE(has(env, "GIT_PAGER=less -R"));
  EXPECT_FALSE(has(env, "TERM=xterm-server")) << "each name appears once";
  EXPECT_EQ(std::count_if(env.begin(), env.end(),
                          [](const std::string& e) { return e.starts_with("TERM="); }),
            1);
}

TEST(Environment, JobsOnATerminalGetItsTermWhateverTheServerHas) {
  EnvironmentRules rules;
  auto env = build_environment(rules, kServer, {}, Attachment::kTerminal);
  EXPECT_TRUE(has(env, "TERM=xterm-256color"));
  EXPECT_TRUE(has(env, "PAGER=less")) << "a terminal has someone to page for";
  EXPECT_FALSE(has_name(env, "NO_COLOR"));
  auto own = build_environment(rules, kServer, {{"TERM", "vt100"}}, Attachment::kTerminal);
  EXPECT_TRUE(has(own, "TERM=vt100"));
}

TEST(Environment, TheDefaultsAreNotRemovedByAnExclusion) {
  // Exclusions are about what the server leaks, not about what the server sets on purpose.
  EnvironmentRules rules{.exclude = {"TERM", "PAGER"}};
  auto env = build_environment(rules, kServer, {}, Attachment::kPipes);
  EXPECT_TRUE(has(env, "TERM=dumb"));
  EXPECT_TRUE(has(env, "PAGER=cat"));
}

TEST(Environment, NameExcludedUsesGlobsInAnyCase) {
  EXPECT_TRUE(name_excluded("GITHUB_TOKEN", {"*token*"}));
  EXPECT_TRUE(name_excluded("aws_secret_access_key", {"AWS_*"}));
  EXPECT_TRUE(name_excluded("X1", {"X?"}));
  EXPECT_TRUE(name_excluded("KEY_B", {"KEY_[AB]"}));
  EXPECT_FALSE(name_excluded("TOKENIZER_PATH", {"*_TOKEN"}));
  EXPECT_FALSE(name_excluded("PATH", {}));
}

TEST(Environment, FindVariableTellsAbsentFromEmpty) {
  Entries env = {"PATH=", "A=1", "AB=2"};
  EXPECT_EQ(find_variable(env, "PATH"), std::optional<std::string_view>(""));
  EXPECT_EQ(find_variable(env, "A"), std::optional<std::string_view>("1"));
  EXPECT_EQ(find_variable(env, "AB"), std::optional<std::string_view>("2"));
  EXPECT_EQ(find_variable(env, "B"), std::nullopt);
}

TEST(Environment, ServerEnvironmentIsReadAtEachCall) {
  ::setenv("MCPBG_POLICY_TEST_VAR", "one", 1);
  auto first = server_environment();
  EXPECT_NE(std::find(first.begin(), first.end(), "MCPBG_POLICY_TEST_VAR=one"), first.end());
  ::unsetenv("MCPBG_POLICY_TEST_VAR");
  auto second = server_environment();
  EXPECT_EQ(
      std::find_if(second.begin(), second.end(),
                   [](std::string_view e) { return e.starts_with("MCPBG_POLICY_TEST_VAR="); }),
      second.end());
}

TEST(Environment, FilteringOnceThenBuildingPerJobGivesTheSameEnvironment) {
  // The engine filters the server's environment once and builds each job's from that.
  for (auto inheritance : {EnvInheritance::kInherit, EnvInheritance::kMinimal}) {
    EnvironmentRules rules{.inheritance = inheritance, .exclude = kSecrets};
    auto inheritable = inheritable_environment(rules, kServer);
    EXPECT_FALSE(has_name(inheritable, "GITHUB_TOKEN"));
    for (auto attachment : {Attachment::kPipes, Attachment::kTerminal}) {
      std::map<std::string, std::string> own = {{"MY_API_TOKEN", "given"}, {"PAGER", "more"}};
      EXPECT_EQ(sorted(job_environment(rules, inheritable, own, attachment)),
                sorted(build_environment(rules, kServer, own, attachment)));
    }
  }
}

TEST(LoaderVariables, EveryLdNameAndGlibcsUnsecureListButTmpdir) {
  for (const char* name :
       {"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_DEBUG_OUTPUT", "LD_PROFILE", "LD_",
        "GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH",
        "MALLOC_TRACE", "NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS", "TZDIR"}) {
    EXPECT_TRUE(is_loader_variable(name)) << name;
  }
  for (const char* name : {"TMPDIR", "PATH", "ld_preload", "OLD_PWD", "LDFLAGS", "PYTHONPATH",
                           "NODE_OPTIONS", "PERL5OPT", "RUBYOPT", "TZ", ""}) {
    EXPECT_FALSE(is_loader_variable(name)) << name;
  }
}

}  // namespace
}  // namespace policy
