// The framing facts of a freezedry archive: tar blocks, raw zstd frames (RFC 8878 §3.1.1) and
// the seek table of zstd's seekable format (contrib/seekable_format in the zstd sources).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/result.h"

namespace freezedry::core {

constexpr size_t kTarBlock = 512;
constexpr uint32_t kZstdFrameMagic = 0xFD2FB528;
constexpr uint32_t kSkippableFrameMagic = 0x184D2A5E;
constexpr uint32_t kSeekableMagic = 0x8F92EAB1;
constexpr size_t kSeekTableFooterSize = 9;  // frame count u32, descriptor u8, magic u32
// A raw frame of one tar block: magic, frame header descriptor, 2-byte content size, block header.
constexpr size_t kRawFrameHeaderSize = 4 + 1 + 2 + 3;

struct SeekTableEntry {
  uint32_t compressed_size;
  uint32_t decompressed_size;
};

// A zstd frame holding `content` (one tar block) uncompressed, so it can be overwritten in place.
std::vector<uint8_t> RawFrame(const std::vector<uint8_t>& content);

// The largest block a zstd frame may hold (RFC 8878 §3.1.1.2.4).
constexpr size_t kZstdMaxBlockSize = 128 << 10;

// A frame of any size stored as raw blocks, with the content checksum that compressed frames
// carry too: what any zstd decoder reads. StoredFrameSize(size) bytes are written at `out`.
size_t StoredFrameSize(size_t content_size);
void WriteStoredFrame(const uint8_t* content, size_t size, uint8_t* out);

// A frame of `size` zero bytes as RLE blocks (a few dozen bytes for a MiB), with the content
// checksum, given as the low 32 bits of XXH64 of those zeros (ZeroChecksum).
std::vector<uint8_t> ZeroFrame(size_t size, uint32_t checksum);
uint32_t ZeroChecksum(size_t size);

// The skippable frame that ends the archive.
std::vector<uint8_t> SeekTableFrame(const std::vector<SeekTableEntry>& entries);

}  // namespace freezedry::core
