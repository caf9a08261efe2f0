#include "core/dirty_tracker.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/exit_watch.h"
#include "core/remote_syscall.h"

namespace freezedry::core {

namespace {

// Newer than this system's headers (Linux 6.7 uapi, linux/fs.h and linux/userfaultfd.h).
struct PageRegion {
  uint64_t start, end, categories;
};
struct PmScanArg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
  uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
constexpr unsigned long kPagemapScan = _IOWR('f', 16, PmScanArg);
constexpr uint64_t kScanWpMatching = 1 << 0;    // PM_SCAN_WP_MATCHING: protect what matched again
constexpr uint64_t kScanCheckWpAsync = 1 << 1;  // PM_SCAN_CHECK_WPASYNC
constexpr uint64_t kPageIsWritten = 1 << 1;     // PAGE_IS_WRITTEN
constexpr uint64_t kPageIsPresent = 1 << 3;     // PAGE_IS_PRESENT
constexpr uint64_t kPageIsSwapped = 1 << 4;     // PAGE_IS_SWAPPED
constexpr uint64_t kFeatureWpAsync = 1 << 15;   // UFFD_FEATURE_WP_ASYNC
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

// Creates a userfaultfd inside the target and returns our copy of it.
Result<UniqueFd> UserfaultfdOf(pid_t pid) {
  auto pidfd = OpenPidfd(pid);
  if (!pidfd.Ok()) return pidfd.Error();
  auto attached = RemoteSyscalls::Attach(pid);
  if (!attached.Ok()) return attached.Error();
  RemoteSyscalls& target = *attached.Value();
  auto remote = target.Call(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  // A target without CAP_SYS_PTRACE (a container's process) may only make a user-mode-only
  // one. That is all the tracker needs: asynchronous write-protect faults are resolved by
  // the kernel itself and never reach the userfaultfd, from user or kernel mode alike.
  if (remote.Ok() && remote.Value() == -EPERM) remote = target.Call(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
  if (!remote.Ok()) return remote.Error();
  if (remote.Value() < 0) return Failure(static_cast<int>(-remote.Value()), "userfaultfd", "in the target");
  long ours = ::syscall(SYS_pidfd_getfd, pidfd.Value().Get(), static_cast<int>(remote.Value()), 0);
  Result<UniqueFd> result = ours < 0 ? Result<UniqueFd>(LastError("pidfd_getfd")) : Result<UniqueFd>(UniqueFd(static_cast<int>(ours)));
  (void)target.Call(SYS_close, static_cast<uint64_t>(remote.Value()));
  return result;
}

// "start-end" in hex, as /proc/PID/maps begins a mapping's line.
WrittenRange ParseRange(const std::string& text) {
  size_t dash = text.find('-');
  return {std::stoull(text.substr(0, dash), nullptr, 16), std::stoull(text.substr(dash + 1), nullptr, 16)};
}

// Private, writable, anonymous mappings: what a dump's pages are made of (heap and stack included).
std::vector<WrittenRange> TrackableAreas(pid_t pid) {
  std::vector<WrittenRange> areas;
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode, path;
    fields >> range >> perms >> offset >> dev >> inode;
    std::getline(fields, path);
    path.erase(0, path.find_first_not_of(' '));
    bool anonymous = path.empty() || path == "[heap]" || path == "[stack]";
    if (perms.size() < 4 || perms[1] != 'w' || perms[3] != 'p' || !anonymous) continue;
    areas.push_back(ParseRange(range));
  }
  return areas;
}

// Every mapping now, in address order, from /proc/PID/maps: the mappings alone, where smaps
// (whose VmFlags say which a userfaultfd write-protects) walks every page table for its sizes,
// 7.6-13.9 ms for a 2 GiB process, while the tree is frozen at the last scan.
std::vector<WrittenRange> Mappings(pid_t pid) {
  std::vector<WrittenRange> ranges;
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) ranges.push_back(ParseRange(line.substr(0, line.find(' '))));
  return ranges;
}

}  // namespace

Result<std::unique_ptr<DirtyTracker>> DirtyTracker::Attach(pid_t pid) {
  std::unique_ptr<DirtyTracker> tracker(new DirtyTracker());
  tracker->pid_ = pid;
  int pagemap = ::open(("/proc/" + std::to_string(pid) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC);
  if (pagemap < 0) return LastError("open", "/proc/" + std::to_string(pid) + "/pagemap");
  tracker->pagemap_.Reset(pagemap);
  auto uffd = UserfaultfdOf(pid);
  if (!uffd.Ok()) return uffd.Error();
  tracker->uffd_ = uffd.Take();

  uffdio_api api{};
  api.api = UFFD_API;
  api.features = kFeatureWpAsync;
  if (::ioctl(tracker->uffd_.Get(), UFFDIO_API, &api) != 0) return LastError("UFFDIO_API", "UFFD_FEATURE_WP_ASYNC");
  for (const WrittenRange& area : TrackableAreas(pid)) {
    uffdio_register reg{};
    reg.range.start = area.start;
    reg.range.len = area.end - area.start;
    reg.mode = UFFDIO_REGISTER_MODE_WP;
    if (::ioctl(tracker->uffd_.Get(), UFFDIO_REGISTER, &reg) != 0) continue;  // e.g. a VMA that changed meanwhile
    uffdio_writeprotect protect{};
    protect.range = reg.range;
    protect.mode = UFFDIO_WRITEPROTECT_MODE_WP;
    if (::ioctl(tracker->uffd_.Get(), UFFDIO_WRITEPROTECT, &protect) != 0) return LastError("UFFDIO_WRITEPROTECT");
    tracker->areas_.push_back(area);
    tracker->tracked_bytes_ += area.end - area.start;
  }
  return tracker;
}

Result<std::vector<WrittenRange>> DirtyTracker::Scan() {
  // Only the parts of the areas still write-protect registered can be scanned: a part unmapped
  // and mapped again since is a new mapping the tracker never saw. Such parts count as written
  // (all of them) and leave the tracking. Each piece is one mapping, and the scan checks that
  // its mapping is registered (PM_SCAN_CHECK_WPASYNC: EPERM) before it walks or protects a page
  // of it; a part no longer mapped counts as written too.
  std::vector<WrittenRange> mapped_now = Mappings(pid_);
  std::vector<WrittenRange> pieces, written;
  for (const WrittenRange& area : areas_) {
    uint64_t at = area.start;
    for (const WrittenRange& p : mapped_now) {
      uint64_t from = std::max(p.start, area.start), to = std::min(p.end, area.end);
      if (from >= to) continue;
      if (from > at) written.push_back({at, from});
      pieces.push_back({from, to});
      at = to;
    }
    if (at < area.end) written.push_back({at, area.end});
  }
  std::vector<WrittenRange> kept;
  for (const WrittenRange& piece : pieces) {
    auto found = Walk(piece, kScanWpMatching | kScanCheckWpAsync, kPageIsWritten, 0, written);
    if (!found.Ok() && found.Error().err != EPERM) return found.Error();
    if (found.Ok()) {
      kept.push_back(piece);
    } else {
      written.push_back(piece);  // not registered (a new mapping) or changed meanwhile: all of it counts as written
    }
  }
  areas_ = std::move(kept);
  tracked_bytes_ = 0;
  for (const WrittenRange& area : areas_) tracked_bytes_ += area.end - area.start;
  std::sort(written.begin(), written.end(), [](const WrittenRange& a, const WrittenRange& b) { return a.start < b.start; });
  return written;
}

Result<std::vector<WrittenRange>> DirtyTracker::Present() {
  std::vector<WrittenRange> present;
  for (const WrittenRange& area : areas_) {
    auto found = Walk(area, 0, 0, kPageIsPresent | kPageIsSwapped, present);
    if (!found.Ok()) return found.Error();
  }
  return present;
}

Status DirtyTracker::Walk(const WrittenRange& area, uint64_t flags, uint64_t all_of, uint64_t any_of, std::vector<WrittenRange>& out) {
  std::vector<PageRegion> regions(1024);
  uint64_t start = area.start;
  while (start < area.end) {
    PmScanArg arg{};
    arg.size = sizeof arg;
    arg.flags = flags;
    arg.start = start;
    arg.end = area.end;
    arg.vec = reinterpret_cast<uint64_t>(regions.data());
    arg.vec_len = regions.size();
    arg.category_mask = all_of;
    arg.category_anyof_mask = any_of;
    arg.return_mask = all_of | any_of;
    long found = ::ioctl(pagemap_.Get(), kPagemapScan, &arg);
    if (found < 0) return LastError("ioctl(PAGEMAP_SCAN)");
    for (long i = 0; i < found; i++) {
      if (!out.empty() && out.back().end == regions[i].start) {
        out.back().end = regions[i].end;
      } else {
        out.push_back({regions[i].start, regions[i].end});
      }
    }
    if (arg.walk_end <= start) break;
    start = arg.walk_end;
  }
  return OkStatus();
}

}  // namespace freezedry::core
