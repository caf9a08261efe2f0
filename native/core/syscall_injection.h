// What running a system call inside another process's stopped, seized thread needs from the
// architecture: its registers, its system-call instruction, and how a call's number, arguments
// and result sit in the registers. One file per architecture implements it
// (syscall_injection_x86_64.cc, syscall_injection_aarch64.cc); the dirty tracker drives it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "core/result.h"

#if defined(__x86_64__)
#include <sys/user.h>
#elif defined(__aarch64__)
#include <asm/ptrace.h>
#endif

namespace freezedry::core {

#if defined(__x86_64__)
using ThreadRegisters = user_regs_struct;
#elif defined(__aarch64__)
using ThreadRegisters = user_pt_regs;
#else
#error "syscall injection is written for x86-64 and arm64 only"
#endif

// The instruction that enters the kernel, as bytes, and the alignment it is found at.
struct SyscallInstruction {
  std::vector<uint8_t> bytes;
  size_t alignment;
};
SyscallInstruction ThisArchSyscallInstruction();

Status ReadRegisters(pid_t tid, ThreadRegisters& out);
Status WriteRegisters(pid_t tid, const ThreadRegisters& in);

// `saved` changed to run syscall `nr`(a0, a1) from the instruction at `at`, so that resuming it
// does not restart the call it was interrupted in.
ThreadRegisters ForSyscall(const ThreadRegisters& saved, uint64_t at, uint64_t nr, uint64_t a0, uint64_t a1);

// The call's return value (a negative errno on failure) once it has returned.
int64_t SyscallResult(const ThreadRegisters& after);

}  // namespace freezedry::core
