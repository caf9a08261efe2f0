// The TCP frames a host sends into a tree's network namespace while the tree is frozen. CRIU's
// network lock drops them inside the namespace (or, for a container, its veth is off its
// bridge), so a client's request sent then waits for its retransmission timer (200 ms,
// doubling). Captured here (at the outer end of each veth, or on the bridge a container's veth
// left) and injected into the restored tree's veth once it runs, they are answered at once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/result.h"
#include "core/unique_fd.h"

namespace freezedry::core {

// Each frame in a batch: a 4-byte little-endian length, then the Ethernet frame.
constexpr size_t kFrameLengthSize = 4;
constexpr size_t kEthernetHeaderSize = 14;
// A frame the kernel may hand over with segmentation offload (one 64 KiB segment with headers).
constexpr size_t kMaxCapturedFrame = 65536 + kEthernetHeaderSize;

using MacAddress = std::array<uint8_t, 6>;

// Where frames are kept: what an interface sends (a veth's outer end: what enters the tree), or,
// with `to`, what a bridge receives for that address and has no port for (a veth taken off it:
// the bridge floods such frames, and passes them up to itself while it is promiscuous, which a
// capture makes it).
struct CapturePoint {
  int ifindex = 0;
  std::optional<MacAddress> to;
};

class FrameCapture {
 public:
  // Starts keeping the frames of each point, up to `buffer_bytes` of the kernel's accounting per
  // point (newer frames are dropped past it).
  static Result<FrameCapture> Start(const std::vector<CapturePoint>& points, int buffer_bytes);

  // Returns, per point in the order given, the TCP frames kept so far (IPv4 and IPv6), as a
  // batch (see kFrameLengthSize); the capture stops, unless `go_on`: then it keeps what follows.
  Result<std::vector<std::vector<uint8_t>>> Take(bool go_on = false);

 private:
  explicit FrameCapture(std::vector<UniqueFd> sockets) : sockets_(std::move(sockets)) {}
  std::vector<UniqueFd> sockets_;
};

struct InjectCounts {
  uint32_t sent = 0;
  uint32_t skipped = 0;  // not TCP over IP, or larger than the interface takes
};

// Sends each frame of a batch out of interface `ifindex` (into the namespace at its other end),
// its TCP checksum written in full: a captured frame may carry only the partial sum that
// checksum offload leaves.
Result<InjectCounts> InjectFrames(int ifindex, const uint8_t* batch, size_t size);

// Whether `frame` is TCP over IPv4 or IPv6 (no extension headers) whose IP packet it holds whole.
bool IsWholeTcpFrame(const uint8_t* frame, size_t size);

// Writes the TCP checksum of a frame IsWholeTcpFrame accepts.
void WriteTcpChecksum(uint8_t* frame, size_t size);

}  // namespace freezedry::core
