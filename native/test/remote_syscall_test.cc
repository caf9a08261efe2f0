// System calls run inside a real child: their results are the child's (its pid, its fds), a
// failing one returns the child's errno, and the child runs on afterwards exactly where it was:
// the read() it was blocked in when seized completes with the byte sent after the detach.
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "check.h"
#include "core/remote_syscall.h"

using namespace freezedry::core;

TEST(RunsCallsInTheTargetAndLeavesItAsItWas) {
  int to_child[2], from_child[2];
  CHECK(pipe(to_child) == 0 && pipe(from_child) == 0);
  pid_t child = fork();
  if (child == 0) {
    char c = 0;
    ssize_t got = read(to_child[0], &c, 1);  // blocked here while calls run in it
    (void)!write(from_child[1], &c, 1);
    _exit(got == 1 && c == 'x' ? 0 : 3);
  }
  usleep(20000);  // let it block in read()
  {
    auto attached = RemoteSyscalls::Attach(child);
    CHECK_OK(attached);
    RemoteSyscalls& target = *attached.Value();
    auto pid = target.Call(SYS_getpid);
    CHECK_OK(pid);
    CHECK(pid.Value() == child);
    // An fd made in the child is the child's: it shows in its fd table, and closes again.
    auto opened = target.Call(SYS_dup, static_cast<uint64_t>(to_child[0]));
    CHECK_OK(opened);
    CHECK(opened.Value() > 2);
    std::string link = "/proc/" + std::to_string(child) + "/fd/" + std::to_string(opened.Value());
    CHECK(access(link.c_str(), F_OK) == 0);
    auto closed = target.Call(SYS_close, static_cast<uint64_t>(opened.Value()));
    CHECK_OK(closed);
    CHECK(closed.Value() == 0);
    CHECK(access(link.c_str(), F_OK) != 0);
    // A call that fails there says so with the child's errno.
    auto failed = target.Call(SYS_close, 987654);
    CHECK_OK(failed);
    CHECK(failed.Value() == -EBADF);
  }
  // Detached: the interrupted read() restarts and gets the byte.
  CHECK(write(to_child[1], "x", 1) == 1);
  char echoed = 0;
  CHECK(read(from_child[0], &echoed, 1) == 1 && echoed == 'x');
  int status = 0;
  CHECK(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(RefusesAProcessThatIsGone) {
  pid_t child = fork();
  if (child == 0) _exit(0);
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  auto attached = RemoteSyscalls::Attach(child);
  CHECK(!attached.Ok());
}

int main() {
  RUN(RunsCallsInTheTargetAndLeavesItAsItWas);
  RUN(RefusesAProcessThatIsGone);
  return 0;
}
