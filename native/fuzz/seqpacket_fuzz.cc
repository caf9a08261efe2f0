// libFuzzer target: the seqpacket framing CRIU's RPC channel uses, one packet of any content
// (up to the channel's limit) received whole, or refused with an error.
#include <cstdint>

#include "core/seqpacket.h"

using namespace freezedry::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto pair = MakeSeqpacketPair();
  if (!pair.Ok()) return 0;
  auto& [ours, theirs] = pair.Value();
  if (!SendPacket(theirs.Get(), data, size).Ok()) return 0;
  theirs.Reset();
  auto first = ReceivePacket(ours.Get());
  if (first.Ok() && first.Value().has_value()) {
    if (first.Value()->bytes.size() != size) __builtin_trap();  // a packet comes whole or not at all
    (void)ReceivePacket(ours.Get());                            // then the end of the stream
  }
  return 0;
}
