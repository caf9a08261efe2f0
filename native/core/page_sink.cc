#include "core/page_sink.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <optional>

#include "core/page_server_protocol.h"
#include "core/pagemap_image.h"

namespace freezedry::core {

namespace ps = page_server;

namespace {

template <typename T>
Status Reply(int socket, T value) {
  ssize_t sent;
  do {
    sent = ::send(socket, &value, sizeof value, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent != static_cast<ssize_t>(sizeof value)) return LastError("send");
  return OkStatus();
}

}  // namespace

void WidenPageSocket(int socket, bool sending) {
  constexpr int kBytes = 32 << 20;
  // FORCE lifts the system's wmem_max/rmem_max caps (we are root); the plain option is capped.
  int forced = sending ? SO_SNDBUFFORCE : SO_RCVBUFFORCE;
  if (::setsockopt(socket, SOL_SOCKET, forced, &kBytes, sizeof kBytes) != 0) {
    (void)::setsockopt(socket, SOL_SOCKET, sending ? SO_SNDBUF : SO_RCVBUF, &kBytes, sizeof kBytes);
  }
}

Status ServePageSession(int socket, PageOutput& output, PageSinkCounters& counters) {
  WidenPageSocket(socket, false);
  std::optional<uint64_t> current;  // dst_id of the open image
  auto open = [&](uint64_t dst_id) -> Status {
    if (current) {
      auto ended = output.EndImage();
      if (!ended.Ok()) return ended;
    }
    uint32_t type = ps::ImageTypeOf(dst_id);
    if (type != ps::kTaskPages && type != ps::kShmemPages) {
      return Failure(EPROTO, "page-server", "unknown image type " + std::to_string(type));
    }
    current = dst_id;
    counters.images++;
    return output.BeginImage(type, ps::ImageIdOf(dst_id));
  };

  for (;;) {
    ps::Header header;
    ssize_t got;
    do {
      got = ::recv(socket, &header, sizeof header, MSG_WAITALL);
    } while (got < 0 && errno == EINTR);
    if (got < 0) return LastError("recv");
    if (got == 0) return Failure(EPIPE, "page-server", "CRIU went away before closing the page-server session");
    if (got != static_cast<ssize_t>(sizeof header)) return Failure(EPROTO, "page-server", "truncated command header");

    uint32_t command = ps::CommandOf(header);
    switch (command) {
      case ps::kOpen:
      case ps::kOpen2: {
        auto opened = open(header.dst_id);
        if (!opened.Ok()) return opened;
        // No parent images here: the sender must send every page it has.
        if (command == ps::kOpen2) {
          auto replied = Reply<uint8_t>(socket, 0);
          if (!replied.Ok()) return replied;
        }
        break;
      }
      case ps::kParent: {
        auto replied = Reply<int32_t>(socket, 0);
        if (!replied.Ok()) return replied;
        break;
      }
      case ps::kAdd:
      case ps::kHole:
      case ps::kAddFlagged: {
        if (!current || *current != header.dst_id) {
          auto opened = open(header.dst_id);  // old senders add without opening first
          if (!opened.Ok()) return opened;
        }
        if (!ps::RunFits(header.vaddr, header.nr_pages)) {
          return Failure(
              EPROTO, "page server",
              "an entry of " + std::to_string(header.nr_pages) + " pages at " + std::to_string(header.vaddr) + " fits no address space");
        }
        uint32_t flags = command == ps::kAdd ? ps::kPresent : command == ps::kHole ? ps::kInParent : ps::FlagsOf(header);
        auto added = output.AddEntry(header.vaddr, header.nr_pages, flags);
        if (!added.Ok()) return added;
        counters.entries++;
        counters.pages += header.nr_pages;
        if (flags & ps::kPresent) {
          uint64_t bytes = header.nr_pages * ps::kPageSize;
          auto received = output.ReceivePages(socket, bytes);
          if (!received.Ok()) return received;
          counters.bytes += bytes;
        }
        break;
      }
      case ps::kClose:
      case ps::kForceClose: {
        if (current) {
          auto ended = output.EndImage();
          if (!ended.Ok()) return ended;
        }
        auto replied = Reply<int32_t>(socket, 0);
        if (!replied.Ok()) return replied;
        if (command == ps::kClose) {
          // The sender closes its end next; wait for that, as criu page-server does.
          char byte;
          while (::recv(socket, &byte, 1, 0) > 0) {
          }
        }
        return OkStatus();
      }
      default:
        return Failure(EPROTO, "page-server", "unsupported command " + std::to_string(command));
    }
  }
}

// ---------------------------------------------------------------------------------------------

struct DirectoryOutput::Impl {
  std::mutex mutex;
  UniqueFd pipe_read, pipe_write;  // socket → pipe → file with splice: no copy through user space
  size_t pipe_size = 0;
  std::vector<std::string> files;
  std::optional<PagemapImage> pagemap;
  std::string pagemap_name;
  UniqueFd pages;
  uint64_t next_pages_id = 0x10001;  // as criu page-server numbers them, clear of the dumper's ids
  std::vector<uint8_t> buffer = std::vector<uint8_t>(1 << 20);
};

Result<std::unique_ptr<DirectoryOutput>> DirectoryOutput::Create(int dir_fd) {
  int copy = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return LastError("fcntl");
  std::unique_ptr<DirectoryOutput> output(new DirectoryOutput(UniqueFd(copy)));
  output->impl_ = std::make_shared<Impl>();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) == 0) {
    output->impl_->pipe_read.Reset(fds[0]);
    output->impl_->pipe_write.Reset(fds[1]);
    // As large as allowed (fs.pipe-max-size); the default 64 KiB would mean many small splices.
    for (int size : {4 << 20, 1 << 20, 256 << 10}) {
      int got = ::fcntl(fds[1], F_SETPIPE_SZ, size);
      if (got > 0) {
        output->impl_->pipe_size = static_cast<size_t>(got);
        break;
      }
    }
    if (output->impl_->pipe_size == 0) output->impl_->pipe_size = 64 << 10;
  }
  return output;
}

Status DirectoryOutput::BeginImage(uint32_t image_type, uint64_t image_id) {
  Impl& s = *impl_;
  uint64_t pages_id = s.next_pages_id++;
  std::string pages_name = PagemapImage::PagesFileName(pages_id);
  int fd = ::openat(dir_.Get(), pages_name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return LastError("openat", pages_name);
  s.pages.Reset(fd);
  s.pagemap.emplace(pages_id);
  s.pagemap_name = PagemapImage::FileName(image_type, image_id);
  std::lock_guard lock(s.mutex);
  s.files.push_back(pages_name);
  return OkStatus();
}

Status DirectoryOutput::AddEntry(uint64_t vaddr, uint64_t nr_pages, uint32_t flags) {
  impl_->pagemap->AddEntry(vaddr, nr_pages, flags);
  return OkStatus();
}

Status DirectoryOutput::ReceivePages(int socket, uint64_t bytes) {
  Impl& s = *impl_;
  while (bytes > 0 && s.pipe_read.Valid()) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(bytes, s.pipe_size));
    ssize_t in = ::splice(socket, nullptr, s.pipe_write.Get(), nullptr, chunk, SPLICE_F_MOVE | SPLICE_F_MORE);
    if (in < 0 && errno == EINTR) continue;
    if (in < 0 && (errno == EINVAL || errno == ENOSYS)) break;  // no splice here: copy below
    if (in < 0) return LastError("splice");
    if (in == 0) return Failure(EPIPE, "page-server", "the sender closed the connection in the middle of a message");
    size_t left = static_cast<size_t>(in);
    while (left > 0) {
      ssize_t out = ::splice(s.pipe_read.Get(), nullptr, s.pages.Get(), nullptr, left, SPLICE_F_MOVE | SPLICE_F_MORE);
      if (out < 0 && errno == EINTR) continue;
      if (out < 0) return LastError("splice", PagemapImage::PagesFileName(s.next_pages_id - 1));
      left -= static_cast<size_t>(out);
    }
    bytes -= static_cast<uint64_t>(in);
  }
  while (bytes > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(bytes, s.buffer.size()));
    auto read = ReadFully(socket, s.buffer.data(), chunk);
    if (!read.Ok()) return read;
    auto written = WriteFully(s.pages.Get(), s.buffer.data(), chunk);
    if (!written.Ok()) {
      SysError error = written.Error();
      error.path = PagemapImage::PagesFileName(s.next_pages_id - 1);
      return error;
    }
    bytes -= chunk;
  }
  return OkStatus();
}

Status DirectoryOutput::EndImage() {
  Impl& s = *impl_;
  s.pages.Reset();
  int fd = ::openat(dir_.Get(), s.pagemap_name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return LastError("openat", s.pagemap_name);
  UniqueFd file(fd);
  auto written = WriteFully(fd, s.pagemap->Bytes().data(), s.pagemap->Bytes().size());
  if (!written.Ok()) return written;
  std::lock_guard lock(s.mutex);
  s.files.push_back(s.pagemap_name);
  return OkStatus();
}

Status DiscardOutput::ReceivePages(int socket, uint64_t bytes) {
  while (bytes > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(bytes, buffer_.size()));
    auto read = ReadFully(socket, buffer_.data(), chunk);
    if (!read.Ok()) return read;
    bytes -= chunk;
  }
  return OkStatus();
}

std::vector<std::string> DirectoryOutput::Files() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->files;
}

}  // namespace freezedry::core
