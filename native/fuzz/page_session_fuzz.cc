// libFuzzer target: the page sink's side of CRIU's page-server protocol, fed whatever a sender
// might write (the sender is CRIU, on a socket we created, but its bytes are parsed as input).
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

#include "core/page_sink.h"

using namespace freezedry::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 128 * 1024) return 0;  // stays within the socket's buffer: no writer thread needed
  int sock[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) != 0) return 0;
  int buffer = 512 * 1024;
  ::setsockopt(sock[1], SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  ::setsockopt(sock[0], SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  if (size > 0 && ::write(sock[1], data, size) != static_cast<ssize_t>(size)) {
    ::close(sock[0]);
    ::close(sock[1]);
    return 0;
  }
  ::shutdown(sock[1], SHUT_WR);  // the sender is done: the session must end, not wait
  DiscardOutput output;
  PageSinkCounters counters;
  (void)ServePageSession(sock[0], output, counters);
  ::close(sock[0]);
  ::close(sock[1]);
  return 0;
}
