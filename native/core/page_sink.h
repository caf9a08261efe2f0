// The receiving end of CRIU's page-server protocol: CRIU dumps with its page-server socket
// pointed at us (ps.fd), and every page it sends goes to a PageOutput (an image directory, an
// archive). criu-internals.md §3.7 lists what a receiver must accept.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/io.h"
#include "core/result.h"
#include "core/unique_fd.h"

namespace freezedry::core {

class PageOutput {
 public:
  virtual ~PageOutput() = default;
  // A new pagemap image for (type, id): pagemap-<id>.img or pagemap-shmem-<id>.img.
  virtual Status BeginImage(uint32_t image_type, uint64_t image_id) = 0;
  virtual Status AddEntry(uint64_t vaddr, uint64_t nr_pages, uint32_t flags) = 0;
  // Reads exactly `bytes` of page data for the last entry from `socket`.
  virtual Status ReceivePages(int socket, uint64_t bytes) = 0;
  virtual Status EndImage() = 0;
};

struct PageSinkCounters {
  std::atomic<uint64_t> bytes{0};    // page data received
  std::atomic<uint64_t> pages{0};    // pages in entries, present or not
  std::atomic<uint64_t> entries{0};  // pagemap entries
  std::atomic<uint64_t> images{0};   // pagemap images (processes and shared memory segments)
};

// Serves one page-server session on `socket` until CRIU's CLOSE; blocks. Ends with an error if
// the peer goes away before CLOSE, or sends what the protocol does not allow.
Status ServePageSession(int socket, PageOutput& output, PageSinkCounters& counters);

// Widens a page-server socket's buffer (`sending`: the send buffer of CRIU's end of a socket
// pair, else the receive buffer of ours), so that CRIU hands pages over without waiting on each
// of the sink's reads: a 1 GiB container's freeze over loopback TCP was ~120 ms shorter with
// 32 MiB (median of 6 pairs). Best effort: a socket that refuses keeps its buffer.
void WidenPageSocket(int socket, bool sending);

// Writes plain image files into a directory, as `criu page-server -D DIR` would: the result
// merges with CRIU's own images into a directory `criu restore` accepts.
class DirectoryOutput : public PageOutput {
 public:
  // Takes its own duplicate of dir_fd.
  static Result<std::unique_ptr<DirectoryOutput>> Create(int dir_fd);
  Status BeginImage(uint32_t image_type, uint64_t image_id) override;
  Status AddEntry(uint64_t vaddr, uint64_t nr_pages, uint32_t flags) override;
  Status ReceivePages(int socket, uint64_t bytes) override;
  Status EndImage() override;
  // The files written so far.
  std::vector<std::string> Files() const;

 private:
  explicit DirectoryOutput(UniqueFd dir) : dir_(std::move(dir)) {}
  struct Impl;
  UniqueFd dir_;
  std::shared_ptr<Impl> impl_;
};

// Receives and drops every page: the protocol's own cost, for benchmarks and probes.
class DiscardOutput : public PageOutput {
 public:
  Status BeginImage(uint32_t, uint64_t) override { return OkStatus(); }
  Status AddEntry(uint64_t, uint64_t, uint32_t) override { return OkStatus(); }
  Status ReceivePages(int socket, uint64_t bytes) override;
  Status EndImage() override { return OkStatus(); }

 private:
  std::vector<uint8_t> buffer_ = std::vector<uint8_t>(1 << 20);
};

}  // namespace freezedry::core
