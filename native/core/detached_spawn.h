// Starting a helper that outlives us, without fork(): node's child_process forks, which copies
// the whole page table of the calling process while its thread waits (1 ms for a small node,
// about 30 ms per GiB it holds), in the middle of a restore whose tree waits on that thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/result.h"

namespace freezedry::core {

// Runs argv (argv[0] looked up on PATH) in a session of its own, stdio on /dev/null, no fd of
// ours beyond those, default signal handling: posix_spawn, which glibc does with vfork
// semantics, so the cost does not grow with our memory. The caller reaps it (it is our child).
Result<pid_t> SpawnDetached(const std::vector<std::string>& argv);

}  // namespace freezedry::core
