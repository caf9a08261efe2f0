#include "core/remote_syscall.h"

#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <string>
#include <vector>

#include "core/unique_fd.h"

namespace freezedry::core {

namespace {

// The address of a system-call instruction in the target's vDSO.
Result<uint64_t> FindSyscallInstruction(pid_t pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("[vdso]") == std::string::npos) continue;
    uint64_t start = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
    uint64_t end = std::stoull(line.substr(line.find('-') + 1), nullptr, 16);
    std::vector<uint8_t> code(end - start);
    int mem = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
    if (mem < 0) return LastError("open", "/proc/" + std::to_string(pid) + "/mem");
    UniqueFd file(mem);
    if (::pread(mem, code.data(), code.size(), static_cast<off_t>(start)) != static_cast<ssize_t>(code.size())) {
      return LastError("pread", "[vdso]");
    }
    const SyscallInstruction instruction = ThisArchSyscallInstruction();
    auto found = std::search(code.begin(), code.end(), instruction.bytes.begin(), instruction.bytes.end());
    while (found != code.end() && (found - code.begin()) % instruction.alignment != 0) {
      found = std::search(found + 1, code.end(), instruction.bytes.begin(), instruction.bytes.end());
    }
    if (found != code.end()) return start + static_cast<uint64_t>(found - code.begin());
  }
  return Failure(ENOSYS, "remote syscall", "no syscall instruction in the target's vDSO");
}

// Waits for the next stop of the traced `pid`; its waitpid status.
Result<int> WaitStop(pid_t pid) {
  int status;
  pid_t got;
  do {
    got = ::waitpid(pid, &status, __WALL);
  } while (got < 0 && errno == EINTR);
  if (got != pid) return LastError("waitpid");
  if (!WIFSTOPPED(status)) return Failure(ESRCH, "remote syscall", "the target exited");
  return status;
}

}  // namespace

Result<std::unique_ptr<RemoteSyscalls>> RemoteSyscalls::Attach(pid_t pid) {
  auto at = FindSyscallInstruction(pid);
  if (!at.Ok()) return at.Error();
  if (::ptrace(PTRACE_SEIZE, pid, nullptr, PTRACE_O_TRACESYSGOOD) != 0) return LastError("ptrace(SEIZE)");
  if (::ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr) != 0) {
    SysError error = LastError("ptrace(INTERRUPT)");
    ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
    return error;
  }
  auto stopped = WaitStop(pid);
  if (!stopped.Ok()) {
    ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);  // never leave it seized (it may still be there)
    return stopped.Error();
  }
  std::unique_ptr<RemoteSyscalls> attached(new RemoteSyscalls(pid, at.Value()));
  // A signal that beat the interrupt stops it first; the interrupt's stop then comes later.
  if ((stopped.Value() >> 16) == 0 && WSTOPSIG(stopped.Value()) != SIGTRAP) attached->held_signals_.push_back(WSTOPSIG(stopped.Value()));
  if (auto read = ReadRegisters(pid, attached->saved_); !read.Ok()) {
    attached->saved_valid_ = false;
    return read.Error();  // the destructor detaches and sends the held signal again
  }
  return attached;
}

RemoteSyscalls::~RemoteSyscalls() {
  if (saved_valid_) (void)WriteRegisters(pid_, saved_);  // as it was, an interrupted syscall included
  ::ptrace(PTRACE_DETACH, pid_, nullptr, nullptr);
  for (int signal : held_signals_) ::kill(pid_, signal);  // what it would have received meanwhile
}

// One call: entry, then exit (TRACESYSGOOD marks both). A signal-delivery stop meanwhile is not
// the stop waited for: the signal is held back and sent again at the detach.
Result<int64_t> RemoteSyscalls::Call(uint64_t nr, uint64_t a0, uint64_t a1) {
  ThreadRegisters regs = ForSyscall(saved_, instruction_, nr, a0, a1);
  if (auto written = WriteRegisters(pid_, regs); !written.Ok()) return written.Error();
  for (int stop = 0; stop < 2;) {  // syscall entry, then exit (TRACESYSGOOD marks them)
    if (::ptrace(PTRACE_SYSCALL, pid_, nullptr, nullptr) != 0) return LastError("ptrace(SYSCALL)");
    auto stopped = WaitStop(pid_);
    if (!stopped.Ok()) return stopped.Error();
    int status = stopped.Value();
    if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
      stop++;
    } else if ((status >> 16) == 0) {
      held_signals_.push_back(WSTOPSIG(status));  // a signal-delivery stop: suppressed now, sent again later
    }                                             // else a group stop (PTRACE_EVENT_STOP): resume
  }
  if (auto read = ReadRegisters(pid_, regs); !read.Ok()) return read.Error();
  return SyscallResult(regs);
}

}  // namespace freezedry::core
