#include "mcp/tool.h"

namespace mcp {

Json Tool::definition() const {
  return Json{{"name", name},
              {"title", title},
              {"description", description},
              {"inputSchema", input_schema},
              {"outputSchema", output_schema},
              {"annotations", annotations}};
}

}  // namespace mcp
