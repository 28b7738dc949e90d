#include "keeper/kept_request.h"

namespace keeper {

Json request_to_json(const jobs::ExecuteRequest& request) {
  Json json;
  if (request.command) json["command"] = *request.command;
  json["argv"] = request.argv;
  if (request.cwd) json["cwd"] = *request.cwd;
  json["env"] = request.env;
  json["label"] = request.label;
  if (request.timeout) json["timeout_ms"] = request.timeout->count();
  if (request.terminal) {
    json["terminal"] = {{"cols", request.terminal->cols}, {"rows", request.terminal->rows}};
  }
  json["separate_streams"] = request.streams == sys::OutputStreams::kSeparate;
  json["priority"] = request.priority;
  const auto& limits = request.confinement.limits;
  json["limits"] = {{"cpu_seconds", limits.cpu_seconds},
                    {"memory_bytes", limits.memory_bytes},
                    {"address_space_bytes", limits.address_space_bytes},
                    {"processes", limits.processes},
                    {"open_files", limits.open_files},
                    {"file_size_bytes", limits.file_size_bytes}};
  if (request.confinement.sandbox) json["sandbox"] = *request.confinement.sandbox;
  if (request.confinement.network) json["network"] = *request.confinement.network;
  json["client"] = request.owner.client;
  json["session"] = request.owner.session;
  return json;
}

base::Result<jobs::ExecuteRequest> request_from_json(const Json& json) {
  try {
    jobs::ExecuteRequest request;
    if (json.contains("command")) request.command = json["command"].get<std::string>();
    request.argv = json.at("argv").get<std::vector<std::string>>();
    if (json.contains("cwd")) request.cwd = json["cwd"].get<std::string>();
    request.env = json.at("env").get<std::map<std::string, std::string>>();
    request.label = json.at("label").get<std::string>();
    if (json.contains("timeout_ms")) {
      request.timeout = std::chrono::milliseconds(json["timeout_ms"].get<int64_t>());
    }
    if (json.contains("terminal")) {
      request.terminal = sys::TerminalSize{json["terminal"].at("cols").get<int>(),
                                           json["terminal"].at("rows").get<int>()};
    }
    if (json.at("separate_streams").get<bool>()) request.streams = sys::OutputStreams::kSeparate;
    request.priority = json.at("priority").get<int>();
    const Json& limits = json.at("limits");
    auto& asked = request.confinement.limits;
    asked.cpu_seconds = limits.at("cpu_seconds").get<uint64_t>();
    asked.memory_bytes = limits.at("memory_bytes").get<uint64_t>();
    asked.address_space_bytes = limits.at("address_space_bytes").get<uint64_t>();
    asked.processes = limits.at("processes").get<int>();
    asked.open_files = limits.at("open_files").get<int>();
    asked.file_size_bytes = limits.at("file_size_bytes").get<uint64_t>();
    if (json.contains("sandbox")) request.confinement.sandbox = json["sandbox"].get<bool>();
    if (json.contains("network")) request.confinement.network = json["network"].get<bool>();
    request.owner.client = json.at("client").get<std::string>();
    request.owner.session = json.at("session").get<std::string>();
    return request;
  } catch (const Json::exception& e) {
    return base::fail(std::string("the keeper's request is not what this build writes: ") +
                      e.what());
  }
}

}  // namespace keeper
