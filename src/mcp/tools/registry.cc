// The tools, in the order tools/list shows them.
#include "mcp/tools/common.h"

namespace mcp {

std::vector<Tool> make_tools(const ToolLimits& limits) {
  return {tools::make_execute_tool(limits),  tools::make_list_tool(limits),
          tools::make_status_tool(limits),   tools::make_output_tool(limits),
          tools::make_tail_tool(limits),     tools::make_wait_tool(limits),
          tools::make_interact_tool(limits), tools::make_kill_tool(limits),
          tools::make_policy_tool(limits)};
}

}  // namespace mcp
