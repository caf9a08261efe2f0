#include "core/seqpacket.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <cstring>

namespace freezedry::core {

namespace {
constexpr size_t kMaxPassedFds = 4;  // CRIU sends at most one; extra ones are closed
}

Result<std::pair<UniqueFd, UniqueFd>> MakeSeqpacketPair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    return LastError("socketpair");
  }
  return std::pair<UniqueFd, UniqueFd>(UniqueFd(fds[0]), UniqueFd(fds[1]));
}

Status SendPacket(int socket, const uint8_t* data, size_t size, int pass_fd) {
  iovec iov{const_cast<uint8_t*>(data), size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (pass_fd >= 0) {
    std::memset(control, 0, sizeof control);
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &pass_fd, sizeof(int));
  }
  for (;;) {
    ssize_t sent = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
    if (sent >= 0) return OkStatus();
    if (errno != EINTR) return LastError("sendmsg");
  }
}

Result<std::optional<Packet>> ReceivePacket(int socket) {
  // Peek with MSG_TRUNC to learn the datagram's full size before reading it.
  ssize_t size;
  do {
    size = ::recv(socket, nullptr, 0, MSG_PEEK | MSG_TRUNC);
  } while (size < 0 && errno == EINTR);
  // A peer killed with unread data in its queue ends the stream with ECONNRESET.
  if (size < 0 && errno == ECONNRESET) return std::optional<Packet>();
  if (size < 0) return LastError("recv");
  if (size == 0) {
    // Either the peer closed or it sent an empty datagram; consume it to tell which.
    char byte;
    ssize_t got = ::recv(socket, &byte, 1, MSG_DONTWAIT);
    if (got <= 0) return std::optional<Packet>();
  }

  Packet packet;
  packet.bytes.resize(static_cast<size_t>(size));
  iovec iov{packet.bytes.data(), packet.bytes.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t got;
  do {
    got = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (got < 0 && errno == EINTR);
  if (got < 0 && errno == ECONNRESET) return std::optional<Packet>();
  if (got < 0) return LastError("recvmsg");
  if (got == 0 && size > 0) return std::optional<Packet>();
  packet.bytes.resize(static_cast<size_t>(got));

  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
      if (!packet.passed_fd.Valid()) {
        packet.passed_fd.Reset(fd);
      } else {
        ::close(fd);
      }
    }
  }
  return std::optional<Packet>(std::move(packet));
}

}  // namespace freezedry::core
