// An eventfd that wakes a thread blocked in poll(); Signal() is safe from any thread.
#pragma once

#include "core/result.h"
#include "core/unique_fd.h"

namespace freezedry::core {

class WakeEvent {
 public:
  static Result<WakeEvent> Create();
  int Fd() const { return fd_.Get(); }
  void Signal() const;

 private:
  explicit WakeEvent(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// Blocks until `fd` is readable or `wake` is signalled. Returns true when `fd` is readable
// (or hung up), false when woken.
Result<bool> WaitReadable(int fd, const WakeEvent& wake);

}  // namespace freezedry::core
