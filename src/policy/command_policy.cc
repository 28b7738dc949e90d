#include "policy/command_policy.h"

#include <fmt/format.h>
#include <re2/re2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <system_error>

#include "base/paths.h"
#include "policy/environment.h"
#include "sys/path_fd.h"
#include "sys/program_path.h"

namespace policy {
namespace {

namespace fs = std::filesystem;

// What runs `command` jobs (jobs::JobManager builds {"/bin/sh", "-c", command}).
constexpr const char* kShell = "/bin/sh";

// Every refusal starts the same way, so that a model reading it knows this is the operator's
// decision and not a fault it can fix by retrying.
constexpr std::string_view kRefused = "refused by the operator's policy: ";

base::Result<std::vector<std::unique_ptr<re2::RE2>>> compile_all(
    std::string_view setting, const std::vector<std::string>& patterns) {
  std::vector<std::unique_ptr<re2::RE2>> compiled;
  re2::RE2::Options options;
  options.set_log_errors(false);  // The error is reported once, by the caller, with the setting.
  for (const auto& pattern : patterns) {
    auto re = std::make_unique<re2::RE2>(pattern, options);
    if (!re->ok()) {
      return base::fail(
          fmt::format("{}: '{}' is not a valid RE2 pattern: {}. Fix or remove it (RE2 syntax: "
                      "https://github.com/google/re2/wiki/Syntax)",
                      setting, pattern, re->error()));
    }
    compiled.push_back(std::move(re));
  }
  return compiled;
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += fmt::format("'{}'", item);
  }
  return out;
}

std::string describe_programs(const std::vector<AllowedProgram>& programs) {
  std::string out;
  for (const auto& program : programs) {
    if (!out.empty()) out += ", ";
    if (program.entry == program.real_path.string()) {
      out += program.entry;
    } else {
      out += fmt::format("{} ({})", program.entry, program.real_path.string());
    }
  }
  return out;
}

std::string loader_variable_list() {
  std::string out;
  for (std::string_view name : kLoaderVariables) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

std::string describe_roots(const std::vector<fs::path>& roots) {
  std::string out;
  for (const auto& root : roots) {
    if (!out.empty()) out += ", ";
    out += root.string();
  }
  return out;
}

base::Result<AllowedProgram> resolve_allowed_program(const std::string& entry,
                                                     std::string_view server_path) {
  constexpr std::string_view kWhat = "allowed_programs";
  if (entry.empty()) {
    return base::fail(
        fmt::format("{}: an entry is empty; give a program name or an absolute path", kWhat));
  }
  if (entry.find('/') != std::string::npos && !entry.starts_with('/')) {
    return base::fail(fmt::format(
        "{}: '{}' is a relative path; give a bare name (looked up on the server's PATH) or an "
        "absolute path",
        kWhat, entry));
  }
  auto found = sys::resolve_program(entry, server_path);
  if (!found) {
    return base::fail(fmt::format(
        "{}: '{}' is not found on the server's PATH ({}); install it, give its absolute path, or "
        "remove it from the list",
        kWhat, entry, server_path));
  }
  std::error_code ec;
  fs::path real = fs::canonical(*found, ec);
  if (ec) {
    return base::fail(fmt::format("{}: '{}' cannot be resolved ({}); give an existing program",
                                  kWhat, entry, ec.message()));
  }
  struct stat st {};
  if (::stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || ::access(real.c_str(), X_OK) != 0) {
    std::string shown = real.string() == entry ? fmt::format("'{}'", entry)
                                               : fmt::format("'{}' ({})", entry, real.string());
    return base::fail(
        fmt::format("{}: {} is not an executable file; give a program", kWhat, shown));
  }
  return AllowedProgram{entry, std::move(real)};
}

}  // namespace

CommandPolicy::CommandPolicy(CommandPolicy&&) noexcept = default;
CommandPolicy& CommandPolicy::operator=(CommandPolicy&&) noexcept = default;
CommandPolicy::~CommandPolicy() = default;

base::Result<CommandPolicy> CommandPolicy::create(CommandRules rules, const fs::path& working_dir,
                                                  std::string_view server_path) {
  CommandPolicy policy;
  policy.working_dir_ = working_dir;
  policy.server_path_ = std::string(server_path);

  auto allowed = compile_all("allowed_commands", rules.allowed_commands);
  if (!allowed) return tl::unexpected(allowed.error());
  policy.allowed_ = std::move(*allowed);
  auto denied = compile_all("denied_commands", rules.denied_commands);
  if (!denied) return tl::unexpected(denied.error());
  policy.denied_ = std::move(*denied);

  // NOTE for operators: allowing a program that runs other programs allows everything those can
  // run. sh, bash, env, xargs, find (-exec), make, npm/npx, python, perl, node, git (aliases,
  // hooks), ssh, sudo... each turns one allowed name into any program at all. The check is only
  // as narrow as the list.
  for (const auto& entry : rules.allowed_programs) {
    auto program = resolve_allowed_program(entry, server_path);
    if (!program) return tl::unexpected(program.error());
    policy.programs_.push_back(std::move(*program));
  }
  std::error_code ec;
  policy.shell_real_path_ = fs::canonical(kShell, ec);
  if (ec) policy.shell_real_path_ = kShell;
  policy.shell_allowed_ =
      std::any_of(policy.programs_.begin(), policy.programs_.end(),
                  [&](const AllowedProgram& p) { return p.real_path == policy.shell_real_path_; });

  for (const auto& name : rules.allowed_loader_env) {
    if (!is_loader_variable(name)) {
      return base::fail(fmt::format(
          "allowed_loader_env: '{}' is not a variable of the dynamic loader (LD_*, {}); only "
          "those are withheld from jobs, so only those need allowing. Remove it",
          name, loader_variable_list()));
    }
  }

  if (rules.allowed_roots.empty()) rules.allowed_roots.push_back(working_dir);
  for (const auto& root : rules.allowed_roots) {
    if (!root.is_absolute()) {
      return base::fail(fmt::format("allowed_roots: '{}' is a relative path; give an absolute path",
                                    root.string()));
    }
    fs::path real = fs::canonical(root, ec);
    if (ec || !fs::is_directory(real, ec)) {
      return base::fail(fmt::format(
          "allowed_roots: '{}' is not an existing directory; create it, or remove it from the list",
          root.string()));
    }
    policy.roots_.push_back(std::move(real));
  }
  policy.rules_ = std::move(rules);
  return policy;
}

CommandPolicy CommandPolicy::allow_all(const fs::path& working_dir) {
  CommandRules rules;
  rules.allowed_roots = {"/"};
  CommandPolicy policy;
  policy.working_dir_ = working_dir;
  policy.roots_ = {"/"};
  policy.shell_real_path_ = kShell;
  policy.rules_ = std::move(rules);
  return policy;
}

base::Result<Approval> CommandPolicy::check(const Candidate& candidate) const {
  if (auto checked = check_command(candidate); !checked) return tl::unexpected(checked.error());
  if (auto checked = check_environment(candidate); !checked) {
    return tl::unexpected(checked.error());
  }
  auto cwd = resolve_cwd(candidate.cwd);
  if (!cwd) return tl::unexpected(cwd.error());
  auto program = resolve_program(candidate, cwd->real_path);
  if (!program) return tl::unexpected(program.error());
  return Approval{std::move(*cwd), std::move(*program)};
}

base::Result<void> CommandPolicy::check_command(const Candidate& candidate) const {
  if (candidate.command && !rules_.shell) {
    return base::deny(
        fmt::format("{}this server runs programs only through argv (shell = false), so 'command' "
                    "is not accepted. Pass argv: [\"program\", \"arg\", ...] instead; no shell "
                    "reads it, so pipes, redirections, && and $VAR are not available",
                    kRefused),
        "shell: false");
  }
  for (const auto& re : denied_) {
    if (re2::RE2::PartialMatch(candidate.command_line, *re)) {
      return base::deny(
          fmt::format("{}the command line matches denied_commands pattern '{}'. Do without that "
                      "command, or ask the user to change the server's denied_commands",
                      kRefused, re->pattern()),
          fmt::format("denied_commands: {}", re->pattern()));
    }
  }
  if (!allowed_.empty()) {
    bool matched = std::any_of(allowed_.begin(), allowed_.end(), [&](const auto& re) {
      return re2::RE2::FullMatch(candidate.command_line, *re);
    });
    if (!matched) {
      return base::deny(
          fmt::format("{}the command line matches none of allowed_commands ({}); one of them must "
                      "match the whole line, so nothing may be chained after an allowed command. "
                      "Run a command of one of those forms, or ask the user to extend "
                      "allowed_commands",
                      kRefused, quoted_list(rules_.allowed_commands)),
          "allowed_commands");
    }
  }
  return {};
}

bool CommandPolicy::loader_variable_allowed(std::string_view name) const {
  if (programs_.empty() || !is_loader_variable(name)) return true;
  return std::find(rules_.allowed_loader_env.begin(), rules_.allowed_loader_env.end(), name) !=
         rules_.allowed_loader_env.end();
}

base::Result<void> CommandPolicy::check_environment(const Candidate& candidate) const {
  // The loader reads these before the program's first instruction: LD_PRELOAD=/tmp/x.so makes
  // an allowed program run x.so's constructors, so "which program starts" would mean nothing.
  for (std::string_view entry : candidate.env) {
    std::string_view name = entry.substr(0, entry.find('='));
    if (loader_variable_allowed(name)) continue;
    return base::deny(
        fmt::format("{}env sets {}, which the dynamic loader reads to load code into the program "
                    "(it would run code of the caller's choosing inside an allowed program), so "
                    "it is not passed to jobs while allowed_programs is set. Run the job without "
                    "it, or ask the user to name it in allowed_loader_env",
                    kRefused, name),
        fmt::format("allowed_loader_env: {}", name));
  }
  return {};
}

base::Result<CheckedDirectory> CommandPolicy::resolve_cwd(
    std::optional<std::string_view> asked) const {
  fs::path wanted = working_dir_;
  if (asked) {
    fs::path given(*asked);
    wanted = given.is_absolute() ? given : working_dir_ / given;
  }
  // Opened once, every symlink followed and every ".." applied, as the kernel will when the job
  // starts there; the path compared is the one the kernel gives for the descriptor, and the job
  // changes into the descriptor. Comparing a name and then changing into it by name would let
  // a link swapped in between lead outside the roots.
  auto opened = sys::open_directory(wanted);
  if (!opened) {
    int error = opened.error().sys_errno;
    if (error == ENOENT) {
      return base::fail(fmt::format("cwd '{}' does not exist", wanted.string()), ENOENT);
    }
    if (error == ENOTDIR) {
      return base::fail(fmt::format("cwd '{}' is not a directory", wanted.string()), ENOTDIR);
    }
    return base::fail(
        fmt::format("cwd '{}' cannot be opened: {}", wanted.string(), std::strerror(error)), error);
  }
  auto real = sys::real_path_of(opened->get());
  if (!real) {
    return base::fail(
        fmt::format("cwd '{}' cannot be resolved: {}", wanted.string(), real.error().message),
        real.error().sys_errno);
  }
  bool inside = std::any_of(roots_.begin(), roots_.end(),
                            [&](const fs::path& root) { return base::path_inside(*real, root); });
  if (!inside) {
    std::string given = asked ? std::string(*asked) : working_dir_.string();
    std::string shown = *real == fs::path(given)
                            ? fmt::format("cwd '{}'", given)
                            : fmt::format("cwd '{}' (resolves to {})", given, real->string());
    return base::deny(
        fmt::format("{}{} is outside allowed_roots ({}). Run the job in a directory inside one of "
                    "them (a relative cwd starts at {})",
                    kRefused, shown, describe_roots(roots_), working_dir_.string()),
        "allowed_roots");
  }
  return CheckedDirectory{std::move(*real), std::move(*opened)};
}

base::Result<CheckedProgram> CommandPolicy::resolve_program(const Candidate& candidate,
                                                            const fs::path& cwd) const {
  if (programs_.empty()) return CheckedProgram{};
  if (candidate.command) {
    // A shell job runs /bin/sh, and a shell runs anything: allowed only if the operator allowed sh
    // itself (which then allows every program; see create()).
    if (!shell_allowed_) {
      return base::deny(
          fmt::format("{}a 'command' job runs {} ({}), which is not one of allowed_programs ({}). "
                      "Pass argv: [\"program\", \"arg\", ...] naming one of those programs instead",
                      kRefused, kShell, shell_real_path_.string(), describe_programs(programs_)),
          "allowed_programs");
    }
    return open_checked(shell_real_path_, shell_real_path_.string());
  }
  if (candidate.argv.empty()) return base::fail("nothing to run: argv is empty");
  const std::string& name = candidate.argv.front();

  // Looked up as the job would: on the PATH of its own environment (the server's when it has
  // none), relative entries taken from its cwd.
  std::string_view path_value = server_path_;
  for (const auto& entry : candidate.env) {
    if (entry.starts_with("PATH=")) {
      path_value = std::string_view(entry).substr(5);
      break;
    }
  }
  auto found = sys::resolve_program(name, path_value, cwd);
  if (!found) return tl::unexpected(found.error());
  return open_checked(*found, name);
}

// Opens `found` once and checks the file the descriptor refers to, by its real path: the job
// then executes that descriptor (an ELF binary), or that real path (a script), so neither a
// symlink changed nor a directory swapped after this check can change what runs.
base::Result<CheckedProgram> CommandPolicy::open_checked(const fs::path& found,
                                                         const std::string& name) const {
  auto opened = sys::open_file(found);
  if (!opened) {
    int error = opened.error().sys_errno;
    if (error == ENOENT) {
      return base::fail(fmt::format("program '{}' does not exist", found.string()), ENOENT);
    }
    return base::fail(fmt::format("program '{}' ({}) cannot be opened: {}", name, found.string(),
                                  std::strerror(error)),
                      error);
  }
  auto real = sys::real_path_of(opened->get());
  if (!real) {
    return base::fail(fmt::format("program '{}' ({}) cannot be resolved: {}", name, found.string(),
                                  real.error().message),
                      real.error().sys_errno);
  }
  bool allowed = std::any_of(programs_.begin(), programs_.end(),
                             [&](const AllowedProgram& p) { return p.real_path == *real; });
  if (!allowed) {
    std::string shown = real->string() == name
                            ? fmt::format("program '{}'", name)
                            : fmt::format("program '{}' ({})", name, real->string());
    return base::deny(
        fmt::format("{}{} is not one of allowed_programs ({}); programs are compared by real "
                    "path, so another name, a copy or a link elsewhere does not count. Run one of "
                    "those programs",
                    kRefused, shown, describe_programs(programs_)),
        "allowed_programs");
  }
  CheckedProgram checked{real->string(), {}};
  if (sys::is_regular_file(opened->get()) && sys::is_elf_executable(opened->get())) {
    checked.fd = std::move(*opened);
  }
  return checked;
}

}  // namespace policy
