// Waiting for a process through its pidfd.
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "check.h"
#include "core/exit_watch.h"

using namespace freezedry::core;

// A child that waits until it is killed.
static pid_t PausedChild() {
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  return child;
}

TEST(ReapsAChildWithItsExitCode) {
  pid_t child = fork();
  if (child == 0) _exit(3);
  auto pidfd = OpenPidfd(child);
  CHECK_OK(pidfd);
  auto wake = WakeEvent::Create();
  CHECK_OK(wake);
  auto status = WaitForExit(pidfd.Value().Get(), wake.Value());
  CHECK_OK(status);
  CHECK(status.Value()->reaped && status.Value()->code == 3 && status.Value()->signal == 0);
}

TEST(ReportsTheKillingSignal) {
  pid_t child = PausedChild();
  auto pidfd = OpenPidfd(child);
  CHECK_OK(pidfd);
  auto wake = WakeEvent::Create();
  CHECK_OK(wake);
  kill(child, SIGKILL);
  auto status = WaitForExit(pidfd.Value().Get(), wake.Value());
  CHECK_OK(status);
  CHECK(status.Value()->reaped && status.Value()->signal == SIGKILL);
}

TEST(WakeStopsTheWait) {
  pid_t child = PausedChild();
  auto pidfd = OpenPidfd(child);
  CHECK_OK(pidfd);
  auto wake = WakeEvent::Create();
  CHECK_OK(wake);
  std::thread waker([&] {
    usleep(20000);
    wake.Value().Signal();
  });
  auto status = WaitForExit(pidfd.Value().Get(), wake.Value());
  waker.join();
  CHECK_OK(status);
  CHECK(!status.Value().has_value());
  kill(child, SIGKILL);
  auto reaped = WaitForExit(pidfd.Value().Get(), wake.Value());  // wake is still signalled
  CHECK_OK(reaped);
}

TEST(NoSuchProcessIsAnError) {
  auto pidfd = OpenPidfd(0x3ffffff);
  CHECK(!pidfd.Ok());
  CHECK(pidfd.Error().err == ESRCH || pidfd.Error().err == EINVAL);
}

int main() {
  RUN(ReapsAChildWithItsExitCode);
  RUN(ReportsTheKillingSignal);
  RUN(WakeStopsTheWait);
  RUN(NoSuchProcessIsAnError);
  return 0;
}
