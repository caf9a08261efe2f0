// One zstd frame per buffer, for pages sent between migration agents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/result.h"

namespace freezedry::core {

// `workers` > 0 compresses on that many extra threads (libzstd's own).
Result<std::vector<uint8_t>> CompressBuffer(const uint8_t* data, size_t size, int level, int workers);

// The most one frame may declare: pre-copy sends pages in batches of 8 MiB.
constexpr uint64_t kMaxDecompressedFrame = 256ull << 20;

// The frame must record its content size (CompressBuffer's do), within what its blocks can
// hold and kMaxDecompressedFrame.
Result<std::vector<uint8_t>> DecompressBuffer(const uint8_t* data, size_t size);

}  // namespace freezedry::core
