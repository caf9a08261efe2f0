// A failed system call, as data: no exception ever leaves native/core.
#pragma once

#include <cerrno>
#include <exception>
#include <new>
#include <string>

namespace freezedry::core {

struct SysError {
  int err = 0;          // positive errno value
  std::string syscall;  // the call that failed, e.g. "recvmsg"
  std::string path;     // a path involved, when there is one
  std::string detail;   // for failures that are not a plain syscall: what exactly went wrong

  // Node's errno name ("ENOENT"), or "UNKNOWN" for values it has no name for.
  const char* Code() const;
  // Node's fs error shape: "ENOENT: no such file or directory, open '/x'".
  std::string Message() const;
};

// Captures errno right after the failing call.
SysError LastError(std::string syscall, std::string path = {});

// A failure found by our own checks (a protocol or format violation), as an errno-coded error.
SysError Failure(int err, std::string operation, std::string detail);

// Runs `work` (which returns a Result or Status) so that an exception becomes its error: on a
// native thread an uncaught one (std::bad_alloc above all) would end the whole process.
template <typename Work>
auto CatchAll(Work&& work, const char* operation) -> decltype(work()) {
  try {
    return work();
  } catch (const std::bad_alloc&) {
    return Failure(ENOMEM, operation, "out of memory");
  } catch (const std::exception& error) {
    return Failure(EIO, operation, error.what());
  }
}

const char* ErrnoName(int err);

}  // namespace freezedry::core
