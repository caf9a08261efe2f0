// Syscall injection on arm64: `svc #0` (d4000001, little-endian, 4-byte aligned); number in
// x8, arguments in x0 and x1, the result in x0; registers through PTRACE_GETREGSET/SETREGSET
// (NT_PRSTATUS). The kernel has already rewound an interrupted call (pc back on its `svc`, x0
// its first argument) before the ptrace stop, so the saved registers, put back, restart it;
// the injected calls start afresh at our own `svc`.
#if defined(__aarch64__)
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#include "core/syscall_injection.h"

namespace freezedry::core {

SyscallInstruction ThisArchSyscallInstruction() { return {{0x01, 0x00, 0x00, 0xd4}, 4}; }

Status ReadRegisters(pid_t tid, ThreadRegisters& out) {
  iovec io{&out, sizeof out};
  if (::ptrace(PTRACE_GETREGSET, tid, reinterpret_cast<void*>(NT_PRSTATUS), &io) != 0) return LastError("ptrace(GETREGSET)");
  return OkStatus();
}

Status WriteRegisters(pid_t tid, const ThreadRegisters& in) {
  ThreadRegisters copy = in;
  iovec io{&copy, sizeof copy};
  if (::ptrace(PTRACE_SETREGSET, tid, reinterpret_cast<void*>(NT_PRSTATUS), &io) != 0) return LastError("ptrace(SETREGSET)");
  return OkStatus();
}

ThreadRegisters ForSyscall(const ThreadRegisters& saved, uint64_t at, uint64_t nr, uint64_t a0, uint64_t a1) {
  ThreadRegisters regs = saved;
  regs.pc = at;
  regs.regs[8] = nr;
  regs.regs[0] = a0;
  regs.regs[1] = a1;
  return regs;
}

int64_t SyscallResult(const ThreadRegisters& after) { return static_cast<int64_t>(after.regs[0]); }

}  // namespace freezedry::core
#endif
