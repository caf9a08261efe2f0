#include "core/exit_watch.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434  // Linux 5.3, the same number on every architecture
#endif
#ifndef P_PIDFD
#define P_PIDFD 3  // Linux 5.4
#endif

namespace freezedry::core {

namespace {

// Linux 6.15 <linux/pidfd.h>, which Debian 12's headers predate.
struct PidfdInfo {
  uint64_t mask;
  uint64_t cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  int32_t exit_code;  // a wait status, as waitpid reports it
  uint32_t coredump_mask;
  uint32_t spare;
};
constexpr uint64_t kPidfdInfoExit = 1u << 3;
constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);

ExitStatus FromWaitStatus(int status, bool reaped) {
  ExitStatus out;
  out.reaped = reaped;
  if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
  } else {
    out.code = WEXITSTATUS(status);
  }
  return out;
}

// Another process's child: its status is kept for pidfd holders once its parent reaped it
// (init can take a second or two). Gives up when woken.
ExitStatus ExitOfNonChild(int pidfd, const WakeEvent& wake) {
  for (int tries = 0; tries < 300; tries++) {
    PidfdInfo info{};
    info.mask = kPidfdInfoExit;
    if (::ioctl(pidfd, kPidfdGetInfo, &info) == 0) {
      if (info.mask & kPidfdInfoExit) return FromWaitStatus(info.exit_code, false);
    } else if (errno == ENOTTY || errno == EINVAL) {
      break;  // a kernel without PIDFD_GET_INFO
    }
    pollfd woken{wake.Fd(), POLLIN, 0};
    if (::poll(&woken, 1, 10) > 0) break;  // still a zombie, and we are asked to stop
  }
  return ExitStatus{};
}

}  // namespace

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
    if (errno == ECHILD) return std::optional<ExitStatus>(ExitOfNonChild(pidfd, wake));
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
