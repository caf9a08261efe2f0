// Copies of a running process's memory, for pre-copy rounds: process_vm_readv reads the ranges
// without stopping the process (a page written meanwhile is reported dirty by the next scan).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "core/result.h"

namespace freezedry::core {

struct MemoryRange {
  uint64_t start;
  uint64_t length;
};

struct MemoryCopy {
  std::vector<uint8_t> bytes;  // the ranges, back to back
  uint64_t unreadable = 0;     // bytes no longer mapped when read (left as zeros)
};

Result<MemoryCopy> ReadProcessMemory(pid_t pid, const std::vector<MemoryRange>& ranges);

}  // namespace freezedry::core
