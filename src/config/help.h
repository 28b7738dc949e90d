#pragma once
/// Inside config/ (and the settings doc's generator and test): the text --help prints around the
/// settings table, and docs/settings.md made from the same table.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace config {

struct Setting;

// Greedy word wrap; CLI11 indents the lines after a newline to the description column.
std::string wrap(std::string_view text, size_t width);

// A setting's description in --help: what it controls, what is allowed, its other names and
// default.
std::string describe(const Setting& setting);

// The paragraphs after the options in --help (precedence, the config file, units, the token),
// unwrapped.
std::vector<std::string> footer_paragraphs();

// footer_paragraphs() wrapped to the width of --help.
std::string footer();

/// docs/settings.md: the footer's paragraphs and a table of every setting, from the same table
/// --help prints.
std::string settings_markdown();

}  // namespace config
