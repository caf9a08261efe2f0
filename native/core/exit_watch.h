// Waiting for one process to exit through a pidfd: only that process is reaped, so libuv's
// own children are left alone.
#pragma once

#include <sys/types.h>

#include <optional>

#include "core/result.h"
#include "core/unique_fd.h"
#include "core/wake_event.h"

namespace freezedry::core {

struct ExitStatus {
  bool reaped = false;  // false when the process was not our child (its parent reaped it)
  int code = -1;        // exit code, when it exited normally and it is known
  int signal = 0;       // the signal that ended it, when it was killed
};

Result<UniqueFd> OpenPidfd(pid_t pid);

// Blocks until the process exits (std::nullopt when woken first). For a process that is not
// our child, the status is read once its parent reaped it (Linux 6.15's PIDFD_GET_INFO; on
// older kernels, or if it is not reaped within a second, code stays -1 and signal 0).
Result<std::optional<ExitStatus>> WaitForExit(int pidfd, const WakeEvent& wake);

}  // namespace freezedry::core
