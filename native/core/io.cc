#include "core/io.h"

#include <unistd.h>

#include <cerrno>

namespace freezedry::core {

Status ReadFully(int fd, uint8_t* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t got = ::read(fd, data + done, size - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return LastError("read");
    if (got == 0) return Failure(EPIPE, "read", "the other end closed in the middle of a message");
    done += static_cast<size_t>(got);
  }
  return OkStatus();
}

Status WriteFully(int fd, const uint8_t* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t put = ::write(fd, data + done, size - done);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) return LastError("write");
    done += static_cast<size_t>(put);
  }
  return OkStatus();
}

}  // namespace freezedry::core
