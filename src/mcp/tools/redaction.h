#pragma once
/// What a client is shown of a job's output and command line: valid UTF-8, and, when the server
/// redacts (setting `redact`, on by default), every secret replaced by [REDACTED]. Only text
/// changes: offsets in results keep counting the job's raw bytes. Every tool and resource that
/// returns output goes through here.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/output_log.h"
#include "mcp/tools/lines.h"
#include "policy/redactor.h"

namespace mcp::tools {

/// Output looked at on each side of what is shown, and never returned, so that a secret cut by
/// the edge of a page is still recognised: a private key block (a few KiB at most) whose BEGIN
/// line lies before the page, or a token split by max_bytes. It never reaches across the
/// dropped middle.
inline constexpr uint64_t kRedactionContext = uint64_t{16} * 1024;

/// The one render of job output: the kept output of `filter` in [from, to), redacted and made
/// valid UTF-8, appended to `out`. `redactor` may be null (redaction off). Without a redactor the
/// log's bytes are encoded straight into `out` when they lie in one piece of memory.
void append_shown_output(std::string& out, const policy::Redactor* redactor,
                         const jobs::OutputLog& log, jobs::StreamFilter filter, uint64_t from,
                         uint64_t to);

/// The same, as a string of its own.
std::string shown_output(const policy::Redactor* redactor, const jobs::OutputLog& log,
                         jobs::StreamFilter filter, uint64_t from, uint64_t to);
/// A window of the log (OutputLog::read_window, tail_window), as shown.
std::string shown_output(const policy::Redactor* redactor, const jobs::OutputLog& log,
                         jobs::StreamFilter filter, const jobs::OutputLog::Window& window);

/// Redacts consecutive `lines` of `filter` (as collect_lines returns them) in place, offsets
/// unchanged; a secret spanning lines (a key block) is found too. The text stays bytes, to be
/// sanitised when shown. Does nothing without a redactor.
void redact_lines(const policy::Redactor* redactor, const jobs::OutputLog& log,
                  jobs::StreamFilter filter, std::vector<Line>& lines);

/// A job's command line or label as shown: agents paste tokens into commands too.
std::string shown_command(const policy::Redactor* redactor, std::string_view command);

}  // namespace mcp::tools
