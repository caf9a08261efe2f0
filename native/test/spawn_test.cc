// Starting programs through posix_spawn: fds put in place, nothing else inherited, a session
// of its own when asked.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "check.h"
#include "core/spawn.h"

using namespace freezedry::core;

// Runs argv with `options`, waits for it, and returns what it wrote to fd `out` (in it: fd 1).
static std::string Output(const std::vector<std::string>& argv, SpawnOptions options, int status_expected = 0) {
  int p[2];
  CHECK(::pipe2(p, O_CLOEXEC) == 0);
  if (options.fds.size() < 2) options.fds.resize(2, -1);
  options.fds[1] = p[1];
  auto spawned = Spawn(argv, options);
  CHECK_OK(spawned);
  ::close(p[1]);
  std::string out;
  char buf[256];
  for (ssize_t got; (got = ::read(p[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(got));
  ::close(p[0]);
  int status = 0;
  CHECK(::waitpid(spawned.Value(), &status, 0) == spawned.Value());
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == status_expected);
  return out;
}

TEST(RunsAHelperInItsOwnSessionWithNoneOfOurFds) {
  int stray = ::open("/dev/zero", O_RDONLY);  // not close-on-exec: must not reach the child
  CHECK(stray > 2);
  std::string script = "[ -e /proc/$$/fd/" + std::to_string(stray) + " ] && s=open || s=closed; echo $(cut -d' ' -f6 /proc/$$/stat) $$ $s";
  SpawnOptions options;
  options.new_session = true;
  std::string out = Output({"sh", "-c", script}, options);
  unsigned long sid = 0, pid = 0;
  char fd_state[16] = {0};
  CHECK(std::sscanf(out.c_str(), "%lu %lu %15s", &sid, &pid, fd_state) == 3);
  CHECK(sid == pid);
  CHECK(std::string(fd_state) == "closed");
  ::close(stray);
}

TEST(PutsEachFdWhereAsked) {
  // a[0] is fd 3 here and must become fd 4, while fd 3 takes b[0]: copied before overwritten.
  int a[2], b[2];
  CHECK(::pipe2(a, O_CLOEXEC) == 0 && ::pipe2(b, O_CLOEXEC) == 0);
  CHECK(::write(a[1], "A", 1) == 1 && ::write(b[1], "B", 1) == 1);
  ::close(a[1]);
  ::close(b[1]);
  SpawnOptions options;
  options.fds = {-1, -1, -1, b[0], a[0]};
  std::string out = Output({"sh", "-c", "cat <&3; cat <&4"}, options);
  CHECK(out == "BA");
  ::close(a[0]);
  ::close(b[0]);
}

TEST(GivesTheEnvironmentAsked) {
  SpawnOptions options;
  options.environment = std::vector<std::string>{"PATH=/usr/bin:/bin", "FREEZEDRY_SPAWN_TEST=yes"};
  CHECK(Output({"sh", "-c", "echo $FREEZEDRY_SPAWN_TEST"}, options) == "yes\n");
}

TEST(ReportsACommandThatDoesNotExist) {
  auto spawned = Spawn({"freezedry-no-such-command"}, {});
  CHECK(!spawned.Ok() && spawned.Error().err == ENOENT);
}

int main() {
  RUN(RunsAHelperInItsOwnSessionWithNoneOfOurFds);
  RUN(PutsEachFdWhereAsked);
  RUN(GivesTheEnvironmentAsked);
  RUN(ReportsACommandThatDoesNotExist);
  return 0;
}
