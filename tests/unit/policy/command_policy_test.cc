#include "policy/command_policy.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "helpers/scratch_dir.h"

namespace policy {
namespace {

namespace fs = std::filesystem;

// The server's PATH as the tests give it: enough to find the coreutils.
constexpr std::string_view kServerPath = "/usr/local/bin:/usr/bin:/bin";

fs::path real(const fs::path& path) { return fs::canonical(path); }

// A candidate for a shell job.
struct ShellJob {
  explicit ShellJob(std::string line, std::optional<std::string> cwd_in = std::nullopt)
      : command(std::move(line)), cwd(std::move(cwd_in)) {}
  Candidate candidate() const {
    std::optional<std::string_view> asked;
    if (cwd) asked = *cwd;
    return {.command = command, .argv = {}, .command_line = command, .cwd = asked, .env = env};
  }
  std::string command;
  std::optional<std::string> cwd;
  std::vector<std::string> env;
};

// A candidate for an argv job. The command line is joined with spaces: these tests use words that
// need no quoting, which is what jobs::shell_join gives for them.
struct ArgvJob {
  explicit ArgvJob(std::vector<std::string> words, std::vector<std::string> env_in = {})
      : argv(std::move(words)), env(std::move(env_in)) {
    for (const auto& word : argv) line += (line.empty() ? "" : " ") + word;
  }
  Candidate candidate() const {
    std::optional<std::string_view> asked;
    if (cwd) asked = *cwd;
    return {.command = std::nullopt, .argv = argv, .command_line = line, .cwd = asked, .env = env};
  }
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string line;
  std::optional<std::string> cwd;
};

class CommandPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = real(scratch_.path());
    work_ = dir_ / "work";
    fs::create_directories(work_ / "sub");
  }

  CommandPolicy make(CommandRules rules) {
    auto policy = CommandPolicy::create(std::move(rules), work_, kServerPath);
    EXPECT_TRUE(policy.has_value()) << (policy ? "" : policy.error().message);
    return std::move(*policy);
  }
  std::string create_error(CommandRules rules) {
    auto policy = CommandPolicy::create(std::move(rules), work_, kServerPath);
    EXPECT_FALSE(policy.has_value());
    return policy ? "" : policy.error().message;
  }

  test::ScratchDir scratch_{"mcpbg-policy"};
  fs::path dir_;
  fs::path work_;
};

// ---- start-up errors

TEST_F(CommandPolicyTest, AnInvalidPatternIsAStartUpErrorNamingTheSettingAndThePattern) {
  auto allowed = create_error({.allowed_commands = {"^git .*$", "(unclosed"}});
  EXPECT_NE(allowed.find("allowed_commands"), std::string::npos) << allowed;
  EXPECT_NE(allowed.find("'(unclosed'"), std::string::npos) << allowed;
  EXPECT_NE(allowed.find("not a valid RE2 pattern"), std::string::npos) << allowed;

  auto denied = create_error({.denied_commands = {"[z-a]"}});
  EXPECT_NE(denied.find("denied_commands"), std::string::npos) << denied;
  EXPECT_NE(denied.find("'[z-a]'"), std::string::npos) << denied;
}

TEST_F(CommandPolicyTest, AllowedProgramsMustExistAndBeNamesOrAbsolutePaths) {
  auto missing = create_error({.allowed_programs = {"no-such-program-mcpbg"}});
  EXPECT_NE(missing.find("allowed_programs: 'no-such-program-mcpbg' is not found on the server's "
                         "PATH"),
            std::string::npos)
      << missing;
  auto relative = create_error({.allowed_programs = {"./tool"}});
  EXPECT_NE(relative.find("relative path"), std::string::npos) << relative;
  std::ofstream(dir_ / "data.txt") << "not a program\n";
  fs::permissions(dir_ / "data.txt", fs::perms::owner_read | fs::perms::owner_write);
  auto not_a_program = create_error({.allowed_programs = {(dir_ / "data.txt").string()}});
  EXPECT_NE(not_a_program.find("not an executable file"), std::string::npos) << not_a_program;
  auto empty = create_error({.allowed_programs = {""}});
  EXPECT_NE(empty.find("empty"), std::string::npos) << empty;
}

TEST_F(CommandPolicyTest, AllowedRootsMustBeExistingAbsoluteDirectories) {
  auto missing = create_error({.allowed_roots = {dir_ / "absent"}});
  EXPECT_NE(missing.find("allowed_roots"), std::string::npos) << missing;
  auto relative = create_error({.allowed_roots = {"work"}});
  EXPECT_NE(relative.find("relative"), std::string::npos) << relative;
}

TEST_F(CommandPolicyTest, ProgramsAndRootsAreKeptAsRealPaths) {
  fs::create_directory_symlink(work_, dir_ / "link-to-work");
  auto policy =
      make({.allowed_programs = {"sh", "/bin/ls"}, .allowed_roots = {dir_ / "link-to-work"}});
  ASSERT_EQ(policy.programs().size(), 2u);
  EXPECT_EQ(policy.programs()[0].entry, "sh");
  EXPECT_EQ(policy.programs()[0].real_path, real("/bin/sh"));
  EXPECT_EQ(policy.programs()[1].real_path, real("/bin/ls"));
  ASSERT_EQ(policy.roots().size(), 1u);
  EXPECT_EQ(policy.roots()[0], work_);
}

// ---- shell mode and command patterns

TEST_F(CommandPolicyTest, WithoutShellACommandJobIsRefusedAndTheRefusalSaysToPassArgv) {
  auto policy = make({.shell = false});
  auto refused = policy.check(ShellJob("echo hi").candidate());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().rule, "shell: false");
  EXPECT_NE(refused.error().message.find("Pass argv: [\"program\""), std::string::npos)
      << refused.error().message;
  EXPECT_TRUE(policy.check(ArgvJob({"echo", "hi"}).candidate()));
}

TEST_F(CommandPolicyTest, ADeniedPatternMatchingAnywhereRefusesAndIsNamed) {
  auto policy = make({.denied_commands = {R"(\brm\b)", "shutdown"}});
  auto refused = policy.check(ShellJob("ls && rm -rf build").candidate());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().rule, R"(denied_commands: \brm\b)");
  EXPECT_NE(refused.error().message.find(R"(denied_commands pattern '\brm\b')"), std::string::npos)
      << refused.error().message;
  // argv jobs are matched on their quoted line.
  auto argv = policy.check(ArgvJob({"rm", "x"}).candidate());
  ASSERT_FALSE(argv);
  EXPECT_EQ(argv.error().rule, R"(denied_commands: \brm\b)");
  // Word boundaries do their job: "format" and "rmdir" are not "rm".
  EXPECT_TRUE(policy.check(ShellJob("echo format; rmdir x").candidate()));
}

TEST_F(CommandPolicyTest, AnAllowedPatternMustMatchTheWholeLine) {
  auto policy = make({.allowed_commands = {"git status", R"(make( -j\d+)?)"}});
  EXPECT_TRUE(policy.check(ShellJob("git status").candidate()));
  EXPECT_TRUE(policy.check(ShellJob("make -j2").candidate()));
  EXPECT_TRUE(policy.check(ArgvJob({"make", "-j4"}).candidate()));
  for (const char* line : {"git status; rm x", "git status && rm x", "echo; git status",
                           "git status\nrm x", "make -j2 $(rm x)"}) {
    auto refused = policy.check(ShellJob(line).candidate());
    ASSERT_FALSE(refused) << line;
    EXPECT_EQ(refused.error().rule, "allowed_commands") << line;
    EXPECT_NE(refused.error().message.find("whole line"), std::string::npos)
        << refused.error().message;
    EXPECT_NE(refused.error().message.find("'git status'"), std::string::npos)
        << refused.error().message;
  }
}

TEST_F(CommandPolicyTest, DeniedIsCheckedEvenWhenAnAllowedPatternMatches) {
  auto policy = make({.allowed_commands = {"git .*"}, .denied_commands = {"--force"}});
  auto refused = policy.check(ShellJob("git push --force").candidate());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().rule, "denied_commands: --force");
}

// ---- allowed programs

TEST_F(CommandPolicyTest, AnArgvJobsProgramIsResolvedAndMustBeAllowedByRealPath) {
  auto policy = make({.allowed_programs = {"echo", "/bin/true"}, .shell = false});
  auto echo = policy.check(ArgvJob({"echo", "hi"}).candidate());
  ASSERT_TRUE(echo) << echo.error().message;
  EXPECT_EQ(echo->program.path, real("/bin/echo").string());
  // The same program under its other name (/bin and /usr/bin are one directory here, or not).
  auto absolute = policy.check(ArgvJob({real("/bin/true").string()}).candidate());
  ASSERT_TRUE(absolute) << absolute.error().message;
  EXPECT_EQ(absolute->program.path, real("/bin/true").string());

  for (auto argv : {std::vector<std::string>{"env", "rm", "x"}, {"/bin/rm", "x"}, {"rm", "x"}}) {
    auto refused = policy.check(ArgvJob(argv).candidate());
    ASSERT_FALSE(refused) << argv[0];
    EXPECT_EQ(refused.error().rule, "allowed_programs");
    EXPECT_NE(refused.error().message.find("is not one of allowed_programs"), std::string::npos)
        << refused.error().message;
    EXPECT_NE(refused.error().message.find("echo ("), std::string::npos)
        << "the refusal lists what is allowed: " << refused.error().message;
  }
}

TEST_F(CommandPolicyTest, ALinkToAnAllowedProgramRunsTheCheckedProgramAndACopyIsRefused) {
  auto policy = make({.allowed_programs = {"echo"}, .shell = false});
  fs::path bin = dir_ / "bin";
  fs::create_directory(bin);
  // A PATH of the job's own, where "echo" is a link to echo: the real path is echo's, and that is
  // what runs.
  fs::create_symlink(real("/bin/echo"), bin / "echo");
  auto linked = policy.check(ArgvJob({"echo", "hi"}, {"PATH=" + bin.string()}).candidate());
  ASSERT_TRUE(linked) << linked.error().message;
  EXPECT_EQ(linked->program.path, real("/bin/echo").string());

  // "echo" as a link to rm, and as a copy of rm: neither is echo.
  fs::remove(bin / "echo");
  fs::create_symlink(real("/bin/rm"), bin / "echo");
  auto link_to_other = policy.check(ArgvJob({"echo", "x"}, {"PATH=" + bin.string()}).candidate());
  ASSERT_FALSE(link_to_other);
  EXPECT_EQ(link_to_other.error().rule, "allowed_programs");
  fs::remove(bin / "echo");
  fs::copy_file(real("/bin/rm"), bin / "echo");
  auto copy = policy.check(ArgvJob({"echo", "x"}, {"PATH=" + bin.string()}).candidate());
  ASSERT_FALSE(copy);
  EXPECT_EQ(copy.error().rule, "allowed_programs");
  EXPECT_NE(copy.error().message.find((bin / "echo").string()), std::string::npos)
      << "the refusal shows what the name resolved to: " << copy.error().message;
}

TEST_F(CommandPolicyTest, RelativeProgramPathsAndPathEntriesAreTakenFromTheJobsCwd) {
  auto policy = make({.allowed_programs = {"echo"}, .shell = false});
  fs::create_symlink(real("/bin/echo"), work_ / "sub" / "say");
  ArgvJob job({"./say", "hi"});
  job.cwd = "sub";
  auto relative = policy.check(job.candidate());
  ASSERT_TRUE(relative) << relative.error().message;
  EXPECT_EQ(relative->program.path, real("/bin/echo").string());

  ArgvJob on_path({"say"}, {"PATH=:/nonexistent"});  // the empty entry is the job's cwd
  on_path.cwd = "sub";
  auto found = policy.check(on_path.candidate());
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->program.path, real("/bin/echo").string());
}

TEST_F(CommandPolicyTest, AProgramThatDoesNotExistIsAnOrdinaryFailure) {
  auto policy = make({.allowed_programs = {"echo"}});
  auto missing = policy.check(ArgvJob({"no-such-program-mcpbg"}).candidate());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().rule, "");
  EXPECT_NE(missing.error().message.find("not found on PATH"), std::string::npos);
  auto absent = policy.check(ArgvJob({"/nonexistent/prog"}).candidate());
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().rule, "");
  EXPECT_NE(absent.error().message.find("does not exist"), std::string::npos)
      << absent.error().message;
}

TEST_F(CommandPolicyTest, ACommandJobNeedsShItselfAmongTheAllowedPrograms) {
  auto without_sh = make({.allowed_programs = {"echo"}});
  auto refused = without_sh.check(ShellJob("echo hi").candidate());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().rule, "allowed_programs");
  EXPECT_NE(refused.error().message.find("runs /bin/sh"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("Pass argv"), std::string::npos)
      << refused.error().message;

  auto with_sh = make({.allowed_programs = {"echo", "sh"}});
  auto approved = with_sh.check(ShellJob("echo hi").candidate());
  ASSERT_TRUE(approved) << approved.error().message;
  EXPECT_EQ(approved->program.path, real("/bin/sh").string());
}

TEST_F(CommandPolicyTest, WithoutAllowedProgramsNothingIsResolved) {
  auto policy = make({});
  auto approved = policy.check(ArgvJob({"anything-at-all"}).candidate());
  ASSERT_TRUE(approved) << approved.error().message;
  EXPECT_EQ(approved->program.path, "");  // spawning looks it up, and says if it is missing
}

// ---- loader variables

TEST_F(CommandPolicyTest, WithAllowedProgramsNoLoaderVariableReachesAJobUnlessNamed) {
  auto policy = make({.allowed_programs = {"echo"}, .shell = false});
  for (const char* entry :
       {"LD_PRELOAD=/tmp/evil.so", "LD_LIBRARY_PATH=/tmp", "LD_AUDIT=/x.so", "GCONV_PATH=/tmp",
        "GLIBC_TUNABLES=glibc.malloc.check=3", "LD_ANYTHING_NEW=1"}) {
    auto refused = policy.check(ArgvJob({"echo", "hi"}, {"PATH=/usr/bin:/bin", entry}).candidate());
    ASSERT_FALSE(refused) << entry;
    std::string name = std::string(entry).substr(0, std::string(entry).find('='));
    EXPECT_EQ(refused.error().rule, "allowed_loader_env: " + name);
    EXPECT_NE(refused.error().message.find("env sets " + name), std::string::npos)
        << refused.error().message;
    EXPECT_NE(refused.error().message.find("allowed_loader_env"), std::string::npos);
  }
  // Not loader variables: interpreters' own, TMPDIR, lower case, a name that merely contains LD_.
  for (const char* entry : {"PYTHONPATH=/tmp", "NODE_OPTIONS=--require=/x.js", "TMPDIR=/tmp",
                            "ld_preload=/x.so", "OLD_PATH=/x", "BUILD_DIR=/x"}) {
    EXPECT_TRUE(policy.check(ArgvJob({"echo", "hi"}, {entry}).candidate())) << entry;
  }
  EXPECT_FALSE(policy.loader_variable_allowed("LD_PRELOAD"));
  EXPECT_TRUE(policy.loader_variable_allowed("PATH"));

  auto named = make(
      {.allowed_programs = {"echo"}, .shell = false, .allowed_loader_env = {"LD_LIBRARY_PATH"}});
  EXPECT_TRUE(named.check(ArgvJob({"echo"}, {"LD_LIBRARY_PATH=/opt/lib"}).candidate()));
  EXPECT_FALSE(named.check(ArgvJob({"echo"}, {"LD_PRELOAD=/x.so"}).candidate()));
}

TEST_F(CommandPolicyTest, WithoutAllowedProgramsLoaderVariablesAreNoBoundaryToKeep) {
  // Any program may run, so a preloaded library runs nothing that could not run as a program.
  auto policy = make({});
  EXPECT_TRUE(policy.check(ArgvJob({"echo"}, {"LD_PRELOAD=/x.so"}).candidate()));
  EXPECT_TRUE(policy.loader_variable_allowed("LD_PRELOAD"));
}

TEST_F(CommandPolicyTest, AllowedLoaderEnvTakesOnlyLoaderVariables) {
  auto error = create_error({.allowed_loader_env = {"LD_PRELOAD", "PYTHONPATH"}});
  EXPECT_NE(error.find("allowed_loader_env: 'PYTHONPATH' is not a variable of the dynamic loader"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("GCONV_PATH"), std::string::npos) << error;
}

// ---- allowed roots

TEST_F(CommandPolicyTest, TheDefaultRootIsTheWorkingDirectory) {
  auto policy = make({});
  auto default_cwd = policy.resolve_cwd(std::nullopt);
  ASSERT_TRUE(default_cwd);
  EXPECT_EQ(default_cwd->real_path, work_);
  auto sub = policy.resolve_cwd("sub");
  ASSERT_TRUE(sub) << sub.error().message;
  EXPECT_EQ(sub->real_path, work_ / "sub");
  auto absolute_inside = policy.resolve_cwd((work_ / "sub").string());
  ASSERT_TRUE(absolute_inside);
  EXPECT_EQ(absolute_inside->real_path, work_ / "sub");
}

TEST_F(CommandPolicyTest, EscapesByDotDotSymlinkOrAbsolutePathAreRefused) {
  auto policy = make({});
  fs::create_directory(dir_ / "outside");
  fs::create_directory_symlink(dir_ / "outside", work_ / "sub" / "escape");
  fs::create_directory(dir_ / "workshop");  // a string prefix of "work", not inside it

  std::vector<std::string> escapes = {"..",
                                      "sub/../../outside",
                                      "sub/escape",
                                      (work_ / "sub" / "escape").string(),
                                      (dir_ / "outside").string(),
                                      (dir_ / "workshop").string(),
                                      "/"};
  for (const auto& cwd : escapes) {
    auto refused = policy.resolve_cwd(cwd);
    ASSERT_FALSE(refused) << cwd;
    EXPECT_EQ(refused.error().rule, "allowed_roots") << cwd;
    EXPECT_NE(refused.error().message.find("outside allowed_roots (" + work_.string() + ")"),
              std::string::npos)
        << refused.error().message;
  }
  // The refusal shows where a link really led.
  auto linked = policy.resolve_cwd("sub/escape");
  EXPECT_NE(linked.error().message.find("resolves to " + (dir_ / "outside").string()),
            std::string::npos)
      << linked.error().message;
  // ".." that stays inside is fine.
  auto back_inside = policy.resolve_cwd("sub/..");
  ASSERT_TRUE(back_inside);
  EXPECT_EQ(back_inside->real_path, work_);
}

TEST_F(CommandPolicyTest, SeveralRootsAndALinkBetweenThem) {
  fs::create_directory(dir_ / "other");
  fs::create_directory_symlink(dir_ / "other", work_ / "to-other");
  auto policy = make({.allowed_roots = {work_, dir_ / "other"}});
  auto through_link = policy.resolve_cwd("to-other");
  ASSERT_TRUE(through_link);
  EXPECT_EQ(through_link->real_path, dir_ / "other");  // the job runs in the real directory
}

TEST_F(CommandPolicyTest, ACwdThatDoesNotExistOrIsAFileIsAnOrdinaryFailure) {
  auto policy = make({});
  auto missing = policy.resolve_cwd("absent");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().rule, "");
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos);
  std::ofstream(work_ / "file") << "x";
  auto file = policy.resolve_cwd("file");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().rule, "");
  EXPECT_NE(file.error().message.find("not a directory"), std::string::npos);
}

TEST_F(CommandPolicyTest, AllowAllLetsAnythingRunAnywhere) {
  auto policy = CommandPolicy::allow_all(work_);
  auto approved = policy.check(ShellJob("rm -rf /nonexistent-mcpbg", "/").candidate());
  ASSERT_TRUE(approved) << approved.error().message;
  EXPECT_EQ(approved->cwd.real_path, fs::path("/"));
  EXPECT_EQ(approved->program.path, "");
}

}  // namespace
}  // namespace policy
