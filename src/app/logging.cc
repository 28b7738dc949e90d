#include "app/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace app {
namespace {

spdlog::level::level_enum to_spdlog(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::kTrace:
      return spdlog::level::trace;
    case config::LogLevel::kDebug:
      return spdlog::level::debug;
    case config::LogLevel::kInfo:
      return spdlog::level::info;
    case config::LogLevel::kWarn:
      return spdlog::level::warn;
    case config::LogLevel::kError:
      return spdlog::level::err;
    case config::LogLevel::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

}  // namespace

void set_up_logging(config::LogLevel level) {
  auto logger = spdlog::stderr_logger_st("mcp-background-job");
  logger->set_pattern("[%Y-%m-%dT%H:%M:%S.%e] [mcp-background-job] [%l] %v");
  logger->set_level(to_spdlog(level));
  spdlog::set_default_logger(logger);
}

}  // namespace app
