#pragma once
/// What may run and where: the operator's command patterns, shell mode, allowed programs and
/// allowed roots, compiled once at start-up and checked before any job is spawned. Immutable after
/// create(); nothing a client sends can change it. Used by jobs::JobManager::execute (which knows
/// nothing of MCP) and, read-only, by whatever shows the policy to clients.
///
/// How much each check stops (docs/security.md says the same):
///  - allowed_commands / denied_commands are RE2 patterns over a command *line*. Over a shell line
///    they are a convenience, not a boundary: the shell reads the line differently from a pattern
///    (r''m, $(...), backticks, sh -c, env rm, /bin/rm, variables, globs all say "rm" without the
///    letters "rm" in a row). They catch honest mistakes, not an adversary.
///  - shell = false plus allowed_programs is the boundary for *what program starts*: no shell
///    reads the line, argv[0] is resolved to a real path and compared with the allowed programs'
///    real paths, and exactly that checked path is executed.
///  - While allowed_programs is set, a job's environment carries no variable of the dynamic loader
///    (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, GCONV_PATH...) that the operator did not name in
///    allowed_loader_env: those would run code of the caller's choosing inside the allowed program.
///  - The cwd and the program are each opened once and checked through the descriptor, which
///    the job then uses (fchdir, execveat), so nothing renamed or swapped for a symlink between
///    the check and the start changes where the job starts or what it executes.
///  - allowed_roots confines the directory a job *starts in*. A shell job can still `cd` anywhere,
///    and any program can open any path it names: confinement of writes is the sandbox's job.

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace re2 {
class RE2;
}

namespace policy {

/// The settings this policy is built from (the names are the configuration's).
struct CommandRules {
  // RE2 patterns; when non-empty, the whole command line must match one of them.
  std::vector<std::string> allowed_commands;
  // RE2 patterns; a match anywhere in the command line refuses the job.
  std::vector<std::string> denied_commands;
  // Bare names (looked up on the server's PATH at start-up) or absolute paths; when non-empty, a
  // job's program must be one of them, compared by real path.
  std::vector<std::string> allowed_programs;
  // False: only argv jobs are accepted; `command` jobs (run by /bin/sh -c) are refused.
  bool shell = true;
  // Directories a job's cwd must lie inside, compared by real path. Empty: the working directory.
  std::vector<std::filesystem::path> allowed_roots;
  // Loader variables (see policy::is_loader_variable) a job's environment may still carry while
  // allowed_programs is set; each entry must be one of them.
  std::vector<std::string> allowed_loader_env;
};

/// What a job asks to run, as the policy sees it. Views into the caller's request.
struct Candidate {
  std::optional<std::string_view> command;  // A shell job's line; nullopt for an argv job.
  std::span<const std::string> argv;        // An argv job's program and arguments.
  std::string_view command_line;            // `command`, or argv quoted as a shell would read it.
  std::optional<std::string_view> cwd;      // As asked; relative to the working directory.
  // The job's whole environment ("NAME=value"), as it will be given to the job: its PATH is the
  // one argv[0] is looked up on.
  std::span<const std::string> env;
};

/// The job's directory as checked: opened once, its real path read from the descriptor.
struct CheckedDirectory {
  std::filesystem::path real_path;
  // An O_PATH descriptor of that very directory: the job changes into it (fchdir), so a name
  // swapped for a symlink after the check cannot move the job elsewhere.
  base::UniqueFd fd;
};

/// The program as checked against allowed_programs.
struct CheckedProgram {
  // The real path of the file that was checked. The caller must not look the program up again.
  std::string path;
  // An O_PATH descriptor of that very file when it is an ELF binary, which the job executes
  // (execveat): a directory on its path swapped for a symlink after the check changes nothing.
  // Unset for a script (#!), which is executed by `path`: its interpreter opens it again by name.
  base::UniqueFd fd;
};

/// What the policy approved: where the job runs, and what to exec.
struct Approval {
  CheckedDirectory cwd;
  // Its path is empty when any program may run: spawning looks argv[0] up as usual.
  CheckedProgram program;
};

/// One allowed_programs entry as configured, and the real path it stands for.
struct AllowedProgram {
  std::string entry;
  std::filesystem::path real_path;
};

class CommandPolicy {
 public:
  /// Compiles the patterns, resolves allowed_programs on `server_path` (the server's own PATH) to
  /// real paths, and allowed_roots to real paths. Every error names the setting and the entry
  /// that is wrong and says what to do instead; the server must not start with it.
  static base::Result<CommandPolicy> create(CommandRules rules,
                                            const std::filesystem::path& working_dir,
                                            std::string_view server_path);

  /// A policy that lets anything run anywhere (no patterns, any program, root "/"): what an engine
  /// gets when it is given none.
  static CommandPolicy allow_all(const std::filesystem::path& working_dir);

  CommandPolicy(CommandPolicy&&) noexcept;
  CommandPolicy& operator=(CommandPolicy&&) noexcept;
  ~CommandPolicy();

  /// Every check, in order: shell mode, command patterns, loader variables, cwd, program. A refusal
  /// is a base::deny(message, rule) whose rule names the setting (and the pattern) that decided; a
  /// cwd or program that does not exist is an ordinary failure.
  base::Result<Approval> check(const Candidate& candidate) const;

  /// Shell mode and the command patterns only.
  base::Result<void> check_command(const Candidate& candidate) const;
  /// The job's environment: no loader variable the operator did not allow (see CommandRules).
  base::Result<void> check_environment(const Candidate& candidate) const;
  /// Whether a job may carry the variable `name`: always, unless allowed_programs is set and it is
  /// a loader variable not named in allowed_loader_env. The engine also drops such variables from
  /// what jobs inherit of the server's environment.
  bool loader_variable_allowed(std::string_view name) const;
  /// The job's directory: `asked` (relative to the working directory; unset: the working
  /// directory), opened, and the real path it was opened at, which must lie inside one of the
  /// allowed roots.
  base::Result<CheckedDirectory> resolve_cwd(std::optional<std::string_view> asked) const;
  /// What to exec for `candidate` run in the directory `cwd` (see Approval::program).
  base::Result<CheckedProgram> resolve_program(const Candidate& candidate,
                                               const std::filesystem::path& cwd) const;

  const CommandRules& rules() const { return rules_; }
  const std::vector<std::filesystem::path>& roots() const { return roots_; }
  const std::vector<AllowedProgram>& programs() const { return programs_; }

 private:
  CommandPolicy() = default;
  base::Result<CheckedProgram> open_checked(const std::filesystem::path& found,
                                            const std::string& name) const;

  CommandRules rules_;
  std::filesystem::path working_dir_;
  std::string server_path_;
  std::vector<std::unique_ptr<re2::RE2>> allowed_;
  std::vector<std::unique_ptr<re2::RE2>> denied_;
  std::vector<AllowedProgram> programs_;
  std::vector<std::filesystem::path> roots_;  // Real paths.
  std::filesystem::path shell_real_path_;     // Of /bin/sh, which runs `command` jobs.
  bool shell_allowed_ = false;                // /bin/sh's real path is among programs_.
};

}  // namespace policy
