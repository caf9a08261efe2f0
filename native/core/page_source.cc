#include "core/page_source.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
    Mapping mapping;
    struct stat info;
    if (::fstat(copy, &info) == 0 && info.st_size > 0) {
      void* data = ::mmap(nullptr, static_cast<size_t>(info.st_size), PROT_READ, MAP_SHARED, copy, 0);
      if (data != MAP_FAILED) {
        ::madvise(data, static_cast<size_t>(info.st_size), MADV_SEQUENTIAL);
        mapping = {static_cast<const uint8_t*>(data), static_cast<uint64_t>(info.st_size)};
      }
    }
    source->maps_.push_back(mapping);  // unmapped: Read() falls back to pread
  }
  return source;
}

FilePageSource::~FilePageSource() {
  for (const Mapping& m : maps_) {
    if (m.data != nullptr) ::munmap(const_cast<uint8_t*>(m.data), m.size);
  }
}

const uint8_t* FilePageSource::View(uint32_t image, uint64_t offset, size_t size) {
  if (image >= maps_.size() || maps_[image].data == nullptr || offset + size > maps_[image].size) return nullptr;
  return maps_[image].data + offset;
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
