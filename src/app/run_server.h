#pragma once
/// The whole server, from argv to exit status: main() calls it inside its last-resort catch.

namespace app {

/// Reads the settings, serves MCP on stdio or HTTP until stdin closes or SIGTERM/SIGINT, stops
/// every job, and returns the exit status (0; 2 for invalid settings; 1 for a start-up failure).
int run_server(int argc, char** argv);

}  // namespace app
