// Random access into a freezedry archive through its seek table: any byte range of the tar
// stream is read by decompressing only the frames that hold it (a few are cached).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/result.h"

namespace freezedry::core {

// Errors: ENOEXEC not an archive at all; ENODATA truncated (no complete seek table, or frames
// missing); EBADMSG a frame that fails to decompress or its checksum. `detail` names the frame
// and the stream offset it covers.
class ArchiveReader {
 public:
  // Takes its own duplicate of fd.
  static Result<std::unique_ptr<ArchiveReader>> Open(int fd);
  ~ArchiveReader();

  uint64_t StreamSize() const;  // uncompressed tar stream size
  uint64_t FileSize() const;
  size_t FrameCount() const;

  // Copies [offset, offset + size) of the tar stream into out. Thread-safe.
  Status Read(uint64_t offset, uint8_t* out, size_t size);
  // Starts decompressing the frames after the one at `offset`, up to `offset + limit` (and a
  // read-ahead window at most), on a read-ahead thread, so a sequential reader finds them ready.
  void Prefetch(uint64_t offset, uint64_t limit = UINT64_MAX);
  // Whether the read-ahead thread works only on a core nobody else wants (SCHED_IDLE): for a
  // lazy restore, whose tree runs while its memory is decompressed behind it. Off by default:
  // an extraction, or a restore that returns once the fill is done, wants it at full speed.
  void SetReadAheadWhenIdle(bool when_idle);
  // Writes [offset, offset + size) to fd (at file_offset, or at its current position when
  // file_offset < 0), returning its XXH3-64.
  Result<uint64_t> CopyTo(uint64_t offset, uint64_t size, int fd, int64_t file_offset = -1);

 private:
  ArchiveReader() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace freezedry::core
