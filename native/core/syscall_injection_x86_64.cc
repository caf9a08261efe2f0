// Syscall injection on x86-64: `syscall` (0f 05); number in rax, arguments in rdi and rsi, the
// result in rax; orig_rax -1 so the kernel does not restart the interrupted call on resume.
#if defined(__x86_64__)
#include <sys/ptrace.h>

#include "core/syscall_injection.h"

namespace freezedry::core {

SyscallInstruction ThisArchSyscallInstruction() { return {{0x0f, 0x05}, 1}; }

Status ReadRegisters(pid_t tid, ThreadRegisters& out) {
  if (::ptrace(PTRACE_GETREGS, tid, nullptr, &out) != 0) return LastError("ptrace(GETREGS)");
  return OkStatus();
}

Status WriteRegisters(pid_t tid, const ThreadRegisters& in) {
  if (::ptrace(PTRACE_SETREGS, tid, nullptr, &in) != 0) return LastError("ptrace(SETREGS)");
  return OkStatus();
}

ThreadRegisters ForSyscall(const ThreadRegisters& saved, uint64_t at, uint64_t nr, uint64_t a0, uint64_t a1) {
  ThreadRegisters regs = saved;
  regs.rip = at;
  regs.rax = nr;
  regs.orig_rax = static_cast<uint64_t>(-1);  // not a syscall to restart
  regs.rdi = a0;
  regs.rsi = a1;
  return regs;
}

int64_t SyscallResult(const ThreadRegisters& after) { return static_cast<int64_t>(after.rax); }

}  // namespace freezedry::core
#endif
