#include "core/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

#include <algorithm>

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

std::vector<char*> Pointers(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

Result<pid_t> Spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) return Failure(EINVAL, "spawn", "no command");
  SpawnSetup setup;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  // Node ignores SIGPIPE, among others; the child starts with the defaults.
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (options.new_session) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&setup.attr, flags);

  // First every fd to a number above all of them, then into place: a source fd whose number is
  // another's target is copied before it is overwritten.
  int count = std::max<int>(static_cast<int>(options.fds.size()), 3);
  int high = count;
  for (int fd : options.fds) high = std::max(high, fd + 1);
  for (int i = 0; i < count; i++) {
    int fd = i < static_cast<int>(options.fds.size()) ? options.fds[i] : -1;
    if (fd >= 0) {
      posix_spawn_file_actions_adddup2(&setup.actions, fd, high + i);
    } else {
      posix_spawn_file_actions_addopen(&setup.actions, high + i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
    }
  }
  for (int i = 0; i < count; i++) posix_spawn_file_actions_adddup2(&setup.actions, high + i, i);
  // Our fds are close-on-exec as a rule; this makes sure nothing else stays open in the child.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, count);

  std::vector<char*> args = Pointers(argv);
  std::vector<char*> env = options.environment ? Pointers(*options.environment) : std::vector<char*>{};
  pid_t pid = -1;
  int err = posix_spawnp(&pid, args[0], &setup.actions, &setup.attr, args.data(), options.environment ? env.data() : environ);
  if (err != 0) return Failure(err, "posix_spawn", argv[0]);
  return pid;
}

}  // namespace freezedry::core
