#include "core/wake_event.h"

#include <poll.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <cstdint>

namespace freezedry::core {

Result<WakeEvent> WakeEvent::Create() {
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return LastError("eventfd");
  return WakeEvent(UniqueFd(fd));
}

void WakeEvent::Signal() const {
  uint64_t one = 1;
  // A full counter (EAGAIN) still leaves the eventfd readable, which is all that matters.
  [[maybe_unused]] ssize_t ignored = ::write(fd_.Get(), &one, sizeof one);
}

Result<bool> WaitReadable(int fd, const WakeEvent& wake) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake.Fd(), POLLIN, 0}};
  for (;;) {
    int ready = ::poll(fds, 2, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return LastError("poll");
    }
    if (fds[1].revents != 0) return false;
    if (fds[0].revents != 0) return true;
  }
}

}  // namespace freezedry::core
