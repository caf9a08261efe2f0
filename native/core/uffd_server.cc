#include "core/uffd_server.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace freezedry::core {

namespace {

constexpr uint32_t kRestoreFinished = 0x52535446;  // "RSTF", criu-internals §2.3
constexpr uint64_t kPage = 4096;

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

struct UffdServer::Task {
  int32_t pid;
  UniqueFd uffd;
  std::map<uint64_t, LazyRange> ranges;  // by address
  uint64_t cursor = 0;                   // background fill continues here (after the last fault)
  std::vector<uint64_t> pending_faults;  // faults to serve again once events are read
  bool gone = false;
};

UffdServer::UffdServer(UniqueFd listener, WakeEvent wake) : listener_(std::move(listener)), wake_(std::move(wake)) {}

Result<std::unique_ptr<UffdServer>> UffdServer::Create(const std::string& socket_path, std::map<int32_t, std::vector<LazyRange>> ranges,
                                                       std::shared_ptr<PageSource> source, UffdServerOptions options) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) return Failure(ENAMETOOLONG, "bind", socket_path);
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return LastError("socket");
  UniqueFd listener(fd);
  ::unlink(socket_path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return LastError("bind", socket_path);
  if (::listen(fd, 1) != 0) return LastError("listen", socket_path);
  auto wake = WakeEvent::Create();
  if (!wake.Ok()) return wake.Error();
  std::unique_ptr<UffdServer> server(new UffdServer(std::move(listener), wake.Take()));
  server->socket_path_ = socket_path;
  server->table_ = std::move(ranges);
  server->source_ = std::move(source);
  server->options_ = options;
  // Not zeroed: 4 MiB of memset, and of page faults, cost the restore ~1 ms before CRIU could
  // start; the fill's first copies fault it in on this server's thread instead.
  server->buffer_.reset(new uint8_t[std::max(options.fill_chunk, options.fault_around)]);
  server->started_ns_ = NowNs();
  uint64_t pages = 0;
  for (auto& [pid, list] : server->table_) {
    for (auto& r : list) pages += r.length / kPage;
  }
  server->counters_.pages_total = pages;
  return server;
}

UffdServer::~UffdServer() { ::unlink(socket_path_.c_str()); }

void UffdServer::Release() { tasks_.clear(); }

int64_t UffdServer::Elapsed() const { return NowNs() - started_ns_; }

Status UffdServer::Accept(UniqueFd& connection) {
  for (;;) {
    auto readable = WaitReadable(listener_.Get(), wake_);
    if (!readable.Ok()) return readable.Error();
    if (!readable.Value()) return Failure(ECANCELED, "lazy pages", "stopped before CRIU connected");
    int fd = ::accept4(listener_.Get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      connection.Reset(fd);
      return OkStatus();
    }
    if (errno != EAGAIN && errno != EINTR) return LastError("accept4");
  }
}

// Reads the records CRIU sends: a pid, then the uffd on a 1-byte message; RSTF at the end.
Status UffdServer::ReceiveTasks(int connection, bool& finished, bool& closed) {
  for (;;) {
    int32_t pid;
    ssize_t got = ::recv(connection, &pid, sizeof pid, MSG_DONTWAIT | MSG_PEEK);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return OkStatus();
    if (got < 0) return LastError("recv");
    if (got == 0) {
      closed = true;
      return OkStatus();
    }
    if (got < static_cast<ssize_t>(sizeof pid)) return OkStatus();  // the rest is on its way
    ::recv(connection, &pid, sizeof pid, MSG_WAITALL);
    if (static_cast<uint32_t>(pid) == kRestoreFinished) {
      finished = true;
      continue;
    }
    if (pid < 0) continue;  // a zombie: no memory, no uffd
    char byte;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t got_byte = ::recvmsg(connection, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
    if (got_byte < 0) return LastError("recvmsg");
    if (got_byte == 0)
      return Failure(ECONNRESET, "lazy pages", "CRIU hung up before passing the userfaultfd of pid " + std::to_string(pid));
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    if (cmsg == nullptr || cmsg->cmsg_type != SCM_RIGHTS)
      return Failure(EPROTO, "lazy pages", "no userfaultfd with pid " + std::to_string(pid));
    int uffd;
    std::memcpy(&uffd, CMSG_DATA(cmsg), sizeof uffd);
    auto task = std::make_unique<Task>();
    task->pid = pid;
    task->uffd.Reset(uffd);
    for (const LazyRange& r : table_[pid]) task->ranges.emplace(r.address, r);
    tasks_.push_back(std::move(task));
    counters_.tasks++;
  }
}

void UffdServer::SplitAt(Task& task, uint64_t at) {
  auto it = task.ranges.upper_bound(at);
  if (it == task.ranges.begin()) return;
  LazyRange& r = std::prev(it)->second;
  if (r.address < at && at < r.address + r.length) {
    LazyRange after = r;
    after.address = at;
    after.offset = r.offset + (at - r.address);
    after.length = r.address + r.length - at;
    r.length = at - r.address;
    task.ranges.emplace(at, after);
  }
}

void UffdServer::Drop(Task& task, uint64_t start, uint64_t end) {
  auto it = task.ranges.upper_bound(start);
  if (it != task.ranges.begin()) --it;
  while (it != task.ranges.end() && it->first < end) {
    LazyRange r = it->second;
    uint64_t r_end = r.address + r.length;
    if (r_end <= start) {
      ++it;
      continue;
    }
    it = task.ranges.erase(it);
    if (r.address < start) {  // keep the part before
      LazyRange before = r;
      before.length = start - r.address;
      task.ranges.emplace(before.address, before);
    }
    if (r_end > end) {  // keep the part after
      LazyRange after = r;
      after.address = end;
      after.offset = r.offset + (end - r.address);
      after.length = r_end - end;
      it = task.ranges.emplace(after.address, after).first;
      ++it;
    }
  }
}

// Copies [start, end), which lies inside one range, into the process and forgets it.
Status UffdServer::Place(Task& task, uint64_t start, uint64_t end) {
  auto it = std::prev(task.ranges.upper_bound(start));
  const LazyRange& r = it->second;
  size_t size = end - start;
  uint64_t source_offset = r.offset + (start - r.address);
  const uint8_t* bytes = source_->View(r.image, source_offset, size);
  if (bytes == nullptr) {
    auto read = source_->Read(r.image, source_offset, buffer_.get(), size);
    if (!read.Ok()) return read;
    bytes = buffer_.get();
  }
  uint64_t done = 0;
  uint64_t step = size;  // one copy for the whole span, unless it no longer lies in one mapping
  while (done < size) {
    uffdio_copy copy{};
    copy.dst = start + done;
    copy.src = reinterpret_cast<uint64_t>(bytes + done);
    copy.len = std::min(step, size - done);
    copy.mode = 0;  // wake whoever waits on these pages
    if (::ioctl(task.uffd.Get(), UFFDIO_COPY, &copy) == 0) {
      done += static_cast<uint64_t>(copy.copy);
      continue;
    }
    if (copy.copy > 0) {  // partial progress before the error
      done += static_cast<uint64_t>(copy.copy);
      continue;
    }
    if (errno == EEXIST) {  // a page already there: skip it, carry on
      done += kPage;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN) {
      // The address space is changing: an event (fork, remap, …) waits to be read first, and
      // the process that caused it is blocked until then. Keep the rest for later.
      counters_.pages_copied += done / kPage;
      counters_.bytes_copied += done;
      Drop(task, start, start + done);
      placed_all_ = false;
      return OkStatus();
    } else if (errno == ESRCH || errno == ENOSPC) {
      task.gone = true;  // the process exited
      task.ranges.clear();
      return OkStatus();
    } else if (errno == ENOENT && step > kPage) {
      // The span crosses mappings now: an mprotect split one (no event tells of that). Page by
      // page, each lands or is found unregistered; skipping the whole span would lose pages.
      step = kPage;
    } else if (errno == ENOENT) {
      done += kPage;  // this page is no longer registered (unmapped meanwhile)
    } else {
      return LastError("UFFDIO_COPY");
    }
  }
  counters_.pages_copied += size / kPage;
  counters_.bytes_copied += size;
  Drop(task, start, end);
  return OkStatus();
}

Status UffdServer::ServeFault(Task& task, uint64_t address) {
  address &= ~(kPage - 1);
  counters_.faults++;
  fill_steps_ = 0;
  if (counters_.first_fault_ns < 0) counters_.first_fault_ns = Elapsed();
  auto it = task.ranges.upper_bound(address);
  if (it == task.ranges.begin() || std::prev(it)->second.address + std::prev(it)->second.length <= address) {
    // Not a lazy page (or placed already): give it zeros, as CRIU's daemon does.
    uffdio_zeropage zero{};
    zero.range.start = address;
    zero.range.len = kPage;
    if (::ioctl(task.uffd.Get(), UFFDIO_ZEROPAGE, &zero) != 0 && errno != EEXIST) {
      if (errno == ESRCH || errno == ENOSPC) {
        task.gone = true;
        return OkStatus();
      }
      if (errno == EAGAIN) {
        // An event (a discard, say) waits to be read: the faulting thread sleeps until these
        // zeros are placed, so serve the fault again once it is (not when the fill ends).
        task.pending_faults.push_back(address);
        return OkStatus();
      }
      if (errno != ENOENT) return LastError("UFFDIO_ZEROPAGE");
    }
    counters_.zero_pages++;
    return OkStatus();
  }
  const LazyRange& r = std::prev(it)->second;
  // Fault-around: the aligned window holding the address, clipped to the range.
  uint64_t window = options_.fault_around;
  uint64_t start = std::max(r.address, address & ~(window - 1));
  uint64_t end = std::min(r.address + r.length, start + window);
  task.cursor = end;
  placed_all_ = true;
  auto placed = Place(task, start, end);
  if (placed.Ok() && !placed_all_) task.pending_faults.push_back(address);
  return placed;
}

Status UffdServer::HandleUffd(Task& task) {
  for (;;) {
    uffd_msg msg;
    ssize_t got = ::read(task.uffd.Get(), &msg, sizeof msg);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return OkStatus();
    if (got < 0) return LastError("read", "userfaultfd");
    if (got == 0) {  // the process is gone
      task.gone = true;
      return OkStatus();
    }
    if (got != sizeof msg) return Failure(EPROTO, "userfaultfd", "short message");
    switch (msg.event) {
      case UFFD_EVENT_PAGEFAULT: {
        auto served = ServeFault(task, msg.arg.pagefault.address);
        if (!served.Ok()) return served;
        break;
      }
      case UFFD_EVENT_FORK: {
        // The child has a copy of the parent's memory, with the same pages still missing.
        auto child = std::make_unique<Task>();
        child->pid = -1;
        child->uffd.Reset(static_cast<int>(msg.arg.fork.ufd));
        child->ranges = task.ranges;
        for (const auto& [address, r] : child->ranges) counters_.pages_total += r.length / kPage;
        tasks_.push_back(std::move(child));
        counters_.tasks++;
        return OkStatus();  // tasks_ changed: the caller rebuilds its poll set
      }
      case UFFD_EVENT_REMAP: {
        uint64_t from = msg.arg.remap.from, to = msg.arg.remap.to, len = msg.arg.remap.len;
        // Only the moved span moves: cut ranges at its edges first.
        SplitAt(task, from);
        SplitAt(task, from + len);
        std::vector<LazyRange> moved;
        for (auto it = task.ranges.begin(); it != task.ranges.end();) {
          if (it->first >= from && it->first < from + len) {
            LazyRange r = it->second;
            r.address = r.address - from + to;
            moved.push_back(r);
            it = task.ranges.erase(it);
          } else {
            ++it;
          }
        }
        for (auto& r : moved) task.ranges.emplace(r.address, r);
        break;
      }
      case UFFD_EVENT_REMOVE: {
        // madvise(DONTNEED): the pages are gone; later faults there must get zeros, not old data.
        uffdio_range range{msg.arg.remove.start, msg.arg.remove.end - msg.arg.remove.start};
        ::ioctl(task.uffd.Get(), UFFDIO_UNREGISTER, &range);
        Drop(task, msg.arg.remove.start, msg.arg.remove.end);
        break;
      }
      case UFFD_EVENT_UNMAP:
        Drop(task, msg.arg.remove.start, msg.arg.remove.end);
        break;
      default:
        break;
    }
  }
}

bool UffdServer::AllDone() const {
  return std::all_of(tasks_.begin(), tasks_.end(), [](const auto& t) { return t->gone || t->ranges.empty(); });
}

// One background chunk for the next task that has pages left.
Status UffdServer::FillSome() {
  for (size_t tried = 0; tried < tasks_.size(); tried++) {
    Task& task = *tasks_[next_task_ % tasks_.size()];
    next_task_++;
    if (task.gone || task.ranges.empty()) continue;
    // Where the process last faulted, then stack and heap, then the lowest address.
    auto it = task.ranges.lower_bound(task.cursor);
    if (it == task.ranges.end() || task.cursor == 0) {
      it = std::find_if(task.ranges.begin(), task.ranges.end(), [](const auto& e) { return e.second.priority; });
      if (it == task.ranges.end()) it = task.ranges.begin();
    }
    const LazyRange& r = it->second;
    uint64_t start = r.address;
    // Small steps just after a fault (the next one may be close), larger as the tree stays quiet.
    auto chunk = [&](uint64_t steps) { return std::min<uint64_t>(options_.fill_chunk, options_.fault_around * steps); };
    fill_steps_++;
    uint64_t end = std::min(r.address + r.length, start + chunk(fill_steps_));
    task.cursor = end;
    // The next chunk (of this range, or else of the next one) is read from the source while
    // this one is placed.
    if (end < r.address + r.length) {
      source_->Prefetch(r.image, r.offset + (end - r.address), std::min(r.address + r.length, end + chunk(fill_steps_ + 1)) - end);
    } else if (auto next = std::next(it); next != task.ranges.end()) {
      source_->Prefetch(next->second.image, next->second.offset, std::min<uint64_t>(next->second.length, chunk(fill_steps_ + 1)));
    }
    return Place(task, start, end);
  }
  return OkStatus();
}

void UffdServer::Run(const EventSink& events) {
  UniqueFd connection;
  auto accepted = Accept(connection);
  if (!accepted.Ok()) {
    events(Event::kFailed, &accepted.Error());
    return;
  }
  bool restored = false, closed = false;
  for (;;) {
    if (!closed) {
      bool finished = false;
      auto received = ReceiveTasks(connection.Get(), finished, closed);
      if (!received.Ok()) {
        events(Event::kFailed, &received.Error());
        return;
      }
      if (finished && !restored) {
        restored = true;
        counters_.restored_ns = Elapsed();
        events(Event::kRestored, nullptr);
      }
      if (closed && !restored) {
        SysError failed = Failure(ECONNRESET, "lazy pages", "CRIU's restore ended before the tree was restored");
        events(Event::kFailed, &failed);
        return;
      }
    }
    if (restored && AllDone()) {
      counters_.complete_ns = Elapsed();
      tasks_.clear();  // closing the uffds ends the lazy ranges
      source_->Finish();
      // Let go of the source here, not on whoever closes the server (node's main thread): a
      // pages image's mapping, every page of it read, took 10-14 ms to unmap at 1 GiB.
      source_.reset();
      events(Event::kComplete, nullptr);
      return;
    }
    std::vector<pollfd> fds;
    fds.push_back({wake_.Fd(), POLLIN, 0});
    if (!closed) fds.push_back({connection.Get(), POLLIN, 0});
    size_t first_uffd = fds.size();
    for (auto& task : tasks_) fds.push_back({task->gone ? -1 : task->uffd.Get(), POLLIN, 0});
    // Faults first: wait only when there is nothing to fill in the background or to retry.
    bool retrying = std::any_of(tasks_.begin(), tasks_.end(), [](const auto& t) { return !t->pending_faults.empty(); });
    int64_t hold_off_ns = restored ? counters_.restored_ns.load() + options_.fill_hold_off_ns - Elapsed() : 0;
    bool filling = restored && hold_off_ns <= 0;
    int timeout = filling || retrying ? 0 : restored ? static_cast<int>(hold_off_ns / 1'000'000) + 1 : -1;
    int ready = ::poll(fds.data(), fds.size(), timeout);
    if (ready < 0 && errno != EINTR) {
      SysError failed = LastError("poll");
      events(Event::kFailed, &failed);
      return;
    }
    if (fds[0].revents != 0) {
      SysError stopped = Failure(ECANCELED, "lazy pages", "stopped");
      events(Event::kFailed, &stopped);
      return;
    }
    size_t count = tasks_.size();
    for (size_t i = 0; i < count; i++) {
      if (fds[first_uffd + i].revents == 0) continue;
      auto handled = HandleUffd(*tasks_[i]);
      if (!handled.Ok()) {
        events(Event::kFailed, &handled.Error());
        return;
      }
    }
    // Faults that met a pending event, now that events were read.
    for (size_t i = 0; i < tasks_.size(); i++) {
      std::vector<uint64_t> retry;
      retry.swap(tasks_[i]->pending_faults);
      for (uint64_t address : retry) {
        if (tasks_[i]->gone) break;
        counters_.faults--;  // the same fault, served late
        auto served = ServeFault(*tasks_[i], address);
        if (!served.Ok()) {
          events(Event::kFailed, &served.Error());
          return;
        }
      }
    }
    if (filling && ready <= 0) {
      auto filled = FillSome();
      if (!filled.Ok()) {
        events(Event::kFailed, &filled.Error());
        return;
      }
    }
  }
}

}  // namespace freezedry::core
