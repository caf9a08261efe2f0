// The lazy-pages daemon of a restore: `criu restore --lazy-pages` hands every restored
// process's userfaultfd over `lazy-pages.socket` in its work directory (criu-internals.md §2.4);
// this serves their page faults first (with fault-around), and fills every other lazy page in
// the background: first where the process last faulted, then stack and heap, then the rest.
// A background copy blocks the next fault until it is done (on a cold disk, a 4 MiB one for tens
// of milliseconds), so copies start at the fault-around size after the restore and after each
// fault, and grow by that much at each step while no fault comes (as CRIU's daemon does).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/page_source.h"
#include "core/result.h"
#include "core/unique_fd.h"
#include "core/wake_event.h"

namespace freezedry::core {

struct LazyRange {
  uint64_t address;  // where the pages go (the dump-time address until a remap moves them)
  uint64_t length;   // bytes, a multiple of the page size, inside one VMA
  uint32_t image;    // the page source's image
  uint64_t offset;   // where the bytes are in that image
  bool priority;     // stack or heap: filled before the rest
};

struct UffdCounters {
  std::atomic<uint64_t> faults{0};        // page faults served
  std::atomic<uint64_t> pages_copied{0};  // pages placed, by faults and background fill
  std::atomic<uint64_t> bytes_copied{0};
  std::atomic<uint64_t> zero_pages{0};      // faults outside any lazy range
  std::atomic<uint64_t> tasks{0};           // userfaultfds received (processes, forks included)
  std::atomic<uint64_t> pages_total{0};     // lazy pages to place
  std::atomic<int64_t> first_fault_ns{-1};  // from the server's start to the first fault served
  std::atomic<int64_t> restored_ns{-1};     // when CRIU said the tree is restored
  std::atomic<int64_t> complete_ns{-1};     // when the last lazy page was placed
};

struct UffdServerOptions {
  size_t fault_around = 64 * 1024;      // bytes copied around a faulting address
  size_t fill_chunk = 4 * 1024 * 1024;  // most bytes per background copy
  // How long the background fill waits once CRIU says the tree is restored (faults are served at
  // once meanwhile): those moments may belong to whoever finishes the restore.
  int64_t fill_hold_off_ns = 0;
};

class UffdServer {
 public:
  enum class Event { kRestored, kComplete, kFailed };
  using EventSink = std::function<void(Event, const SysError*)>;

  // Listens on `socket_path` at once (CRIU connects to it when the restore starts).
  static Result<std::unique_ptr<UffdServer>> Create(const std::string& socket_path, std::map<int32_t, std::vector<LazyRange>> ranges,
                                                    std::shared_ptr<PageSource> source, UffdServerOptions options);
  ~UffdServer();

  // Runs until every lazy page is placed, the restore fails, or Stop(); on this thread.
  void Run(const EventSink& events);
  void Stop() { wake_.Signal(); }
  // Closes every userfaultfd (after Run returned): ranges still missing then read as zeros, so
  // the caller ends the tree first when the fill failed.
  void Release();
  const UffdCounters& Counters() const { return counters_; }

 private:
  UffdServer(UniqueFd listener, WakeEvent wake);
  struct Task;
  Status Accept(UniqueFd& connection);
  Status ReceiveTasks(int connection, bool& finished, bool& closed);
  Status HandleUffd(Task& task);
  Status ServeFault(Task& task, uint64_t address);
  Status FillSome();
  Status Place(Task& task, uint64_t start, uint64_t end);
  void Drop(Task& task, uint64_t start, uint64_t end);
  void SplitAt(Task& task, uint64_t at);
  bool AllDone() const;
  int64_t Elapsed() const;

  UniqueFd listener_;
  WakeEvent wake_;
  std::string socket_path_;
  std::map<int32_t, std::vector<LazyRange>> table_;
  std::shared_ptr<PageSource> source_;
  UffdServerOptions options_;
  UffdCounters counters_;
  std::vector<std::unique_ptr<Task>> tasks_;
  std::unique_ptr<uint8_t[]> buffer_;  // fill_chunk bytes (or fault_around, if larger)
  size_t next_task_ = 0;
  bool placed_all_ = true;   // whether the last Place() put every page in (false after EAGAIN)
  uint64_t fill_steps_ = 0;  // background copies since the last fault: each may be a little larger
  int64_t started_ns_ = 0;
};

}  // namespace freezedry::core
