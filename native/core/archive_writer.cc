#include "core/archive_writer.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <new>
#include <optional>
#include <thread>

#include "core/archive_format.h"
#include "core/byte_buffer.h"
#include "core/io.h"
#include "core/unique_fd.h"

namespace freezedry::core {

namespace {

constexpr int kCompressorNice = 10;
// How far behind the writer the disk may be in durable mode: one such range is written back
// while the next is written.
constexpr uint64_t kWritebackChunk = 8 << 20;
// Frame buffers kept for reuse once their frame is written. A fresh buffer costs a page fault
// per 4 KiB as it is first filled (perf: a seventh of a dump's CPU went to faulting in new
// frames); a few spares cover the frames in flight while the compressors keep up.
constexpr size_t kSpareBuffers = 16;
// At a frame's start, page data is read this much at a time and looked at before it is kept: a
// run of zero pages (memory a process touched and left zero) is counted, not copied, and becomes
// an RLE frame. Stored, those MiBs were fresh memory to fault in (~0.6 ms/MiB here, more than
// compressing them) and bytes for the compressors; a frame that does not start with zeros is
// read in place as before.
constexpr size_t kZeroProbe = 64 << 10;

struct Job {
  ByteBuffer input;
  size_t stream_bytes = 0;   // what the frame decompresses to
  size_t pending_bytes = 0;  // counted against max_pending_bytes until written
  ByteBuffer output;
  bool raw = false;             // input is already a complete frame
  bool compressing = false;     // a compressor has taken it
  bool stored = false;          // the writer took it uncompressed (adaptive)
  int64_t reserved_entry = -1;  // the entry whose header this raw frame reserves
  bool done = false;
  std::optional<SysError> failure;  // it could not be compressed (or stored)
};

bool AllZero(const uint8_t* data, size_t size) {
  // Page data: stops at the first word that is not zero, which in most pages is the first.
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    std::memcpy(&word, data + i, 8);
    if (word != 0) return false;
  }
  for (; i < size; i++) {
    if (data[i] != 0) return false;
  }
  return true;
}

}  // namespace

struct ArchiveWriter::Impl {
  ArchiveWriterOptions options;
  UniqueFd fd;
  ArchiveCounters counters;

  // Producer side (one thread at a time).
  ByteBuffer frame;
  size_t zero_bytes = 0;  // the frame so far is this many zeros, not stored: `frame` is empty
  size_t zero_checksum_size = 0;
  uint32_t zero_checksum = 0;  // of zero_checksum_size zeros (frames of zeros are mostly one size)
  uint64_t stream_offset = 0;
  std::vector<ArchiveEntryInfo> entries;
  bool in_entry = false;
  XXH3_state_t* hash = XXH3_createState();
  std::vector<std::pair<size_t, std::vector<uint8_t>>> header_patches;

  // Shared with the threads.
  mutable std::mutex mutex;
  std::condition_variable work_ready, job_done, space_free;
  std::deque<std::shared_ptr<Job>> to_compress;
  std::deque<std::shared_ptr<Job>> in_order;
  size_t pending_bytes = 0;  // of the jobs in in_order
  unsigned busy_compressors = 0;
  std::vector<SeekTableEntry> seek_table;
  uint64_t file_offset = 0;
  bool stopping = false;
  std::optional<SysError> error;
  std::vector<std::thread> threads;

  std::vector<ByteBuffer> spares;  // emptied frame buffers of spare_capacity, for reuse
  size_t spare_capacity = 0;       // room for a frame and for its compressed form

  // The writer thread's own: the file range not yet handed to the disk, and the one that was last.
  bool pacing = true;
  uint64_t writeback_from = 0;
  uint64_t written_back_from = 0, written_back_to = 0;

  ~Impl() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    work_ready.notify_all();
    job_done.notify_all();
    space_free.notify_all();
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
    XXH3_freeState(hash);
  }

  void Compressor() {
    // Compression yields the CPU to whoever feeds it: while CRIU dumps, the process is frozen
    // until its pages are handed over, and on two cores compressing alongside slows the handover.
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kCompressorNice);
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, options.level);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);  // a flipped byte fails its frame
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock lock(mutex);
        work_ready.wait(lock, [&] { return stopping || !to_compress.empty(); });
        if (to_compress.empty()) break;
        // Adaptive: the newest frame, so that the writer, storing the oldest, meets the
        // compressors as late as possible.
        if (options.adaptive) {
          job = to_compress.back();
          to_compress.pop_back();
        } else {
          job = to_compress.front();
          to_compress.pop_front();
        }
        job->compressing = true;
        busy_compressors++;
      }
      if (options.adaptive) job_done.notify_all();  // the writer may store the frame ahead
      std::optional<SysError> failure;
      size_t size = 0;
      try {
        {
          std::lock_guard lock(mutex);
          job->output = TakeSpare();
        }
        job->output.resize(ZSTD_compressBound(job->input.size()));
        if (cctx == nullptr) {
          failure = Failure(ENOMEM, "ZSTD_createCCtx", "out of memory");
        } else {
          size = ZSTD_compress2(cctx, job->output.data(), job->output.size(), job->input.data(), job->input.size());
          if (ZSTD_isError(size)) failure = Failure(EIO, "ZSTD_compress2", ZSTD_getErrorName(size));
        }
      } catch (const std::bad_alloc&) {
        // On this thread an exception would end the process: the archive fails instead.
        failure = Failure(ENOMEM, "archive", "out of memory for a frame");
      }
      {
        std::lock_guard lock(mutex);
        if (failure) {
          job->failure = failure;
        } else {
          job->output.resize(size);
        }
        job->done = true;
        busy_compressors--;
      }
      job_done.notify_all();
    }
    ZSTD_freeCCtx(cctx);
  }

  // Adaptive: the frame at the head of the order is taken uncompressed when every compressor
  // is busy with others, rather than waited for.
  bool StoreAhead(const Job& head) const {
    return options.adaptive && !head.done && !head.compressing && busy_compressors >= options.threads;
  }

  void Writer() {
    // Writing, and starting the writeback (ext4 allocates blocks in this thread), yields to
    // CRIU's handover as compression does: in a 512 MiB dump at normal priority it added 40-60
    // ms to the freeze.
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kCompressorNice);
    for (;;) {
      std::shared_ptr<Job> job;
      uint64_t at;
      {
        std::unique_lock lock(mutex);
        job_done.wait(lock, [&] {
          if (in_order.empty()) return stopping;
          return in_order.front()->done || StoreAhead(*in_order.front());
        });
        if (in_order.empty()) break;
        job = in_order.front();
        if (!job->done) {
          // Not compressing and not done: still queued for a compressor (StoreAhead).
          auto queued = std::find(to_compress.begin(), to_compress.end(), job);
          if (queued != to_compress.end()) to_compress.erase(queued);
          job->stored = true;
          job->done = true;
        }
        at = file_offset;
      }
      if (job->stored) {
        try {
          {
            std::lock_guard lock(mutex);
            job->output = TakeSpare();
          }
          job->output.resize(StoredFrameSize(job->input.size()));
          WriteStoredFrame(job->input.data(), job->input.size(), job->output.data());
        } catch (const std::bad_alloc&) {
          job->failure = Failure(ENOMEM, "archive", "out of memory for a frame");
        }
      }
      Status written = OkStatus();
      if (job->failure) {
        written = *job->failure;
      } else if (!error) {
        written = WriteFully(fd.Get(), job->output.data(), job->output.size());
        if (written.Ok() && options.durable) WriteBack(at + job->output.size());
      }
      {
        std::lock_guard lock(mutex);
        if (!written.Ok() && !error) error = written.Error();
        if (job->reserved_entry >= 0) {
          entries[static_cast<size_t>(job->reserved_entry)].reserved_header_at = static_cast<int64_t>(file_offset + kRawFrameHeaderSize);
        }
        try {
          seek_table.push_back({static_cast<uint32_t>(job->output.size()), static_cast<uint32_t>(job->stream_bytes)});
        } catch (const std::bad_alloc&) {
          if (!error) error = Failure(ENOMEM, "archive", "out of memory for the seek table");
        }
        file_offset += job->output.size();
        counters.bytes_out += job->output.size();
        if (job->stored) counters.bytes_stored += job->input.size();
        pending_bytes -= job->pending_bytes;
        in_order.pop_front();
        KeepSpare(job->input);
        KeepSpare(job->output);
      }
      space_free.notify_all();
      job_done.notify_all();
    }
  }

  // Durable mode: starts the writeback of what was written since the last call (every
  // kWritebackChunk); paced, waits for the range started before it. A file system that cannot
  // (sync_file_range fails) is left to the final fsync.
  void WriteBack(uint64_t end) {
    if (!pacing || end - writeback_from < kWritebackChunk) return;
    int file = fd.Get();
    if (::sync_file_range(file, static_cast<off_t>(writeback_from), static_cast<off_t>(end - writeback_from), SYNC_FILE_RANGE_WRITE) != 0) {
      pacing = false;
      return;
    }
    if (options.paced && written_back_to > written_back_from) {
      (void)::sync_file_range(file, static_cast<off_t>(written_back_from), static_cast<off_t>(written_back_to - written_back_from),
                              SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    }
    written_back_from = writeback_from;
    written_back_to = end;
    writeback_from = end;
  }

  Status Submit(std::shared_ptr<Job> job) {
    std::unique_lock lock(mutex);
    job->pending_bytes = std::max(job->input.size(), size_t{1});
    // One frame always goes ahead, however large: the bound cannot stall the writer.
    space_free.wait(
        lock, [&] { return error.has_value() || in_order.empty() || pending_bytes + job->pending_bytes <= options.max_pending_bytes; });
    if (error) return *error;
    pending_bytes += job->pending_bytes;
    in_order.push_back(job);
    if (job->raw) {
      job->output = std::move(job->input);
      job->input.clear();
      job->done = true;
      job_done.notify_all();
    } else {
      to_compress.push_back(job);
      work_ready.notify_one();
      if (options.adaptive) job_done.notify_all();  // the writer may store it if no compressor is free
    }
    return OkStatus();
  }

  Status FlushFrame() {
    if (zero_bytes > 0) return FlushZeros();
    if (frame.empty()) return OkStatus();
    auto job = std::make_shared<Job>();
    job->stream_bytes = frame.size();
    job->input.swap(frame);
    {
      std::lock_guard lock(mutex);
      frame = TakeSpare();
    }
    return Submit(job);
  }

  // The frame is zero_bytes of zeros: it goes as an RLE frame, needing no compressor.
  Status FlushZeros() {
    if (zero_checksum_size != zero_bytes) {
      zero_checksum = ZeroChecksum(zero_bytes);
      zero_checksum_size = zero_bytes;
    }
    auto job = std::make_shared<Job>();
    job->raw = true;
    job->stream_bytes = zero_bytes;
    std::vector<uint8_t> made = ZeroFrame(zero_bytes, zero_checksum);
    job->input.assign(made.begin(), made.end());
    zero_bytes = 0;
    return Submit(job);
  }

  // The zeros counted so far go into the frame, before bytes that are not all zero; `probe`
  // bytes already read at the frame's start move up behind them.
  void StoreZeros(size_t probe) {
    if (zero_bytes == 0) return;
    frame.resize(zero_bytes + probe);
    std::memmove(frame.data() + zero_bytes, frame.data(), probe);
    std::memset(frame.data(), 0, zero_bytes);
    zero_bytes = 0;
  }

  // With mutex held: an empty buffer of spare_capacity, a kept one when there is one.
  ByteBuffer TakeSpare() {
    ByteBuffer buffer;
    if (!spares.empty()) {
      buffer = std::move(spares.back());
      spares.pop_back();
    } else {
      buffer.reserve(spare_capacity);
    }
    return buffer;
  }

  // With mutex held: keeps `buffer` for reuse when it is of the usual size and few are kept.
  void KeepSpare(ByteBuffer& buffer) {
    if (buffer.capacity() == spare_capacity && spares.size() < kSpareBuffers) {
      buffer.clear();
      spares.push_back(std::move(buffer));
    }
    buffer = ByteBuffer();
  }

  Status Append(const uint8_t* data, size_t size) {
    if (size == 0) return OkStatus();
    if (frame.size() + zero_bytes >= options.frame_size) {
      auto flushed = FlushFrame();
      if (!flushed.Ok()) return flushed;
    }
    StoreZeros(0);
    while (size > 0) {
      size_t room = options.frame_size - std::min(frame.size(), options.frame_size);
      size_t take = std::min(room, size);
      frame.insert(frame.end(), data, data + take);
      data += take;
      size -= take;
      stream_offset += take;
      counters.bytes_in += take;
      if (frame.size() >= options.frame_size) {
        auto flushed = FlushFrame();
        if (!flushed.Ok()) return flushed;
      }
    }
    return OkStatus();
  }

  Status Failed() const {
    std::lock_guard lock(mutex);
    if (error) return *error;
    return OkStatus();
  }
};

Result<std::unique_ptr<ArchiveWriter>> ArchiveWriter::Create(int fd, const ArchiveWriterOptions& options) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return LastError("fcntl");
  std::unique_ptr<ArchiveWriter> writer(new ArchiveWriter());
  writer->impl_ = std::make_unique<Impl>();
  Impl& s = *writer->impl_;
  s.options = options;
  if (s.options.threads == 0) s.options.threads = 1;
  s.fd.Reset(copy);
  s.spare_capacity = ZSTD_compressBound(options.frame_size + kTarBlock);
  s.frame.reserve(s.spare_capacity);
  s.spares.reserve(kSpareBuffers);  // KeepSpare, on the writer thread, then never allocates
  for (unsigned i = 0; i < s.options.threads; i++) s.threads.emplace_back([&s] { s.Compressor(); });
  s.threads.emplace_back([&s] { s.Writer(); });
  return writer;
}

ArchiveWriter::~ArchiveWriter() = default;

Result<size_t> ArchiveWriter::BeginEntry(const std::string& name, const uint8_t* header) {
  Impl& s = *impl_;
  if (s.in_entry) return Failure(EINVAL, "archive", "an entry is already open");
  // Every tar header starts a frame, so a reader finds headers without decompressing data.
  auto flushed = s.FlushFrame();
  if (!flushed.Ok()) return flushed.Error();
  size_t index;
  {
    std::lock_guard lock(s.mutex);
    s.entries.push_back(ArchiveEntryInfo{name, s.stream_offset});
    index = s.entries.size() - 1;
  }
  if (header != nullptr) {
    auto appended = s.Append(header, kTarBlock);
    if (!appended.Ok()) return appended.Error();
  } else {
    auto job = std::make_shared<Job>();
    job->raw = true;
    job->reserved_entry = static_cast<int64_t>(index);
    std::vector<uint8_t> raw = RawFrame(std::vector<uint8_t>(kTarBlock, 0));
    job->input.assign(raw.begin(), raw.end());
    job->stream_bytes = kTarBlock;
    s.stream_offset += kTarBlock;
    s.counters.bytes_in += kTarBlock;
    auto submitted = s.Submit(job);
    if (!submitted.Ok()) return submitted.Error();
  }
  XXH3_64bits_reset(s.hash);
  s.in_entry = true;
  return index;
}

Status ArchiveWriter::Write(const uint8_t* data, size_t size) {
  Impl& s = *impl_;
  XXH3_64bits_update(s.hash, data, size);
  {
    std::lock_guard lock(s.mutex);  // entries[].size is read by Entries() from other threads
    s.entries.back().size += size;
  }
  return s.Append(data, size);
}

Status ArchiveWriter::WriteFrom(int fd, uint64_t size) {
  Impl& s = *impl_;
  while (size > 0) {
    if (s.frame.size() + s.zero_bytes >= s.options.frame_size) {
      auto flushed = s.FlushFrame();
      if (!flushed.Ok()) return flushed;
    }
    size_t room = s.options.frame_size - s.frame.size() - s.zero_bytes;
    size_t take = static_cast<size_t>(std::min<uint64_t>(room, size));
    // An empty frame is probed: read into its buffer's start, and kept only if not all zeros.
    bool probing = s.frame.empty();
    if (probing) take = std::min(take, kZeroProbe);
    size_t start = s.frame.size();
    s.frame.resize(start + take);
    auto read = ReadFully(fd, s.frame.data() + start, take);
    if (!read.Ok()) {
      s.frame.resize(start);
      return read;
    }
    XXH3_64bits_update(s.hash, s.frame.data() + start, take);
    if (probing) {
      if (AllZero(s.frame.data(), take)) {
        s.frame.clear();
        s.zero_bytes += take;
      } else {
        s.StoreZeros(take);
      }
    }
    s.stream_offset += take;
    s.counters.bytes_in += take;
    {
      std::lock_guard lock(s.mutex);
      s.entries.back().size += take;
    }
    size -= take;
  }
  return s.Failed();
}

Result<ArchiveEntryInfo> ArchiveWriter::EndEntry() {
  Impl& s = *impl_;
  if (!s.in_entry) return Failure(EINVAL, "archive", "no entry is open");
  s.in_entry = false;
  ArchiveEntryInfo info;
  {
    std::lock_guard lock(s.mutex);
    s.entries.back().checksum = XXH3_64bits_digest(s.hash);
    info = s.entries.back();
  }
  static const uint8_t zeros[kTarBlock] = {};
  size_t padding = (kTarBlock - info.size % kTarBlock) % kTarBlock;
  auto padded = s.Append(zeros, padding);
  if (!padded.Ok()) return padded.Error();
  return info;
}

Status ArchiveWriter::SetReservedHeader(size_t entry, const uint8_t* header) {
  Impl& s = *impl_;
  s.header_patches.emplace_back(entry, std::vector<uint8_t>(header, header + kTarBlock));
  return OkStatus();
}

Result<uint64_t> ArchiveWriter::Finish(bool sync) {
  Impl& s = *impl_;
  if (s.in_entry) return Failure(EINVAL, "archive", "an entry is still open");
  auto flushed = s.FlushFrame();
  if (!flushed.Ok()) return flushed.Error();
  // The tar end-of-archive marker: two zero blocks, in a frame of their own.
  static const uint8_t zeros[2 * kTarBlock] = {};
  auto appended = s.Append(zeros, sizeof zeros);
  if (!appended.Ok()) return appended.Error();
  flushed = s.FlushFrame();
  if (!flushed.Ok()) return flushed.Error();
  {
    std::unique_lock lock(s.mutex);
    s.job_done.wait(lock, [&] { return s.in_order.empty(); });
    if (s.error) return *s.error;
  }
  for (auto& [entry, header] : s.header_patches) {
    int64_t at = s.entries[entry].reserved_header_at;
    if (at < 0) return Failure(EINVAL, "archive", "entry " + s.entries[entry].name + " has no reserved header");
    if (::pwrite(s.fd.Get(), header.data(), kTarBlock, at) != static_cast<ssize_t>(kTarBlock)) {
      return LastError("pwrite");
    }
  }
  std::vector<uint8_t> table = SeekTableFrame(s.seek_table);
  auto written = WriteFully(s.fd.Get(), table.data(), table.size());
  if (!written.Ok()) return written.Error();
  s.file_offset += table.size();
  if (sync && ::fsync(s.fd.Get()) != 0) return LastError("fsync");
  return s.file_offset;
}

std::vector<ArchiveEntryInfo> ArchiveWriter::Entries() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->entries;
}

const ArchiveCounters& ArchiveWriter::Counters() const { return impl_->counters; }

}  // namespace freezedry::core
