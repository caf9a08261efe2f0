// Starting a helper in a session of its own through posix_spawn.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "check.h"
#include "core/detached_spawn.h"

using namespace freezedry::core;

static std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(RunsTheHelperInItsOwnSessionWithoutOurFds) {
  char dir[] = "/tmp/detached-spawn-XXXXXX";
  CHECK(mkdtemp(dir) != nullptr);
  std::string out = std::string(dir) + "/out";
  int open_fd = ::open("/dev/zero", O_RDONLY);  // not close-on-exec: must not reach the helper
  CHECK(open_fd > 2);
  // The helper writes its session id, its pid, and whether our fd is open in it.
  std::string script =
      "echo $(cut -d' ' -f6 /proc/$$/stat) $$ $([ -e /proc/$$/fd/" + std::to_string(open_fd) + " ] && echo open || echo closed) > " + out;
  auto spawned = SpawnDetached({"sh", "-c", script});
  CHECK_OK(spawned);
  int status = 0;
  CHECK(::waitpid(spawned.Value(), &status, 0) == spawned.Value());
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  unsigned long sid = 0, pid = 0;
  char fd_state[16] = {0};
  CHECK(std::sscanf(ReadFile(out).c_str(), "%lu %lu %15s", &sid, &pid, fd_state) == 3);
  CHECK(sid == pid && pid == static_cast<unsigned long>(spawned.Value()));
  CHECK(std::string(fd_state) == "closed");
  ::close(open_fd);
  ::unlink(out.c_str());
  ::rmdir(dir);
}

TEST(ReportsACommandThatDoesNotExist) {
  auto spawned = SpawnDetached({"freezedry-no-such-command"});
  CHECK(!spawned.Ok() && spawned.Error().err == ENOENT);
}

int main() {
  RUN(RunsTheHelperInItsOwnSessionWithoutOurFds);
  RUN(ReportsACommandThatDoesNotExist);
  return 0;
}
