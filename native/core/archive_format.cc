#include "core/archive_format.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

namespace freezedry::core {

namespace {
void PutU32(std::vector<uint8_t>& out, uint32_t value) {
  for (int i = 0; i < 4; i++) out.push_back(static_cast<uint8_t>(value >> (8 * i)));  // little-endian
}
}  // namespace

std::vector<uint8_t> RawFrame(const std::vector<uint8_t>& content) {
  std::vector<uint8_t> frame;
  PutU32(frame, kZstdFrameMagic);
  // Frame header descriptor: 2-byte content size (FCS flag 1), single segment, no checksum.
  frame.push_back(0x60);
  uint16_t fcs = static_cast<uint16_t>(content.size() - 256);  // a 2-byte FCS stores size - 256
  frame.push_back(static_cast<uint8_t>(fcs));
  frame.push_back(static_cast<uint8_t>(fcs >> 8));
  // Block header: last block, raw, size.
  uint32_t block = 1u | (0u << 1) | (static_cast<uint32_t>(content.size()) << 3);
  frame.push_back(static_cast<uint8_t>(block));
  frame.push_back(static_cast<uint8_t>(block >> 8));
  frame.push_back(static_cast<uint8_t>(block >> 16));
  frame.insert(frame.end(), content.begin(), content.end());
  return frame;
}

namespace {
constexpr size_t kStoredFrameHeaderSize = 4 + 1 + 8;  // magic, descriptor, 8-byte content size
constexpr size_t kBlockHeaderSize = 3;
constexpr size_t kChecksumSize = 4;

uint8_t* PutLittleEndian(uint8_t* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; i++) *out++ = static_cast<uint8_t>(value >> (8 * i));
  return out;
}

// Blocks of at most kZstdMaxBlockSize that hold `content_size` bytes (one, if none).
size_t BlockCount(size_t content_size) { return content_size == 0 ? 1 : (content_size + kZstdMaxBlockSize - 1) / kZstdMaxBlockSize; }

// The header of a frame of `content_size` bytes, as stored and zero frames have it.
uint8_t* PutFrameHeader(uint8_t* out, size_t content_size) {
  out = PutLittleEndian(out, kZstdFrameMagic, 4);
  // Frame header descriptor: 8-byte content size (FCS flag 3), single segment, content checksum.
  *out++ = 0xE4;
  return PutLittleEndian(out, content_size, 8);
}

// Block type 0 (raw: the bytes follow) or 1 (RLE: one byte follows, standing for `size` of it).
uint8_t* PutBlockHeader(uint8_t* out, bool last, uint32_t type, size_t size) {
  return PutLittleEndian(out, (last ? 1u : 0u) | (type << 1) | (static_cast<uint32_t>(size) << 3), 3);
}
}  // namespace

size_t StoredFrameSize(size_t content_size) {
  return kStoredFrameHeaderSize + BlockCount(content_size) * kBlockHeaderSize + content_size + kChecksumSize;
}

void WriteStoredFrame(const uint8_t* content, size_t size, uint8_t* out) {
  out = PutFrameHeader(out, size);
  size_t at = 0;
  do {
    size_t block = std::min(size - at, kZstdMaxBlockSize);
    out = PutBlockHeader(out, at + block == size, 0, block);
    if (block > 0) std::memcpy(out, content + at, block);
    out += block;
    at += block;
  } while (at < size);
  PutLittleEndian(out, static_cast<uint32_t>(XXH64(content, size, 0)), 4);  // the low 32 bits of XXH64, seed 0
}

std::vector<uint8_t> ZeroFrame(size_t size, uint32_t checksum) {
  std::vector<uint8_t> frame(kStoredFrameHeaderSize + BlockCount(size) * (kBlockHeaderSize + 1) + kChecksumSize);
  uint8_t* out = PutFrameHeader(frame.data(), size);
  size_t at = 0;
  do {
    size_t block = std::min(size - at, kZstdMaxBlockSize);
    out = PutBlockHeader(out, at + block == size, 1, block);
    *out++ = 0;
    at += block;
  } while (at < size);
  PutLittleEndian(out, checksum, 4);
  return frame;
}

uint32_t ZeroChecksum(size_t size) {
  static const uint8_t zeros[64 << 10] = {};
  XXH64_state_t* state = XXH64_createState();
  XXH64_reset(state, 0);
  for (size_t at = 0; at < size; at += sizeof zeros) XXH64_update(state, zeros, std::min(sizeof zeros, size - at));
  auto digest = static_cast<uint32_t>(XXH64_digest(state));
  XXH64_freeState(state);
  return digest;
}

std::vector<uint8_t> SeekTableFrame(const std::vector<SeekTableEntry>& entries) {
  std::vector<uint8_t> frame;
  PutU32(frame, kSkippableFrameMagic);
  PutU32(frame, static_cast<uint32_t>(entries.size() * 8 + kSeekTableFooterSize));
  for (const SeekTableEntry& e : entries) {
    PutU32(frame, e.compressed_size);
    PutU32(frame, e.decompressed_size);
  }
  PutU32(frame, static_cast<uint32_t>(entries.size()));
  frame.push_back(0);  // descriptor: no per-frame checksums (frames carry zstd's own)
  PutU32(frame, kSeekableMagic);
  return frame;
}

}  // namespace freezedry::core
