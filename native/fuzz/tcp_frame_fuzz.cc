// libFuzzer target: a frame a migration's source sends to be injected into the restored tree
// (frame-replay.ts): the TCP-over-IP check and the checksum written over what it accepts.
#include <cstdint>
#include <vector>

#include "core/frame_capture.h"

using namespace freezedry::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> frame(data, data + size);
  if (IsWholeTcpFrame(frame.data(), frame.size())) WriteTcpChecksum(frame.data(), frame.size());
  return 0;
}
