// Taking a process's TCP sockets out of repair mode, as a CRIU dump that kept it stopped leaves them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "check.h"
#include "core/tcp_repair.h"

using namespace freezedry::core;

static int RepairOf(int fd) {
  int repair = -1;
  socklen_t size = sizeof(repair);
  CHECK(getsockopt(fd, SOL_TCP, TCP_REPAIR, &repair, &size) == 0);
  return repair;
}

TEST(ReleasesOnlyTheSocketsInRepairMode) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  CHECK(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 && listen(listener, 2) == 0);
  CHECK(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  int client = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  int served = accept(listener, nullptr, nullptr);
  CHECK(served >= 0);
  int on = TCP_REPAIR_ON;
  if (setsockopt(client, SOL_TCP, TCP_REPAIR, &on, sizeof(on)) != 0) {
    CHECK(errno == EPERM);
    std::exit(77);  // no CAP_NET_ADMIN here
  }
  CHECK(RepairOf(client) == 1 && RepairOf(served) == 0);
  auto released = ReleaseRepairedSockets(getpid());
  CHECK_OK(released);
  CHECK(released.Value() == 1);
  CHECK(RepairOf(client) == 0 && RepairOf(served) == 0);
  // Out of repair mode, the connection carries data again.
  CHECK(write(client, "x", 1) == 1);
  char byte = 0;
  CHECK(read(served, &byte, 1) == 1 && byte == 'x');
  close(client);
  close(served);
  close(listener);
}

int main() {
  RUN(ReleasesOnlyTheSocketsInRepairMode);
  return 0;
}
