// freezedry-init: starts a command (CRIU, restoring a snapshot) as the first child of a new pid
// and mount namespace (and optionally network namespace), and stays that namespace's init.
//
//   freezedry-init [--net] -- COMMAND [ARG...]
//
// A snapshot's copy is restored with the pids it had, which its original still holds: in a
// namespace of its own they are free. The tree outlives CRIU (it is restored detached), so the
// namespace needs an init that stays and reaps; this is it. This process (outside) waits only
// for COMMAND and exits with its status, so that a caller sees CRIU's exit as its own; the init
// inside lives on until the last process of the namespace has ended.
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <sched.h>
#include <cstdio>
#include <cstring>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "freezedry-init: %s: %s\n", what, std::strerror(errno));
  std::_Exit(127);
}

void BringLoopbackUp() {
  int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) Die("socket");
  struct ifreq request = {};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock, SIOCGIFFLAGS, &request) != 0) Die("SIOCGIFFLAGS lo");
  request.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (::ioctl(sock, SIOCSIFFLAGS, &request) != 0) Die("SIOCSIFFLAGS lo");
  ::close(sock);
}

// Status as a shell reports it: the exit code, or 128 + the signal.
int ShellStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 127;
}

void CloseAllBut(int keep) {
  for (int fd = 3; fd < 1024; fd++) {
    if (fd != keep) ::close(fd);
  }
}

volatile sig_atomic_t g_forward = 0;
void OnTerminate(int signal) { g_forward = signal; }

// pid 1 of the new namespace: run the command, tell the outside its status, then reap every
// process of the namespace until none is left.
[[noreturn]] void BeInit(char** command, int status_out) {
  // Our parent outside dies only if it is killed (a caller's timeout): take the namespace down.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::setsid();
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) Die("make / private");
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) Die("mount /proc");

  pid_t child = ::fork();
  if (child < 0) Die("fork");
  if (child == 0) {
    ::close(status_out);
    ::prctl(PR_SET_PDEATHSIG, 0);
    ::execvp(command[0], command);
    Die(command[0]);
  }
  // Only the command keeps the caller's descriptors: CRIU's channel and output pipes must close
  // when it exits, and the caller waits for them.
  CloseAllBut(status_out);
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    for (int fd = 0; fd <= 2; fd++) ::dup2(null_fd, fd);
    ::close(null_fd);
  }
  struct sigaction action = {};
  action.sa_handler = OnTerminate;
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);

  for (;;) {
    int status = 0;
    pid_t reaped = ::waitpid(-1, &status, 0);
    if (reaped < 0 && errno == EINTR) {
      if (g_forward != 0) ::kill(-1, g_forward);  // everything in the namespace but us
      g_forward = 0;
      continue;
    }
    if (reaped < 0) std::_Exit(0);  // ECHILD: the namespace is empty
    if (reaped == child && status_out >= 0) {
      ::prctl(PR_SET_PDEATHSIG, 0);  // from now on the tree lives on its own
      int code = ShellStatus(status);
      (void)!::write(status_out, &code, sizeof code);
      ::close(status_out);
      status_out = -1;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int flags = CLONE_NEWPID | CLONE_NEWNS;
  int first = 1;
  if (first < argc && std::strcmp(argv[first], "--net") == 0) {
    flags |= CLONE_NEWNET;
    first++;
  }
  if (first < argc && std::strcmp(argv[first], "--") == 0) first++;
  if (first >= argc) {
    std::fprintf(stderr, "usage: freezedry-init [--net] -- COMMAND [ARG...]\n");
    return 2;
  }
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) Die("pipe2");
  if (::unshare(flags) != 0) Die("unshare");
  if (flags & CLONE_NEWNET) BringLoopbackUp();

  pid_t init = ::fork();
  if (init < 0) Die("fork");
  if (init == 0) {
    ::close(status_pipe[0]);
    BeInit(argv + first, status_pipe[1]);
  }
  ::close(status_pipe[1]);
  CloseAllBut(status_pipe[0]);
  int code = 127;  // the init died before the command ended
  while (::read(status_pipe[0], &code, sizeof code) < 0 && errno == EINTR) {
  }
  return code;
}
