#pragma once
/// The server's log: spdlog to stderr (stdout belongs to the protocol), at the configured level.

#include "config/config.h"

namespace app {

// stdout belongs to the protocol: every log line goes to stderr.
void set_up_logging(config::LogLevel level);

}  // namespace app
