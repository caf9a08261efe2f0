// Waiting for a process through its pidfd.
#include <signal.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
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

// Sends `signal` to `pid` and waits for its exit through a pidfd.
static ExitStatus KillAndWait(pid_t pid, int signal) {
  auto pidfd = OpenPidfd(pid);
  CHECK_OK(pidfd);
  auto wake = WakeEvent::Create();
  CHECK_OK(wake);
  kill(pid, signal);
  auto status = WaitForExit(pidfd.Value().Get(), wake.Value());
  CHECK_OK(status);
  CHECK(status.Value().has_value());
  return *status.Value();
}

TEST(ReportsTheKillingSignal) {
  ExitStatus status = KillAndWait(PausedChild(), SIGKILL);
  CHECK(status.reaped && status.signal == SIGKILL);
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

static bool KernelAtLeast(int major, int minor) {
  utsname name;
  int have_major = 0, have_minor = 0;
  if (uname(&name) != 0 || sscanf(name.release, "%d.%d", &have_major, &have_minor) != 2) return false;
  return have_major > major || (have_major == major && have_minor >= minor);
}

// A grandchild whose parent reaps it: its status still reaches a pidfd holder (Linux 6.15+).
TEST(ReportsTheExitOfAProcessThatIsNotOurs) {
  int ready[2];
  CHECK(pipe(ready) == 0);
  pid_t parent = fork();
  if (parent == 0) {
    pid_t grandchild = fork();
    if (grandchild == 0) {
      pause();
      _exit(0);
    }
    (void)write(ready[1], &grandchild, sizeof grandchild);
    int status;
    waitpid(grandchild, &status, 0);
    _exit(0);
  }
  pid_t grandchild = 0;
  CHECK(read(ready[0], &grandchild, sizeof grandchild) == sizeof grandchild);
  ExitStatus status = KillAndWait(grandchild, SIGTERM);
  CHECK(!status.reaped);
  // Linux 6.15 keeps the status for pidfd holders; before it, none is known (-1).
  CHECK(status.signal == SIGTERM || (!KernelAtLeast(6, 15) && status.code == -1));
  waitpid(parent, nullptr, 0);
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
  RUN(ReportsTheExitOfAProcessThatIsNotOurs);
  RUN(NoSuchProcessIsAnError);
  return 0;
}
