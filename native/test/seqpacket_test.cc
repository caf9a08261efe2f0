// Message framing and fd passing over a seqpacket pair.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "check.h"
#include "core/seqpacket.h"

using namespace freezedry::core;

TEST(KeepsMessageBoundaries) {
  auto pair = MakeSeqpacketPair();
  CHECK_OK(pair);
  auto& [a, b] = pair.Value();
  std::string small = "hello", large(200 * 1024, 'x');
  CHECK_OK(SendPacket(a.Get(), reinterpret_cast<const uint8_t*>(small.data()), small.size()));
  CHECK_OK(SendPacket(a.Get(), reinterpret_cast<const uint8_t*>(large.data()), large.size()));
  auto first = ReceivePacket(b.Get());
  CHECK_OK(first);
  CHECK(first.Value()->bytes.size() == small.size());
  auto second = ReceivePacket(b.Get());
  CHECK_OK(second);
  CHECK(second.Value()->bytes.size() == large.size());
  CHECK(std::memcmp(second.Value()->bytes.data(), large.data(), large.size()) == 0);
}

TEST(PassesAFileDescriptor) {
  auto pair = MakeSeqpacketPair();
  CHECK_OK(pair);
  auto& [a, b] = pair.Value();
  int pipe_fds[2];
  CHECK(pipe(pipe_fds) == 0);
  const uint8_t tag = 7;
  CHECK_OK(SendPacket(a.Get(), &tag, 1, pipe_fds[0]));
  close(pipe_fds[0]);
  auto got = ReceivePacket(b.Get());
  CHECK_OK(got);
  CHECK(got.Value()->passed_fd.Valid());
  CHECK((fcntl(got.Value()->passed_fd.Get(), F_GETFD) & FD_CLOEXEC) != 0);
  CHECK(write(pipe_fds[1], "z", 1) == 1);
  char c = 0;
  CHECK(read(got.Value()->passed_fd.Get(), &c, 1) == 1 && c == 'z');
  close(pipe_fds[1]);
}

TEST(ReportsPeerClose) {
  auto pair = MakeSeqpacketPair();
  CHECK_OK(pair);
  auto& [a, b] = pair.Value();
  a.Reset();
  auto got = ReceivePacket(b.Get());
  CHECK_OK(got);
  CHECK(!got.Value().has_value());
}

TEST(SendToClosedPeerFailsWithEpipe) {
  auto pair = MakeSeqpacketPair();
  CHECK_OK(pair);
  auto& [a, b] = pair.Value();
  b.Reset();
  const uint8_t byte = 1;
  auto sent = SendPacket(a.Get(), &byte, 1);
  CHECK(!sent.Ok());
  CHECK(sent.Error().err == EPIPE);
  CHECK(std::string(sent.Error().Code()) == "EPIPE");
  CHECK(sent.Error().Message().rfind("EPIPE: ", 0) == 0);
}

int main() {
  RUN(KeepsMessageBoundaries);
  RUN(PassesAFileDescriptor);
  RUN(ReportsPeerClose);
  RUN(SendToClosedPeerFailsWithEpipe);
  return 0;
}
