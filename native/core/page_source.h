// Where a lazy restore's pages come from: image files, or an archive read through its seek
// table. Read() is called from the uffd server's thread.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/archive_reader.h"
#include "core/result.h"
#include "core/unique_fd.h"

namespace freezedry::core {

class PageSource {
 public:
  virtual ~PageSource() = default;
  // Reads `size` bytes at `offset` of pages image number `image`.
  virtual Status Read(uint32_t image, uint64_t offset, uint8_t* out, size_t size) = 0;
  // The bytes in place, when the source can show them without copying (nullptr otherwise).
  virtual const uint8_t* View(uint32_t, uint64_t, size_t) { return nullptr; }
  // The background fill will read these next: a source may start reading them now.
  virtual void Prefetch(uint32_t, uint64_t, size_t) {}
  // Every page was placed: a remote source can end its session.
  virtual void Finish() {}
};

// pages-<id>.img files, by index. Pages in the page cache go from it straight into the restored
// process (through a read-only mapping); the rest are read with pread, so that the disk reads
// what a fault asks for (a mapping's fault would read ahead megabytes first) and the
// background fill reads large sequential chunks. The fill's next chunk is asked of the disk
// (WILLNEED) while the current one is copied in: a fault then waits behind at most that one
// chunk's read, and the fill no longer leaves the disk idle while it copies.
class FilePageSource : public PageSource {
 public:
  // Takes its own duplicates of the fds.
  static Result<std::unique_ptr<FilePageSource>> Create(const std::vector<int>& fds);
  ~FilePageSource() override;
  Status Read(uint32_t image, uint64_t offset, uint8_t* out, size_t size) override;
  const uint8_t* View(uint32_t image, uint64_t offset, size_t size) override;
  void Prefetch(uint32_t image, uint64_t offset, size_t size) override;

 private:
  struct Mapping {
    const uint8_t* data = nullptr;
    uint64_t size = 0;
  };
  bool Resident(const uint8_t* start, size_t size);

  std::vector<UniqueFd> files_;
  std::vector<Mapping> maps_;
  std::vector<unsigned char> residency_;  // mincore's answer, reused (one caller: the uffd thread)
};

// Entries of an archive: image i starts at stream offset `starts[i]`.
class ArchivePageSource : public PageSource {
 public:
  ArchivePageSource(std::shared_ptr<ArchiveReader> reader, std::vector<uint64_t> starts)
      : reader_(std::move(reader)), starts_(std::move(starts)) {}
  Status Read(uint32_t image, uint64_t offset, uint8_t* out, size_t size) override;
  // Only the background fill decompresses ahead: a fault's read does not, or the frames after
  // each fault would take a core from the restored process and from the next fault.
  void Prefetch(uint32_t image, uint64_t offset, size_t size) override;

 private:
  std::shared_ptr<ArchiveReader> reader_;
  std::vector<uint64_t> starts_;
};

// A remote page server speaking CRIU's GET protocol (criu-internals.md §2.6): a stock
// `criu dump --lazy-pages` or `criu page-server --lazy-pages`. Image i is the task with image
// pid pids[i], and offsets are that task's dump-time addresses. A non-empty `ticket` is sent
// first, for a relay in front of the page server that admits only the peer holding it.
class RemotePageSource : public PageSource {
 public:
  static Result<std::unique_ptr<RemotePageSource>> Connect(const std::string& address, uint16_t port, std::vector<int32_t> pids,
                                                           const std::string& ticket = "");
  ~RemotePageSource() override;
  Status Read(uint32_t image, uint64_t offset, uint8_t* out, size_t size) override;
  void Finish() override;

 private:
  UniqueFd socket_;
  std::vector<int32_t> pids_;
  bool finished_ = false;
};

// Images [0, count) from `first`, the rest from `second` (which numbers them from 0): pages
// pre-copied into local files, with whatever they lack pulled from a remote source.
class SplitPageSource : public PageSource {
 public:
  SplitPageSource(std::shared_ptr<PageSource> first, uint32_t count, std::shared_ptr<PageSource> second)
      : first_(std::move(first)), count_(count), second_(std::move(second)) {}
  Status Read(uint32_t image, uint64_t offset, uint8_t* out, size_t size) override {
    return image < count_ ? first_->Read(image, offset, out, size) : second_->Read(image - count_, offset, out, size);
  }
  const uint8_t* View(uint32_t image, uint64_t offset, size_t size) override {
    return image < count_ ? first_->View(image, offset, size) : nullptr;
  }
  void Prefetch(uint32_t image, uint64_t offset, size_t size) override {
    if (image < count_) first_->Prefetch(image, offset, size);
  }
  void Finish() override {
    first_->Finish();
    second_->Finish();
  }

 private:
  std::shared_ptr<PageSource> first_;
  uint32_t count_;
  std::shared_ptr<PageSource> second_;
};

}  // namespace freezedry::core
