// The transport of CRIU's RPC: our end of the seqpacket pair whose other end `criu swrk`
// inherits. It moves whole messages; what they mean is decided in TypeScript.
#pragma once

#include <optional>

#include "core/result.h"
#include "core/seqpacket.h"
#include "core/unique_fd.h"
#include "core/wake_event.h"

namespace freezedry::core {

class CriuChannel {
 public:
  static Result<CriuChannel> Create();

  // The end to hand to criu swrk; close our copy once criu has inherited it, so that
  // criu's exit is seen as end of stream.
  int PeerFd() const { return peer_.Get(); }
  void ClosePeer() { peer_.Reset(); }

  Status Send(const uint8_t* data, size_t size) const;

  enum class Outcome { kPacket, kPeerClosed, kStopped };
  struct Received {
    Outcome outcome;
    std::optional<Packet> packet;
  };
  // Blocks until a message arrives, criu's end closes, or Stop() is called.
  Result<Received> Receive() const;

  // Wakes a thread blocked in Receive(); safe from any thread.
  void Stop() const { wake_.Signal(); }

 private:
  CriuChannel(UniqueFd own, UniqueFd peer, WakeEvent wake) : own_(std::move(own)), peer_(std::move(peer)), wake_(std::move(wake)) {}
  UniqueFd own_;
  UniqueFd peer_;
  WakeEvent wake_;
};

}  // namespace freezedry::core
