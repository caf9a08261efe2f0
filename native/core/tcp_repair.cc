#include "core/tcp_repair.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "core/exit_watch.h"
#include "core/unique_fd.h"

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

namespace freezedry::core {

namespace {

// Whether `fd` is a TCP socket (of either family) in repair mode.
bool InRepairMode(int fd) {
  int protocol = 0;
  socklen_t size = sizeof(protocol);
  if (::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &size) != 0 || protocol != IPPROTO_TCP) return false;
  int repair = 0;
  size = sizeof(repair);
  return ::getsockopt(fd, SOL_TCP, TCP_REPAIR, &repair, &size) == 0 && repair == 1;
}

}  // namespace

Result<int> ReleaseRepairedSockets(pid_t pid) {
  auto pidfd = OpenPidfd(pid);
  if (!pidfd.Ok()) return pidfd.Error();
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* fds = ::opendir(dir.c_str());
  if (fds == nullptr) return LastError("opendir", dir);
  int released = 0;
  while (dirent* entry = ::readdir(fds)) {
    char* end = nullptr;
    long number = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') continue;  // . and ..
    char target[64];
    ssize_t length = ::readlinkat(::dirfd(fds), entry->d_name, target, sizeof(target) - 1);
    if (length <= 0 || std::string(target, static_cast<size_t>(length)).rfind("socket:", 0) != 0) continue;
    long ours = ::syscall(SYS_pidfd_getfd, pidfd.Value().Get(), static_cast<int>(number), 0);
    if (ours < 0) continue;  // closed meanwhile
    UniqueFd socket(static_cast<int>(ours));
    int off = TCP_REPAIR_OFF;
    if (InRepairMode(socket.Get()) && ::setsockopt(socket.Get(), SOL_TCP, TCP_REPAIR, &off, sizeof(off)) == 0) released++;
  }
  ::closedir(fds);
  return released;
}

}  // namespace freezedry::core
