#pragma once
/// A keeper's copy of its job's output on disk (a store::OutputFile beside its socket, the same
/// head + tail rule and offsets as the job's log): what a job printed survives its keeper, so a
/// job that is lost (its keeper killed) still shows its output to the next server. The copy is
/// the raw bytes, as the keeper holds them in memory (0600 in the 0700 state directory); once the
/// job is over the history holds its output (redacted) and the file is removed.

#include <boost/asio/awaitable.hpp>
#include <memory>

#include "jobs/job.h"
#include "store/output_file.h"

namespace keeper {

/// Copies what `job` prints into `file` until its output ends, then marks the file closed.
boost::asio::awaitable<void> copy_output(std::shared_ptr<jobs::Job> job, store::OutputFile& file);

}  // namespace keeper
