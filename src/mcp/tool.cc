#include "mcp/tool.h"

namespace mcp {

Json Tool::definition() const {
  Json definition{{"name", name},
                  {"title", title},
                  {"description", description},
                  {"inputSchema", input_schema},
                  {"outputSchema", output_schema},
                  {"annotations", annotations}};
  if (!task_support.empty()) definition["execution"] = {{"taskSupport", task_support}};
  return definition;
}

}  // namespace mcp
