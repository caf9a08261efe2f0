#include "core/criu_channel.h"

namespace freezedry::core {

Result<CriuChannel> CriuChannel::Create() {
  auto pair = MakeSeqpacketPair();
  if (!pair.Ok()) return pair.Error();
  auto wake = WakeEvent::Create();
  if (!wake.Ok()) return wake.Error();
  auto [own, peer] = pair.Take();
  return CriuChannel(std::move(own), std::move(peer), wake.Take());
}

Status CriuChannel::Send(const uint8_t* data, size_t size) const { return SendPacket(own_.Get(), data, size); }

Result<CriuChannel::Received> CriuChannel::Receive() const {
  auto readable = WaitReadable(own_.Get(), wake_);
  if (!readable.Ok()) return readable.Error();
  if (!readable.Value()) return Received{Outcome::kStopped, std::nullopt};
  auto packet = ReceivePacket(own_.Get());
  if (!packet.Ok()) return packet.Error();
  if (!packet.Value().has_value()) return Received{Outcome::kPeerClosed, std::nullopt};
  return Received{Outcome::kPacket, packet.Take()};
}

}  // namespace freezedry::core
