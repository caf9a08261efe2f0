#include "core/process_memory.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string>

#include "core/sys_error.h"

namespace freezedry::core {

Result<MemoryCopy> ReadProcessMemory(pid_t pid, const std::vector<MemoryRange>& ranges) {
  uint64_t total = 0;
  for (const MemoryRange& r : ranges) total += r.length;
  MemoryCopy copy;
  copy.bytes.resize(total);

  // One local iovec for the whole buffer; remote iovecs in batches of IOV_MAX. A short read
  // stops at the first unreadable remote range: skip past it (zeros) and go on.
  size_t index = 0;
  uint64_t in_range = 0;  // bytes of ranges[index] already done
  uint64_t at = 0;        // bytes of the buffer filled
  while (index < ranges.size()) {
    std::vector<iovec> remote;
    uint64_t batch = 0;
    for (size_t i = index; i < ranges.size() && remote.size() < IOV_MAX; i++) {
      uint64_t skip = i == index ? in_range : 0;
      remote.push_back({reinterpret_cast<void*>(ranges[i].start + skip), ranges[i].length - skip});
      batch += ranges[i].length - skip;
    }
    iovec local{copy.bytes.data() + at, batch};
    ssize_t got = ::process_vm_readv(pid, &local, 1, remote.data(), remote.size(), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno != EFAULT) return LastError("process_vm_readv", "pid " + std::to_string(pid));
    uint64_t done = got < 0 ? 0 : static_cast<uint64_t>(got);
    // Advance over what was read.
    uint64_t left = done;
    while (left > 0) {
      uint64_t rest = ranges[index].length - in_range;
      uint64_t step = std::min(rest, left);
      in_range += step;
      left -= step;
      if (in_range == ranges[index].length) {
        index++;
        in_range = 0;
      }
    }
    at += done;
    if (done < batch && index < ranges.size()) {
      // The next page cannot be read: leave it zero and go on after it.
      uint64_t page = 4096 - ((ranges[index].start + in_range) % 4096);
      uint64_t step = std::min(page, ranges[index].length - in_range);
      copy.unreadable += step;
      at += step;
      in_range += step;
      if (in_range == ranges[index].length) {
        index++;
        in_range = 0;
      }
    }
  }
  return copy;
}

}  // namespace freezedry::core
