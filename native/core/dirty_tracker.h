// Which pages of a running process were written since the last look, on kernels without
// soft-dirty (this one; every arm64): a userfaultfd with asynchronous write-protect
// (UFFD_FEATURE_WP_ASYNC) registered over the process's private anonymous memory, read with the
// PAGEMAP_SCAN ioctl, which also re-protects what it reports.
//
// A userfaultfd acts on the memory of the process that created it, so it is created inside the
// target: the target's thread is stopped with ptrace, its registers pointed at a `syscall`
// instruction that already exists in its vDSO, and stepped with PTRACE_SYSCALL through
// userfaultfd(); no byte of the target's memory is changed, so its other threads can run on.
// pidfd_getfd() copies the new fd to us, a second injected call closes it in the target (which
// then holds no trace of the tracker), and the registers are put back as they were.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "core/result.h"
#include "core/unique_fd.h"

namespace freezedry::core {

struct WrittenRange {
  uint64_t start;
  uint64_t end;
};

class DirtyTracker {
 public:
  // Starts tracking: every tracked page counts as clean from now on.
  static Result<std::unique_ptr<DirtyTracker>> Attach(pid_t pid);

  // The page ranges written since Attach or the previous Scan (and protects them again). Parts
  // of the areas unmapped and mapped again count as written once, then are no longer tracked.
  Result<std::vector<WrittenRange>> Scan();

  // The tracked pages that hold data now (present or swapped); changes nothing.
  Result<std::vector<WrittenRange>> Present();

  // The areas under tracking, as registered at Attach.
  const std::vector<WrittenRange>& Areas() const { return areas_; }

  // Bytes of memory under tracking.
  uint64_t TrackedBytes() const { return tracked_bytes_; }

 private:
  DirtyTracker() = default;
  // Appends the pages of `area` in the asked categories to `out`.
  Status Walk(const WrittenRange& area, uint64_t flags, uint64_t all_of, uint64_t any_of, std::vector<WrittenRange>& out);
  pid_t pid_ = 0;
  UniqueFd uffd_;
  UniqueFd pagemap_;
  std::vector<WrittenRange> areas_;
  uint64_t tracked_bytes_ = 0;
};

}  // namespace freezedry::core
