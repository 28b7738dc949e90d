#include "mcp/tools/reading.h"

#include "mcp/tools/common.h"
#include "mcp/tools/redaction.h"

namespace mcp::tools {

Json read_result_schema(std::string_view position) {
  Json schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "output": {"type": "string"},
      "next_offset": {"type": "integer"},
      "total_bytes": {"type": "integer"},
      "dropped_bytes": {"type": "integer"},
      "truncated": {"type": "boolean"},
      "exit_code": {"type": ["integer", "null"]}
    },
    "required": ["output", "next_offset", "total_bytes", "dropped_bytes", "truncated",
                 "status", "exit_code"]
  })json");
  std::string name(position);
  schema["properties"][name] = Json{{"type", "integer"}};
  auto& required = schema["required"];
  required.insert(required.begin() + 1, name);
  schema["properties"]["status"] = status_schema();
  schema["properties"]["matches"] = matches_schema();
  return schema;
}

base::Result<GrepInput> grep_input(const Json& arguments, const ToolContext& context,
                                   const jobs::OutputLog& log, jobs::StreamFilter filter,
                                   uint64_t from) {
  GrepInput input;
  if (auto problem = compile_pattern("grep", arguments["grep"].get<std::string>(), input.pattern)) {
    return base::fail(*problem);
  }
  input.lines = collect_lines(log, from, log.total_bytes(), filter);
  redact_lines(context.redactor, log, filter, input.lines);
  input.context = arguments.value<size_t>("context", 0);
  return input;
}

Json window_result(const ToolContext& context, jobs::Job& job, jobs::StreamFilter filter,
                   const jobs::OutputLog::Window& window) {
  job.note_shown(window.to);
  Json result{{"next_offset", window.to}, {"truncated", window.truncated}};
  result["output"] = shown_output(context.redactor, job.output(), filter, window);
  add_output_state(result, job);
  return result;
}

Json grep_result(const GrepResult& found, const jobs::Job& job) {
  Json result{{"output", output_text(found.text)},
              {"truncated", found.truncated},
              {"matches", matches_json(found.matches)}};
  add_output_state(result, job);
  return result;
}

}  // namespace mcp::tools
