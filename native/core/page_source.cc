#include "core/page_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace freezedry::core {

Result<std::unique_ptr<FilePageSource>> FilePageSource::Create(const std::vector<int>& fds) {
  auto source = std::make_unique<FilePageSource>();
  for (int fd : fds) {
    int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) return LastError("fcntl");
    source->files_.emplace_back(copy);
  }
  return source;
}

Status FilePageSource::Read(uint32_t image, uint64_t offset, uint8_t* out, size_t size) {
  if (image >= files_.size()) return Failure(EINVAL, "page source", "no pages image " + std::to_string(image));
  size_t done = 0;
  while (done < size) {
    ssize_t got = ::pread(files_[image].Get(), out + done, size - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return LastError("pread");
    if (got == 0) return Failure(ENODATA, "page source", "pages image " + std::to_string(image) + " is shorter than its pagemap says");
    done += static_cast<size_t>(got);
  }
  return OkStatus();
}

Status ArchivePageSource::Read(uint32_t image, uint64_t offset, uint8_t* out, size_t size) {
  if (image >= starts_.size()) return Failure(EINVAL, "page source", "no pages entry " + std::to_string(image));
  return reader_->Read(starts_[image] + offset, out, size);
}

}  // namespace freezedry::core
