#include "core/detached_spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

extern char** environ;

namespace freezedry::core {
namespace {

// posix_spawn's attribute and file-action objects, destroyed whatever happens.
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

}  // namespace

Result<pid_t> SpawnDetached(const std::vector<std::string>& argv) {
  if (argv.empty()) return Failure(EINVAL, "spawn", "no command");
  SpawnSetup setup;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  // Node ignores SIGPIPE and blocks nothing we know of; the helper starts with defaults.
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &all);
  posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  for (int fd = 0; fd <= 2; fd++) {
    posix_spawn_file_actions_addopen(&setup.actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
  }
  // Our fds are close-on-exec as a rule; this makes sure no socket stays open in the helper.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int err = posix_spawnp(&pid, args[0], &setup.actions, &setup.attr, args.data(), environ);
  if (err != 0) return Failure(err, "posix_spawn", argv[0]);
  return pid;
}

}  // namespace freezedry::core
