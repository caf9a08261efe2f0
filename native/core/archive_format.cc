#include "core/archive_format.h"

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
