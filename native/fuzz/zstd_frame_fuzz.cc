// libFuzzer target: a zstd frame as a migration peer sends it (pre-copy batches), decompressed
// with the declared size checked against what the frame can hold and kMaxDecompressedFrame.
#include <cstdint>

#include "core/zstd_buffer.h"

using namespace freezedry::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)DecompressBuffer(data, size);
  return 0;
}
