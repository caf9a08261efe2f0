// The channel as criu swrk sees it: a child inheriting the peer end, its death, and Stop().
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "check.h"
#include "core/criu_channel.h"

using namespace freezedry::core;

TEST(ChildEchoesThroughInheritedEnd) {
  auto channel = CriuChannel::Create();
  CHECK_OK(channel);
  CriuChannel& ch = channel.Value();
  pid_t child = fork();
  if (child == 0) {
    auto got = ReceivePacket(ch.PeerFd());
    if (!got.Ok() || !got.Value()) _exit(2);
    auto sent = SendPacket(ch.PeerFd(), got.Value()->bytes.data(), got.Value()->bytes.size());
    _exit(sent.Ok() ? 0 : 3);
  }
  ch.ClosePeer();
  const uint8_t request[] = {1, 2, 3};
  CHECK_OK(ch.Send(request, sizeof request));
  auto reply = ch.Receive();
  CHECK_OK(reply);
  CHECK(reply.Value().outcome == CriuChannel::Outcome::kPacket);
  CHECK(reply.Value().packet->bytes.size() == 3 && reply.Value().packet->bytes[2] == 3);
  // The child has exited: its end is gone, so the stream ends.
  auto end = ch.Receive();
  CHECK_OK(end);
  CHECK(end.Value().outcome == CriuChannel::Outcome::kPeerClosed);
  int status;
  CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(PeerKilledMidRequestEndsTheStream) {
  auto channel = CriuChannel::Create();
  CHECK_OK(channel);
  CriuChannel& ch = channel.Value();
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  ch.ClosePeer();
  const uint8_t request[] = {9};
  CHECK_OK(ch.Send(request, sizeof request));  // left unread in the child's queue
  kill(child, SIGKILL);
  auto end = ch.Receive();
  CHECK_OK(end);
  CHECK(end.Value().outcome == CriuChannel::Outcome::kPeerClosed);
  waitpid(child, nullptr, 0);
}

TEST(StopWakesABlockedReceive) {
  auto channel = CriuChannel::Create();
  CHECK_OK(channel);
  CriuChannel& ch = channel.Value();
  std::thread stopper([&ch] {
    usleep(20000);
    ch.Stop();
  });
  auto got = ch.Receive();
  stopper.join();
  CHECK_OK(got);
  CHECK(got.Value().outcome == CriuChannel::Outcome::kStopped);
}

int main() {
  RUN(ChildEchoesThroughInheritedEnd);
  RUN(PeerKilledMidRequestEndsTheStream);
  RUN(StopWakesABlockedReceive);
  return 0;
}
