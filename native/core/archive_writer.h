// Writes a freezedry archive: a tar stream compressed as independent zstd frames, one starting
// at every tar header, then a seek table in a skippable frame (zstd's seekable format). Frames
// are compressed on worker threads and written in order by a writer thread; in adaptive mode a
// frame the writer reaches while every compressor is busy is stored as it is, so compression
// never holds the archive back (see ArchiveWriterOptions). A tar header whose
// entry size is not known yet is reserved as a raw (uncompressed) zstd frame and patched in
// place when the archive is finished. Tar headers themselves come from the caller.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace freezedry::core {

struct ArchiveEntryInfo {
  std::string name;
  uint64_t header_offset = 0;       // offset of the tar header in the uncompressed stream
  uint64_t size = 0;                // entry data size
  uint64_t checksum = 0;            // XXH3-64 of the entry data
  int64_t reserved_header_at = -1;  // file offset of a reserved header's bytes, once written
};

struct ArchiveWriterOptions {
  int level = 1;                  // zstd level (negative: faster)
  size_t frame_size = 128 << 10;  // uncompressed bytes per frame
  unsigned threads = 2;           // compression threads
  // Frames submitted and not yet written, most; a writer past it waits. Large, it lets CRIU
  // hand pages over at memory speed and the compression finish after the freeze.
  size_t max_pending_bytes = 24 << 20;
  // The archive will be fsynced: its bytes are handed to the disk as they are written (every
  // few MiB, without waiting), so the final fsync has little left to do.
  bool durable = false;
  // ...and the writer waits for each range's writeback before it starts the next, so it moves
  // at the disk's pace (adaptive compression needs that, or it outruns every compressor).
  bool paced = false;
  // A frame the writer reaches uncompressed while every compressor is busy is stored as it is:
  // the archive takes as long as writing the data raw would, and is as small as the compressors
  // manage in that time. Compressors take the newest frames, leaving the oldest to the writer.
  bool adaptive = false;
};

struct ArchiveCounters {
  std::atomic<uint64_t> bytes_in{0};      // uncompressed bytes submitted
  std::atomic<uint64_t> bytes_out{0};     // compressed bytes written
  std::atomic<uint64_t> bytes_stored{0};  // uncompressed bytes written as they are (adaptive)
};

class ArchiveWriter {
 public:
  static constexpr size_t kHeaderSize = 512;
  // Takes its own duplicate of fd, which must be a regular file open for writing.
  static Result<std::unique_ptr<ArchiveWriter>> Create(int fd, const ArchiveWriterOptions& options);
  ~ArchiveWriter();

  // Starts an entry with its tar header, or with a reserved one (header == nullptr) to be given
  // with SetReservedHeader before Finish.
  Result<size_t> BeginEntry(const std::string& name, const uint8_t* header);
  Status Write(const uint8_t* data, size_t size);
  // Reads `size` bytes from fd straight into the archive (no intermediate buffer). Frames that
  // hold only zeros (untouched-looking pages a process did touch) become RLE frames, never stored.
  Status WriteFrom(int fd, uint64_t size);
  Result<ArchiveEntryInfo> EndEntry();
  Status SetReservedHeader(size_t entry, const uint8_t* header);
  // Ends the tar stream, waits for every frame, patches reserved headers, writes the seek table.
  Result<uint64_t> Finish(bool sync);

  std::vector<ArchiveEntryInfo> Entries() const;
  const ArchiveCounters& Counters() const;

 private:
  ArchiveWriter() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace freezedry::core
