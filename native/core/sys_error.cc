#include "core/sys_error.h"

#include <cctype>
#include <cerrno>
#include <cstring>

namespace freezedry::core {

namespace {
// The errno names Node knows (util.getSystemErrorName); an own table because
// strerrorname_np needs glibc >= 2.32.
// clang-format off
#define FREEZEDRY_ERRNO_NAMES(X)                                                                 \
  X(E2BIG) X(EACCES) X(EADDRINUSE) X(EADDRNOTAVAIL) X(EAFNOSUPPORT) X(EAGAIN) X(EALREADY)        \
  X(EBADF) X(EBADMSG) X(EBUSY) X(ECANCELED) X(ECHILD) X(ECONNABORTED) X(ECONNREFUSED)             \
  X(ECONNRESET) X(EDEADLK) X(EDESTADDRREQ) X(EDOM) X(EDQUOT) X(EEXIST) X(EFAULT) X(EFBIG)         \
  X(EHOSTUNREACH) X(EIDRM) X(EILSEQ) X(EINPROGRESS) X(EINTR) X(EINVAL) X(EIO) X(EISCONN)          \
  X(EISDIR) X(ELOOP) X(EMFILE) X(EMLINK) X(EMSGSIZE) X(EMULTIHOP) X(ENAMETOOLONG) X(ENETDOWN)     \
  X(ENETRESET) X(ENETUNREACH) X(ENFILE) X(ENOBUFS) X(ENODATA) X(ENODEV) X(ENOENT) X(ENOEXEC)      \
  X(ENOLCK) X(ENOLINK) X(ENOMEM) X(ENOMSG) X(ENOPROTOOPT) X(ENOSPC) X(ENOSR) X(ENOSTR) X(ENOSYS)  \
  X(ENOTCONN) X(ENOTDIR) X(ENOTEMPTY) X(ENOTSOCK) X(ENOTSUP) X(ENOTTY) X(ENXIO) X(EOVERFLOW)      \
  X(EPERM) X(EPIPE) X(EPROTO) X(EPROTONOSUPPORT) X(EPROTOTYPE) X(ERANGE) X(EROFS) X(ESPIPE)       \
  X(ESRCH) X(ESTALE) X(ETIME) X(ETIMEDOUT) X(ETXTBSY) X(EXDEV) X(ECHRNG) X(EBADE) X(EBADRQC)
// clang-format on

}  // namespace

const char* ErrnoName(int err) {
  switch (err) {
#define FREEZEDRY_ERRNO_CASE(name) \
  case name:                       \
    return #name;
    FREEZEDRY_ERRNO_NAMES(FREEZEDRY_ERRNO_CASE)
#undef FREEZEDRY_ERRNO_CASE
    default:
      return "UNKNOWN";
  }
}

const char* SysError::Code() const { return ErrnoName(err); }

std::string SysError::Message() const {
  char buf[256];
  // GNU strerror_r returns a pointer that may or may not be buf.
  const char* text = strerror_r(err, buf, sizeof buf);
  std::string description = text;
  // Node's messages start in lower case ("no such file or directory").
  if (!description.empty()) description[0] = static_cast<char>(std::tolower(description[0]));
  std::string message = std::string(Code()) + ": " + description + ", " + syscall;
  if (!path.empty()) message += " '" + path + "'";
  if (!detail.empty()) message += ": " + detail;
  return message;
}

SysError Failure(int err, std::string operation, std::string detail) { return SysError{err, std::move(operation), {}, std::move(detail)}; }

SysError LastError(std::string syscall, std::string path) { return SysError{errno, std::move(syscall), std::move(path), {}}; }

}  // namespace freezedry::core
