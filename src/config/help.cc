// The text --help prints around the settings table, and docs/settings.md made from the same table.
#include "config/help.h"

#include <sstream>
#include <vector>

#include "config/setting.h"

namespace config {

// Greedy word wrap; CLI11 indents the lines after a newline to the description column.
std::string wrap(std::string_view text, size_t width) {
  std::string out;
  size_t line_length = 0;
  std::istringstream words{std::string(text)};
  std::string word;
  while (words >> word) {
    if (line_length > 0 && line_length + 1 + word.size() > width) {
      out += '\n';
      line_length = 0;
    } else if (line_length > 0) {
      out += ' ';
      ++line_length;
    }
    out += word;
    line_length += word.size();
  }
  return out;
}

std::string describe(const Setting& setting) {
  const size_t width = kHelpWidth - kHelpColumn;
  return fmt::format("{}\n{}\n{}", wrap(setting.help, width),
                     wrap("allowed: " + setting.allowed, width),
                     wrap(fmt::format("env: {}, toml: {}, default: {}", setting.names.env_var,
                                      setting.names.key, setting.default_text),
                          width));
}

constexpr std::string_view kTokenHelp =
    "MCP_BG_AUTH_TOKEN (environment only; no flag, which would show in ps): the bearer token HTTP "
    "requests must carry, as the content of auth_token_file would be; set one or the other. A "
    "non-loopback http address is refused without one.";

std::vector<std::string> footer_paragraphs() {
  std::vector<std::string> paragraphs = {
      "Precedence: command-line flag > environment variable > config file > default. An invalid "
      "value is an error in any source, even one that a higher source overrides.",
      "Config file (TOML, optional): --config PATH or MCP_BG_CONFIG names it; otherwise "
      "$XDG_CONFIG_HOME/mcp-background-job/config.toml is read if it exists, else "
      "$HOME/.config/mcp-background-job/config.toml. Its keys are the toml names above; an "
      "unknown key is an error.",
      "Sizes: a number of bytes, or a number with a unit B, K/KB/KiB, M/MB/MiB, G/GB/GiB (any "
      "case, optional space, decimals allowed: 1.5M). Every unit is binary: 1K = 1KB = 1KiB = "
      "1024 bytes. In the config file a size may also be an integer (bytes).",
      "Durations: a number of seconds, or a number with a unit ms, s, m, h, d (500ms, 0.5s, "
      "1.5h). In the config file a duration may also be a number (seconds).",
  };
  // Apart from the list: a fifth literal in it trips clang-tidy's missing-comma heuristic.
  paragraphs.emplace_back(kTokenHelp);
  return paragraphs;
}

std::string footer() {
  std::string out;
  for (const std::string& paragraph : footer_paragraphs()) {
    if (!out.empty()) out += "\n\n";
    out += wrap(paragraph, kHelpWidth);
  }
  return out;
}

namespace {

// Text for a cell of a Markdown table: a '|' would end the cell.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string settings_markdown() {
  std::string out =
      "# Settings\n\n"
      "<!-- Generated from the settings table in src/config/settings_table.cc, the one --help "
      "prints: do not edit by hand. Run `make settings-doc` after changing the table; "
      "tests/unit/config/settings_doc_test.cc fails while this file differs. -->\n\n"
      "`mcp-background-job --help` prints the same settings. Every setting has a TOML key, a "
      "command-line flag and an environment variable.\n\n";
  out += "| TOML key | flag | environment | default | what it controls | allowed |\n";
  out += "|---|---|---|---|---|---|\n";
  for (const Setting& setting : settings()) {
    out += fmt::format("| `{}` | `{}` | `{}` | {} | {} | {} |\n", setting.names.key,
                       setting.names.flag, setting.names.env_var, cell(setting.default_text),
                       cell(setting.help), cell(setting.allowed));
  }
  for (const std::string& paragraph : footer_paragraphs()) out += "\n" + paragraph + "\n";
  return out;
}

}  // namespace config
