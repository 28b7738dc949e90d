// mcp-background-job: an MCP server, spoken to over stdio (or Streamable HTTP with --http), that
// runs shell commands as background jobs. main() is the last-resort boundary around
// app::run_server, which wires the modules together (src/app/); see docs/ARCHITECTURE.md.
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "app/run_keeper.h"
#include "app/run_server.h"
#include "keeper/keepers.h"

// The outermost boundary: an exception that escapes everything else (out of memory, a bug) is
// logged and ends the server with a failure status instead of std::terminate's abort.
int main(int argc, char** argv) {
  try {
    // Started by a server as a persisted job's keeper (keeper/keepers.h), or as a server.
    if (std::getenv(keeper::kKeeperFdVariable) != nullptr) return app::run_keeper(argc, argv);
    return app::run_server(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mcp-background-job: fatal: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "mcp-background-job: fatal: unknown exception\n");
  }
  return 1;
}
