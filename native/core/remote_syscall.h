// Running system calls inside another process (the dirty tracker makes its userfaultfd this
// way): one thread is seized and interrupted; each call runs from the system-call instruction
// already in its vDSO, so no byte of its memory changes; at the end its registers are put back
// (a call it was interrupted in restarts), it is detached, and the signals that arrived
// meanwhile (held back then) are sent again.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "core/result.h"
#include "core/syscall_injection.h"

namespace freezedry::core {

class RemoteSyscalls {
 public:
  // Seizes and stops `pid` (a thread id); the target runs on once this object is gone.
  static Result<std::unique_ptr<RemoteSyscalls>> Attach(pid_t pid);
  ~RemoteSyscalls();
  RemoteSyscalls(const RemoteSyscalls&) = delete;
  RemoteSyscalls& operator=(const RemoteSyscalls&) = delete;

  // Runs `nr`(a0, a1) in the target: its return value, a negative errno if the call failed there.
  Result<int64_t> Call(uint64_t nr, uint64_t a0 = 0, uint64_t a1 = 0);

 private:
  RemoteSyscalls(pid_t pid, uint64_t instruction) : pid_(pid), instruction_(instruction) {}

  pid_t pid_;
  uint64_t instruction_;  // address of a system-call instruction in the target's vDSO
  ThreadRegisters saved_{};
  bool saved_valid_ = true;  // false: its registers could not be read, so they are not written back
  std::vector<int> held_signals_;
};

}  // namespace freezedry::core
