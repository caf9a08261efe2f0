#include "core/page_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "core/page_server_protocol.h"
#include "core/io.h"

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
        // Only resident pages are read through it (Resident()); one evicted meanwhile is read alone.
        ::madvise(data, static_cast<size_t>(info.st_size), MADV_RANDOM);
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

bool FilePageSource::Resident(const uint8_t* start, size_t size) {
  constexpr uint64_t kPage = page_server::kPageSize;
  auto first = reinterpret_cast<uintptr_t>(start) & ~(kPage - 1);
  size_t length = reinterpret_cast<uintptr_t>(start) + size - first;
  residency_.resize((length + kPage - 1) / kPage);
  if (::mincore(reinterpret_cast<void*>(first), length, residency_.data()) != 0) return false;
  for (unsigned char page : residency_) {
    if ((page & 1) == 0) return false;
  }
  return true;
}

const uint8_t* FilePageSource::View(uint32_t image, uint64_t offset, size_t size) {
  if (image >= maps_.size() || maps_[image].data == nullptr || offset + size > maps_[image].size) return nullptr;
  const uint8_t* start = maps_[image].data + offset;
  return Resident(start, size) ? start : nullptr;
}

void FilePageSource::Prefetch(uint32_t image, uint64_t offset, size_t size) {
  if (image >= files_.size() || size == 0) return;
  // Asynchronous: the kernel queues the reads of what is not cached yet and returns.
  (void)::posix_fadvise(files_[image].Get(), static_cast<off_t>(offset), static_cast<off_t>(size), POSIX_FADV_WILLNEED);
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

Result<std::unique_ptr<RemotePageSource>> RemotePageSource::Connect(const std::string& address, uint16_t port, std::vector<int32_t> pids,
                                                                    const std::string& ticket) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    return Failure(EINVAL, "page server", "not an IPv4 address: " + address);
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return LastError("socket");
  auto source = std::make_unique<RemotePageSource>();
  source->socket_.Reset(fd);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return LastError("connect", address + ":" + std::to_string(port));
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // requests are small and awaited
  // A cut link must end the fill (and the tree) rather than leave it waiting for ever.
  timeval patience{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &patience, sizeof patience);
  if (!ticket.empty()) {
    auto sent = WriteFully(fd, reinterpret_cast<const uint8_t*>(ticket.data()), ticket.size());
    if (!sent.Ok()) return sent.Error();
  }
  source->pids_ = std::move(pids);
  return source;
}

// Ended without Finish (the restore or the fill failed): the socket just closes. Asking the page
// server to close and waiting for its answer would hold whoever ends this (the agent's main
// thread) for as long as the server takes, up to the 30 s patience, with the source waiting too.
RemotePageSource::~RemotePageSource() = default;

Status RemotePageSource::Read(uint32_t image, uint64_t offset, uint8_t* out, size_t size) {
  if (image >= pids_.size()) return Failure(EINVAL, "page server", "no task " + std::to_string(image));
  uint64_t done = 0;
  while (done < size) {
    page_server::Header request{page_server::kGet, 0, (size - done) / page_server::kPageSize, offset + done,
                                static_cast<uint64_t>(pids_[image])};
    auto sent = WriteFully(socket_.Get(), reinterpret_cast<const uint8_t*>(&request), sizeof request);
    if (!sent.Ok()) return Failure(ECONNRESET, "page server", "the source went away: " + sent.Error().Message());
    page_server::Header reply;
    auto got = ReadFully(socket_.Get(), reinterpret_cast<uint8_t*>(&reply), sizeof reply);
    if (!got.Ok()) return Failure(ECONNRESET, "page server", "the source went away mid-transfer");
    // nr_pages is checked before it is multiplied: a lying count could wrap to a small size.
    if (reply.nr_pages == 0 || reply.nr_pages > (size - done) / page_server::kPageSize || reply.vaddr != offset + done) {
      return Failure(EPROTO, "page server", "unexpected answer to a request for " + std::to_string(offset + done));
    }
    uint64_t bytes = reply.nr_pages * page_server::kPageSize;
    if (bytes > size - done) {
      return Failure(EPROTO, "page server", "unexpected answer to a request for " + std::to_string(offset + done));
    }
    got = ReadFully(socket_.Get(), out + done, bytes);
    if (!got.Ok()) return Failure(ECONNRESET, "page server", "the source went away mid-transfer");
    done += bytes;
  }
  return OkStatus();
}

void RemotePageSource::Finish() {
  if (finished_ || !socket_.Valid()) return;
  finished_ = true;
  page_server::Header close{page_server::kClose, 0, 0, 0, 0};
  if (WriteFully(socket_.Get(), reinterpret_cast<const uint8_t*>(&close), sizeof close).Ok()) {
    int32_t status;
    (void)ReadFully(socket_.Get(), reinterpret_cast<uint8_t*>(&status), sizeof status);
  }
  socket_.Reset();
}

Status ArchivePageSource::Read(uint32_t image, uint64_t offset, uint8_t* out, size_t size) {
  if (image >= starts_.size()) return Failure(EINVAL, "page source", "no pages entry " + std::to_string(image));
  return reader_->Read(starts_[image] + offset, out, size);
}

void ArchivePageSource::Prefetch(uint32_t image, uint64_t offset, size_t size) {
  if (image < starts_.size() && size > 0) reader_->Prefetch(starts_[image] + offset);
}

}  // namespace freezedry::core
