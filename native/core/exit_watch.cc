#include "core/exit_watch.h"

#include <sys/syscall.h>
#include <sys/wait.h>

#include <cerrno>
#include <string>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434  // Linux 5.3, the same number on every architecture
#endif
#ifndef P_PIDFD
#define P_PIDFD 3  // Linux 5.4
#endif

namespace freezedry::core {

Result<UniqueFd> OpenPidfd(pid_t pid) {
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return LastError("pidfd_open", std::to_string(pid));
  return UniqueFd(static_cast<int>(fd));
}

Result<std::optional<ExitStatus>> WaitForExit(int pidfd, const WakeEvent& wake) {
  auto readable = WaitReadable(pidfd, wake);
  if (!readable.Ok()) return readable.Error();
  if (!readable.Value()) return std::optional<ExitStatus>();
  siginfo_t info{};
  ExitStatus status;
  int rc;
  do {
    rc = ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    if (errno == ECHILD) return std::optional<ExitStatus>(status);  // exited, not ours to reap
    return LastError("waitid");
  }
  status.reaped = true;
  if (info.si_code == CLD_EXITED) {
    status.code = info.si_status;
  } else {
    status.signal = info.si_status;
  }
  return std::optional<ExitStatus>(status);
}

}  // namespace freezedry::core
