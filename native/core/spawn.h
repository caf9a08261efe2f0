// Starting a program without fork(): node's child_process forks, which copies the whole page
// table of the calling process while its thread waits (1 ms for a small node, about 30 ms per
// GiB it holds), in the middle of a restore whose tree waits on that thread.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace freezedry::core {

struct SpawnOptions {
  // fds[i] becomes fd i in the child; -1 (or an fd i beyond the list, up to 2) is /dev/null.
  // No other fd of ours reaches it.
  std::vector<int> fds;
  // In a session of its own (a helper that must outlive us and our terminal).
  bool new_session = false;
  // "NAME=value" entries; none: ours.
  std::optional<std::vector<std::string>> environment;
};

// Runs argv (argv[0] looked up on PATH) with default signal handling and no signal blocked:
// posix_spawn, which glibc does with vfork semantics, so the cost does not grow with our
// memory. The child is ours to reap.
Result<pid_t> Spawn(const std::vector<std::string>& argv, const SpawnOptions& options);

}  // namespace freezedry::core
