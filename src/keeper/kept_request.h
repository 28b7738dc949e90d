#pragma once
/// An execute request as a server hands it to the keeper it starts, and back: the keeper checks
/// it against the same settings (policy, confinement) and runs it, so the request travels, not
/// the server's decisions about it.

#include "jobs/job_manager.h"
#include "keeper/frames.h"

namespace keeper {

Json request_to_json(const jobs::ExecuteRequest& request);
base::Result<jobs::ExecuteRequest> request_from_json(const Json& json);

}  // namespace keeper
