// The dirty tracker on a real child process: it reports exactly the pages the child wrote
// after tracking began, nothing on a second look, and the child runs on unharmed.
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>

#include "check.h"
#include "core/dirty_tracker.h"

using namespace freezedry::core;

constexpr size_t kPages = 1024;
constexpr size_t kPage = 4096;

TEST(ReportsExactlyTheWrittenPages) {
  uint8_t* area = static_cast<uint8_t*>(mmap(nullptr, kPages * kPage, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  // The child's own private area is what gets tracked; `area` (shared) only tells the parent where it is.
  int ready[2], go[2];
  CHECK(pipe(ready) == 0 && pipe(go) == 0);
  pid_t child = fork();
  if (child == 0) {
    uint8_t* mine = static_cast<uint8_t*>(mmap(nullptr, kPages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    for (size_t i = 0; i < kPages; i++) mine[i * kPage] = 1;  // all populated before tracking
    uint64_t where = reinterpret_cast<uint64_t>(mine);
    (void)!write(ready[1], &where, sizeof where);
    char c;
    (void)!read(go[0], &c, 1);                                         // blocked in read() while the tracker attaches
    for (size_t i = 0; i < kPages; i += 7) mine[i * kPage + 100] = 2;  // 147 pages
    (void)!write(ready[1], &where, sizeof where);
    (void)!read(go[0], &c, 1);
    size_t ones = 0;
    for (size_t i = 0; i < kPages; i++) ones += mine[i * kPage] == 1;
    _exit(ones == kPages ? 0 : 3);
  }
  uint64_t where;
  CHECK(read(ready[0], &where, sizeof where) == sizeof where);
  usleep(20000);  // let it block in read()
  auto tracker = DirtyTracker::Attach(child);
  CHECK_OK(tracker);
  CHECK(tracker.Value()->TrackedBytes() >= kPages * kPage);
  // The target holds no trace of the tracker: no userfaultfd among its fds.
  std::string fds = "/proc/" + std::to_string(child) + "/fd";
  for (int fd = 0; fd < 64; fd++) {
    char link[256] = {};
    ssize_t n = readlink((fds + "/" + std::to_string(fd)).c_str(), link, sizeof link - 1);
    if (n > 0) CHECK(std::string(link).find("userfaultfd") == std::string::npos);
  }
  // Every page was populated before tracking: all of them hold data.
  auto present = tracker.Value()->Present();
  CHECK_OK(present);
  uint64_t present_in_area = 0;
  for (auto& r : present.Value()) {
    uint64_t from = std::max<uint64_t>(r.start, where), to = std::min<uint64_t>(r.end, where + kPages * kPage);
    if (from < to) present_in_area += to - from;
  }
  CHECK(present_in_area == kPages * kPage);
  auto first = tracker.Value()->Scan();
  CHECK_OK(first);
  CHECK(write(go[1], "x", 1) == 1);
  CHECK(read(ready[0], &where, sizeof where) == sizeof where);
  auto written = tracker.Value()->Scan();
  CHECK_OK(written);
  std::set<uint64_t> pages;
  for (auto& r : written.Value()) {
    for (uint64_t p = r.start; p < r.end; p += kPage) {
      if (p >= where && p < where + kPages * kPage) pages.insert((p - where) / kPage);
    }
  }
  std::printf("written pages reported in the area: %zu\n", pages.size());
  CHECK(pages.size() == (kPages + 6) / 7);
  for (uint64_t p : pages) CHECK(p % 7 == 0);
  auto again = tracker.Value()->Scan();
  CHECK_OK(again);
  size_t in_area = 0;
  for (auto& r : again.Value()) in_area += (r.start < where + kPages * kPage && r.end > where);
  CHECK(in_area == 0);
  CHECK(write(go[1], "x", 1) == 1);
  int status;
  CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  munmap(area, kPages * kPage);
}

// A part of a tracked area unmapped and mapped again is a mapping the tracker never saw: it
// counts as written once (whatever was written there) and then leaves the tracking.
TEST(CountsARemappedPartAsWrittenOnce) {
  int ready[2], go[2];
  CHECK(pipe(ready) == 0 && pipe(go) == 0);
  pid_t child = fork();
  if (child == 0) {
    uint8_t* mine = static_cast<uint8_t*>(mmap(nullptr, kPages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    for (size_t i = 0; i < kPages; i++) mine[i * kPage] = 1;
    uint64_t where = reinterpret_cast<uint64_t>(mine);
    (void)!write(ready[1], &where, sizeof where);
    char c;
    (void)!read(go[0], &c, 1);
    uint8_t* hole = mine + 100 * kPage;  // pages 100..149 mapped afresh, left untouched
    munmap(hole, 50 * kPage);
    mmap(hole, 50 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    mine[500 * kPage] = 2;  // one ordinary write
    (void)!write(ready[1], &where, sizeof where);
    (void)!read(go[0], &c, 1);
    _exit(0);
  }
  uint64_t where;
  CHECK(read(ready[0], &where, sizeof where) == sizeof where);
  usleep(20000);
  auto tracker = DirtyTracker::Attach(child);
  CHECK_OK(tracker);
  CHECK(write(go[1], "x", 1) == 1);
  CHECK(read(ready[0], &where, sizeof where) == sizeof where);
  auto pages_in = [&](const std::vector<WrittenRange>& ranges) {
    std::set<uint64_t> pages;
    for (auto& r : ranges)
      for (uint64_t p = r.start; p < r.end; p += kPage)
        if (p >= where && p < where + kPages * kPage) pages.insert((p - where) / kPage);
    return pages;
  };
  auto first = tracker.Value()->Scan();
  CHECK_OK(first);
  auto pages = pages_in(first.Value());
  CHECK(pages.size() == 51);
  CHECK(pages.count(100) && pages.count(149) && pages.count(500) && !pages.count(99) && !pages.count(150));
  auto second = tracker.Value()->Scan();
  CHECK_OK(second);
  CHECK(pages_in(second.Value()).empty());
  CHECK(write(go[1], "x", 1) == 1);
  waitpid(child, nullptr, 0);
}

// The attach waits for its target to stop. A target parked in vfork() (waiting for its child,
// uninterruptibly) stops only once that child exits, so the wait lasts; a signal to this process
// meanwhile interrupts it (EINTR). The attach must retry and succeed, and leave the target
// running and untraced. Before the fix it failed with EINTR and left the target seized.
static void OnAlarm(int) {}

TEST(RetriesItsWaitWhenASignalInterruptsIt) {
  pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // a failed check must not leave it behind
    pid_t grandchild = vfork();
    if (grandchild == 0) {
      usleep(300000);  // the parent stays in vfork() this long
      _exit(0);
    }
    waitpid(grandchild, nullptr, 0);
    for (;;) pause();
  }
  usleep(50000);  // it is in vfork() now
  struct sigaction action = {};
  action.sa_handler = OnAlarm;  // no SA_RESTART: a blocked waitpid returns EINTR
  CHECK(sigaction(SIGALRM, &action, nullptr) == 0);
  itimerval timer = {};
  timer.it_value.tv_usec = 100000;  // while the attach waits
  CHECK(setitimer(ITIMER_REAL, &timer, nullptr) == 0);
  auto tracker = DirtyTracker::Attach(child);
  CHECK_OK(tracker);
  // Not stopped, and no longer traced (it may be running or back in pause()).
  usleep(20000);
  std::string status;
  {
    FILE* file = fopen(("/proc/" + std::to_string(child) + "/status").c_str(), "r");
    CHECK(file != nullptr);
    char line[256];
    while (fgets(line, sizeof line, file)) status += line;
    fclose(file);
  }
  CHECK(status.find("State:\tT") == std::string::npos && status.find("State:\tt") == std::string::npos);
  CHECK(status.find("TracerPid:\t0\n") != std::string::npos);
  tracker.Value().reset();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  signal(SIGALRM, SIG_DFL);
}

int main() {
  if (geteuid() != 0) {
    std::printf("SKIP: the dirty tracker needs root (ptrace, /proc/pid/pagemap)\n");
    return 77;
  }
  RUN(ReportsExactlyTheWrittenPages);
  RUN(CountsARemappedPartAsWrittenOnce);
  RUN(RetriesItsWaitWhenASignalInterruptsIt);
  return 0;
}
