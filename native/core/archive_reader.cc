#include "core/archive_reader.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/archive_format.h"
#include "core/io.h"
#include "core/unique_fd.h"

namespace freezedry::core {

namespace {

uint32_t GetU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

struct Frame {
  uint64_t file_offset;
  uint32_t compressed_size;
  uint64_t stream_offset;
  uint32_t decompressed_size;
};

constexpr size_t kCacheBytes = 32u << 20;      // decompressed frames kept, most recent first
constexpr size_t kReadAheadBytes = 12u << 20;  // decompressed ahead of a sequential reader
// What a cached frame counts for at least, and the most frames read ahead at once: a hostile seek
// table of one-byte frames must not fill the cache with millions of entries or the queue with
// the frames of 12 MiB.
constexpr size_t kCacheEntryMinBytes = 4096;
constexpr size_t kReadAheadFrames = 256;
// No writer makes frames larger (freezedry's are 128 KiB; 256 KiB, 1 MiB and 4 MiB before): a seek table
// that says so is hostile or damaged, and its sizes are never allocated.
constexpr uint32_t kMaxFrameBytes = 64u << 20;

// A frame's decompressed bytes, left uninitialised until zstd writes them (zeroing every frame
// cost an eighth of an extraction).
struct FrameBytes {
  explicit FrameBytes(size_t n) : data(new uint8_t[n]), size(n) {}
  std::unique_ptr<uint8_t[]> data;
  size_t size;
};

// Each thread decompresses with its own context, so readers on several threads (an extraction
// of several entries, the read-ahead) never wait for one another.
struct ThreadDecompressor {
  ZSTD_DCtx* context = ZSTD_createDCtx();
  std::vector<uint8_t> compressed;  // reused: no allocation per frame
  ~ThreadDecompressor() { ZSTD_freeDCtx(context); }
};

ThreadDecompressor& ThisThreadsDecompressor() {
  thread_local ThreadDecompressor decompressor;
  return decompressor;
}

}  // namespace

struct ArchiveReader::Impl {
  using FrameData = std::shared_ptr<const FrameBytes>;

  UniqueFd fd;
  uint64_t file_size = 0;
  uint64_t stream_size = 0;
  std::vector<Frame> frames;

  // Looked up by frame index, not searched: a 1 GiB fill asks after tens of thousands of frames,
  // each against up to 256 cached and 96 queued: the searches made reading a 2.7 GiB entry take
  // 1.65 s with 128 KiB frames (0.63 s now), 10 s with 64 KiB.
  using CacheList = std::list<std::pair<size_t, FrameData>>;
  std::mutex cache_mutex;  // guards cache, cache_index, queue, queued_frames, stopping
  CacheList cache;         // most recent first
  std::unordered_map<size_t, CacheList::iterator> cache_index;
  size_t cached_bytes = 0;
  std::deque<size_t> queue;         // frames to decompress ahead
  std::vector<bool> queued_frames;  // which frames are in `queue`
  std::condition_variable queued;
  bool stopping = false;
  std::atomic<bool> when_idle{false};
  std::thread prefetcher;

  ~Impl() {
    {
      std::lock_guard lock(cache_mutex);
      stopping = true;
    }
    queued.notify_all();
    if (prefetcher.joinable()) prefetcher.join();
  }

  // A frame in the cache, made the most recent.
  FrameData Cached(size_t index) {
    auto found = cache_index.find(index);
    if (found == cache_index.end()) return nullptr;
    cache.splice(cache.begin(), cache, found->second);
    return cache.front().second;
  }

  static size_t Charge(const FrameBytes& frame) { return std::max(frame.size, kCacheEntryMinBytes); }

  // Frames pushed out go to `evicted`, freed by the caller once it let go of the lock. Out of
  // memory (std::bad_alloc), the frame is left out and the cache stays as it was.
  void Remember(size_t index, FrameData data, std::vector<FrameData>& evicted) {
    if (Cached(index)) return;
    size_t charge = Charge(*data);
    cache.emplace_front(index, std::move(data));
    try {
      cache_index[index] = cache.begin();
    } catch (const std::bad_alloc&) {
      cache.pop_front();
      throw;
    }
    cached_bytes += charge;
    while (cached_bytes > kCacheBytes && cache.size() > 1) {
      cached_bytes -= Charge(*cache.back().second);
      cache_index.erase(cache.back().first);
      evicted.push_back(std::move(cache.back().second));
      cache.pop_back();
    }
  }

  Result<FrameData> Decompress(size_t index) {
    const Frame& frame = frames[index];
    ThreadDecompressor& decompressor = ThisThreadsDecompressor();
    std::vector<uint8_t>& compressed = decompressor.compressed;
    compressed.resize(frame.compressed_size);
    ssize_t got = ::pread(fd.Get(), compressed.data(), compressed.size(), static_cast<off_t>(frame.file_offset));
    if (got < 0) return LastError("pread");
    if (static_cast<size_t>(got) != compressed.size()) {
      return Failure(ENODATA, "archive", "frame " + std::to_string(index) + " is cut short");
    }
    auto data = std::make_shared<FrameBytes>(frame.decompressed_size);
    size_t size = ZSTD_decompressDCtx(decompressor.context, data->data.get(), data->size, compressed.data(), compressed.size());
    if (ZSTD_isError(size) || size != frame.decompressed_size) {
      std::string why = ZSTD_isError(size) ? ZSTD_getErrorName(size) : "wrong decompressed size";
      return Failure(
          EBADMSG, "archive",
          "frame " + std::to_string(index) + " at stream offset " + std::to_string(frame.stream_offset) + " is corrupt (" + why + ")");
    }
    return FrameData(std::move(data));
  }

  Result<FrameData> Decompressed(size_t index) {
    {
      std::lock_guard lock(cache_mutex);
      if (auto hit = Cached(index)) return hit;
    }
    // Called on any thread (libuv's pool, the lazy-pages server): out of memory is an error here.
    auto made = CatchAll([&] { return Decompress(index); }, "archive read");
    if (!made.Ok()) return made.Error();
    std::vector<FrameData> evicted;
    std::lock_guard lock(cache_mutex);
    try {
      Remember(index, made.Value(), evicted);
    } catch (const std::bad_alloc&) {
      // not cached: read again when asked again
    }
    return made.Value();
  }

  // Calls visit(bytes, size) for each piece of [offset, offset + size), straight from the
  // decompressed frames (no copy in between); stops at the first failure.
  template <typename Visit>
  Status ForEachPiece(uint64_t offset, uint64_t size, Visit&& visit) {
    // Written so that it cannot wrap: offset + size could pass 2^64 and compare small.
    if (offset > stream_size || size > stream_size - offset) return Failure(ERANGE, "archive", "read beyond the end of the archive");
    while (size > 0) {
      size_t index = FrameAt(offset);
      auto data = Decompressed(index);
      if (!data.Ok()) return data.Error();
      uint64_t within = offset - frames[index].stream_offset;
      size_t take = static_cast<size_t>(std::min<uint64_t>(size, data.Value()->size - within));
      Status visited = visit(data.Value()->data.get() + within, take, offset + take);
      if (!visited.Ok()) return visited;
      offset += take;
      size -= take;
    }
    return OkStatus();
  }

  void ReadAhead() {
    // When idle (SetReadAheadWhenIdle): a reader never waits for this thread (one that finds its
    // frame not ready decompresses it itself), and the lock is held only for the cache's
    // bookkeeping (frees happen outside it), so a starved read-ahead holds nobody up.
    bool idle = false;
    std::vector<FrameData> evicted;
    for (;;) {
      evicted.clear();
      if (idle != when_idle.load()) {
        idle = !idle;
        sched_param unused{};
        (void)pthread_setschedparam(pthread_self(), idle ? SCHED_IDLE : SCHED_OTHER, &unused);
      }
      size_t index;
      {
        std::unique_lock lock(cache_mutex);
        queued.wait(lock, [&] { return stopping || !queue.empty(); });
        if (stopping) break;
        index = queue.front();
        queue.pop_front();
        queued_frames[index] = false;
        if (Cached(index)) continue;
      }
      // A damaged frame is reported when really read; so is one that could not be allocated.
      auto made = CatchAll([&] { return Decompress(index); }, "archive read-ahead");
      if (made.Ok()) {
        std::lock_guard lock(cache_mutex);
        try {
          Remember(index, made.Value(), evicted);
        } catch (const std::bad_alloc&) {
          // not cached: a reader decompresses it again
        }
      }
    }
  }

  size_t FrameAt(uint64_t offset) const {
    auto it = std::upper_bound(frames.begin(), frames.end(), offset, [](uint64_t o, const Frame& f) { return o < f.stream_offset; });
    return static_cast<size_t>(it - frames.begin()) - 1;
  }
};

Result<std::unique_ptr<ArchiveReader>> ArchiveReader::Open(int fd) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return LastError("fcntl");
  std::unique_ptr<ArchiveReader> reader(new ArchiveReader());
  reader->impl_ = std::make_unique<Impl>();
  Impl& s = *reader->impl_;
  s.fd.Reset(copy);
  struct stat info;
  if (::fstat(copy, &info) != 0) return LastError("fstat");
  s.file_size = static_cast<uint64_t>(info.st_size);

  uint8_t magic[4] = {};
  if (s.file_size < 4 || ::pread(copy, magic, 4, 0) != 4 || GetU32(magic) != kZstdFrameMagic) {
    return Failure(ENOEXEC, "archive", "not a zstd-compressed archive (wrong magic)");
  }
  uint8_t footer[kSeekTableFooterSize];
  if (s.file_size < 8 + kSeekTableFooterSize ||
      ::pread(copy, footer, sizeof footer, static_cast<off_t>(s.file_size - sizeof footer)) != sizeof footer ||
      GetU32(footer + 5) != kSeekableMagic) {
    return Failure(ENODATA, "archive", "no seek table at the end: the archive is truncated (or is a plain .tar.zst)");
  }
  uint32_t count = GetU32(footer);
  uint64_t table_size = 8 + uint64_t{count} * 8 + kSeekTableFooterSize;
  if ((footer[4] & 0x7c) != 0 || (footer[4] & 0x80) != 0 || table_size > s.file_size) {
    return Failure(ENODATA, "archive", "the seek table is damaged");
  }
  std::vector<uint8_t> table(table_size);
  if (::pread(copy, table.data(), table.size(), static_cast<off_t>(s.file_size - table_size)) != static_cast<ssize_t>(table.size()) ||
      GetU32(table.data()) != kSkippableFrameMagic || GetU32(table.data() + 4) != table_size - 8) {
    return Failure(ENODATA, "archive", "the seek table is damaged");
  }
  uint64_t file_offset = 0, stream_offset = 0;
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t* entry = table.data() + 8 + i * 8;
    Frame frame{file_offset, GetU32(entry), stream_offset, GetU32(entry + 4)};
    if (frame.decompressed_size == 0) {
      return Failure(ENODATA, "archive", "the seek table is damaged: frame " + std::to_string(i) + " holds nothing, which no writer makes");
    }
    if (frame.decompressed_size > kMaxFrameBytes || frame.compressed_size > ZSTD_compressBound(kMaxFrameBytes)) {
      return Failure(ENODATA, "archive",
                     "the seek table is damaged: frame " + std::to_string(i) + " declares more than the " +
                         std::to_string(kMaxFrameBytes >> 20) + " MiB any frame holds");
    }
    s.frames.push_back(frame);
    file_offset += frame.compressed_size;
    stream_offset += frame.decompressed_size;
  }
  if (file_offset + table_size != s.file_size) {
    return Failure(ENODATA, "archive", "the frames do not add up to the file size: the archive is truncated or padded");
  }
  s.stream_size = stream_offset;
  s.queued_frames.resize(s.frames.size());
  return reader;
}

ArchiveReader::~ArchiveReader() = default;

uint64_t ArchiveReader::StreamSize() const { return impl_->stream_size; }
uint64_t ArchiveReader::FileSize() const { return impl_->file_size; }
size_t ArchiveReader::FrameCount() const { return impl_->frames.size(); }

void ArchiveReader::Prefetch(uint64_t offset, uint64_t limit) {
  Impl& s = *impl_;
  if (offset >= s.stream_size) return;
  // The reader decompresses the frame at `offset` itself if it is not ready: the read-ahead
  // thread takes the ones after it, so the two work in parallel.
  size_t first = s.FrameAt(offset) + 1;
  uint64_t end = offset + std::min(limit, s.stream_size - offset);
  std::lock_guard lock(s.cache_mutex);
  uint64_t ahead = 0;
  size_t queued = s.queue.size();
  size_t last = std::min(s.frames.size(), first + kReadAheadFrames);
  for (size_t i = first; i < last && ahead < kReadAheadBytes && s.frames[i].stream_offset < end; i++) {
    ahead += s.frames[i].decompressed_size;
    if (s.Cached(i) || s.queued_frames[i]) continue;  // a cached frame ahead is kept till reached
    s.queued_frames[i] = true;
    s.queue.push_back(i);
  }
  if (s.queue.size() == queued) return;
  if (!s.prefetcher.joinable()) s.prefetcher = std::thread([&s] { s.ReadAhead(); });
  s.queued.notify_one();
}

void ArchiveReader::SetReadAheadWhenIdle(bool when_idle) { impl_->when_idle = when_idle; }

Status ArchiveReader::Read(uint64_t offset, uint8_t* out, size_t size) {
  return impl_->ForEachPiece(offset, size, [&](const uint8_t* bytes, size_t take, uint64_t) -> Status {
    std::memcpy(out, bytes, take);
    out += take;
    return OkStatus();
  });
}

Result<uint64_t> ArchiveReader::CopyTo(uint64_t offset, uint64_t size, int fd, int64_t file_offset) {
  XXH3_state_t* hash = XXH3_createState();
  XXH3_64bits_reset(hash);
  uint64_t end = offset + size;
  Status status = impl_->ForEachPiece(offset, size, [&](const uint8_t* bytes, size_t take, uint64_t next) -> Status {
    if (next < end) Prefetch(next, end - next);  // decompress ahead while this piece is written
    XXH3_64bits_update(hash, bytes, take);
    if (file_offset < 0) return WriteFully(fd, bytes, take);
    ssize_t put = ::pwrite(fd, bytes, take, static_cast<off_t>(file_offset));
    if (put != static_cast<ssize_t>(take)) return LastError("pwrite");
    file_offset += static_cast<int64_t>(take);
    return OkStatus();
  });
  uint64_t digest = XXH3_64bits_digest(hash);
  XXH3_freeState(hash);
  if (!status.Ok()) return status.Error();
  return digest;
}

}  // namespace freezedry::core
