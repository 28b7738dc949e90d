// Process-wide settings every test binary shares with the real server.
#include <csignal>

namespace {

// The server ignores SIGPIPE (app/run_server.cc) so that writing to a job that closed its stdin is
// an EPIPE error rather than the end of the server; the engine relies on that, so tests do too.
const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

}  // namespace
