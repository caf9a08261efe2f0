#include "core/frame_capture.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace freezedry::core {

namespace {

constexpr uint16_t kIpv4 = 0x0800;
constexpr uint16_t kIpv6 = 0x86DD;
constexpr uint8_t kTcp = 6;
constexpr size_t kTcpChecksumAt = 16;

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// Where the IP packet's TCP segment starts and how long it is; {0, 0} when the frame is not
// one whole TCP segment over IP.
struct TcpSpan {
  size_t at = 0;
  size_t size = 0;
};

TcpSpan FindTcp(const uint8_t* frame, size_t size) {
  if (size < kEthernetHeaderSize) return {};
  const uint8_t* ip = frame + kEthernetHeaderSize;
  size_t room = size - kEthernetHeaderSize;
  size_t header = 0, total = 0;
  uint16_t type = Be16(frame + 12);
  if (type == kIpv4) {
    if (room < 20 || (ip[0] >> 4) != 4 || ip[9] != kTcp) return {};
    if ((Be16(ip + 6) & 0x3fff) != 0) return {};  // a fragment
    header = static_cast<size_t>(ip[0] & 0x0f) * 4;
    total = Be16(ip + 2);
  } else if (type == kIpv6) {
    if (room < 40 || (ip[0] >> 4) != 6 || ip[6] != kTcp) return {};
    header = 40;
    total = 40 + static_cast<size_t>(Be16(ip + 4));
  } else {
    return {};
  }
  // A segmentation-offload frame says less than it holds; padding makes it hold more.
  if (header < 20 || total > room || total < header + 20) return {};
  size_t tcp_header = static_cast<size_t>(ip[header + 12] >> 4) * 4;
  if (tcp_header < 20 || header + tcp_header > total) return {};
  return {kEthernetHeaderSize + header, total - header};
}

uint32_t AddWords(uint32_t sum, const uint8_t* data, size_t size) {
  for (size_t i = 0; i + 1 < size; i += 2) sum += Be16(data + i);
  if (size % 2 == 1) sum += static_cast<uint32_t>(data[size - 1]) << 8;
  return sum;
}

Status AttachFilter(int fd, std::vector<sock_filter> code) {
  sock_fprog program{static_cast<unsigned short>(code.size()), code.data()};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program)) != 0) return LastError("setsockopt(SO_ATTACH_FILTER)");
  return OkStatus();
}

// Packet-socket filter: only what the interface sends, not what it receives.
Status AcceptOnlyOutgoing(int fd) {
  return AttachFilter(fd, {
                              BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE)),
                              BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 0, 1),
                              BPF_STMT(BPF_RET | BPF_K, static_cast<uint32_t>(kMaxCapturedFrame)),
                              BPF_STMT(BPF_RET | BPF_K, 0),
                          });
}

// Packet-socket filter: only what the interface receives for another host's address `to`.
Status AcceptOnlyReceivedFor(int fd, const MacAddress& to) {
  uint32_t high = (static_cast<uint32_t>(to[0]) << 24) | (static_cast<uint32_t>(to[1]) << 16) | (static_cast<uint32_t>(to[2]) << 8) | to[3];
  uint32_t low = (static_cast<uint32_t>(to[4]) << 8) | to[5];
  return AttachFilter(fd, {
                              BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE)),
                              BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OTHERHOST, 0, 5),
                              BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),  // the destination address's first four bytes
                              BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, high, 0, 3),
                              BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 4),  // and its last two
                              BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, low, 0, 1),
                              BPF_STMT(BPF_RET | BPF_K, static_cast<uint32_t>(kMaxCapturedFrame)),
                              BPF_STMT(BPF_RET | BPF_K, 0),
                          });
}

}  // namespace

bool IsWholeTcpFrame(const uint8_t* frame, size_t size) { return FindTcp(frame, size).size > 0; }

void WriteTcpChecksum(uint8_t* frame, size_t size) {
  TcpSpan tcp = FindTcp(frame, size);
  if (tcp.size == 0) return;
  const uint8_t* ip = frame + kEthernetHeaderSize;
  uint8_t* segment = frame + tcp.at;
  segment[kTcpChecksumAt] = segment[kTcpChecksumAt + 1] = 0;
  uint32_t sum = kTcp + static_cast<uint32_t>(tcp.size & 0xffff) + static_cast<uint32_t>(tcp.size >> 16);
  if (Be16(frame + 12) == kIpv4) {
    sum = AddWords(sum, ip + 12, 8);  // source and destination addresses
  } else {
    sum = AddWords(sum, ip + 8, 32);
  }
  sum = AddWords(sum, segment, tcp.size);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t checksum = static_cast<uint16_t>(~sum);
  segment[kTcpChecksumAt] = static_cast<uint8_t>(checksum >> 8);
  segment[kTcpChecksumAt + 1] = static_cast<uint8_t>(checksum & 0xff);
}

Result<FrameCapture> FrameCapture::Start(const std::vector<CapturePoint>& points, int buffer_bytes) {
  std::vector<UniqueFd> sockets;
  for (const CapturePoint& point : points) {
    // Protocol 0 until bound: no frame is queued before the filter is in place.
    UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.Valid()) return LastError("socket(AF_PACKET)");
    auto filtered = point.to ? AcceptOnlyReceivedFor(fd.Get(), *point.to) : AcceptOnlyOutgoing(fd.Get());
    if (!filtered.Ok()) return filtered.Error();
    // FORCE lifts the system's rmem_max cap (we are root); plain SO_RCVBUF is capped by it.
    if (::setsockopt(fd.Get(), SOL_SOCKET, SO_RCVBUFFORCE, &buffer_bytes, sizeof(buffer_bytes)) != 0 &&
        ::setsockopt(fd.Get(), SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof(buffer_bytes)) != 0) {
      return LastError("setsockopt(SO_RCVBUF)");
    }
    sockaddr_ll where{};
    where.sll_family = AF_PACKET;
    where.sll_protocol = htons(ETH_P_ALL);
    where.sll_ifindex = point.ifindex;
    if (::bind(fd.Get(), reinterpret_cast<sockaddr*>(&where), sizeof(where)) != 0) return LastError("bind(AF_PACKET)");
    if (point.to) {
      // Promiscuous for as long as this socket is open (the kernel counts it, and drops it on close).
      packet_mreq promiscuous{};
      promiscuous.mr_ifindex = point.ifindex;
      promiscuous.mr_type = PACKET_MR_PROMISC;
      if (::setsockopt(fd.Get(), SOL_PACKET, PACKET_ADD_MEMBERSHIP, &promiscuous, sizeof(promiscuous)) != 0) {
        return LastError("setsockopt(PACKET_ADD_MEMBERSHIP)");
      }
    }
    sockets.push_back(std::move(fd));
  }
  return FrameCapture(std::move(sockets));
}

Result<std::vector<std::vector<uint8_t>>> FrameCapture::Take(bool go_on) {
  std::vector<std::vector<uint8_t>> batches;
  std::vector<uint8_t> frame(kMaxCapturedFrame);
  for (UniqueFd& fd : sockets_) {
    std::vector<uint8_t> batch;
    for (;;) {
      // MSG_TRUNC: the frame's whole length even where it did not fit.
      ssize_t got = ::recv(fd.Get(), frame.data(), frame.size(), MSG_DONTWAIT | MSG_TRUNC);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (got < 0) return LastError("recv(AF_PACKET)");
      auto size = static_cast<size_t>(got);
      if (size > frame.size() || !IsWholeTcpFrame(frame.data(), size)) continue;
      auto length = static_cast<uint32_t>(size);
      for (size_t i = 0; i < kFrameLengthSize; i++) batch.push_back(static_cast<uint8_t>(length >> (8 * i)));
      batch.insert(batch.end(), frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(size));
    }
    batches.push_back(std::move(batch));
    if (!go_on) fd.Reset();
  }
  return batches;
}

Result<InjectCounts> InjectFrames(int ifindex, const uint8_t* batch, size_t size) {
  // Protocol 0: this socket only sends.
  UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!fd.Valid()) return LastError("socket(AF_PACKET)");
  InjectCounts counts;
  std::vector<uint8_t> frame;
  for (size_t at = 0; at < size;) {
    if (size - at < kFrameLengthSize) return Failure(EINVAL, "inject frames", "a frame's length is cut short");
    uint32_t length = 0;
    for (size_t i = 0; i < kFrameLengthSize; i++) length |= static_cast<uint32_t>(batch[at + i]) << (8 * i);
    at += kFrameLengthSize;
    if (length > kMaxCapturedFrame || length > size - at) return Failure(EINVAL, "inject frames", "a frame runs past the batch");
    frame.assign(batch + at, batch + at + length);
    at += length;
    if (!IsWholeTcpFrame(frame.data(), frame.size())) {
      counts.skipped++;
      continue;
    }
    WriteTcpChecksum(frame.data(), frame.size());
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(Be16(frame.data() + 12));
    to.sll_ifindex = ifindex;
    to.sll_halen = ETH_ALEN;
    std::memcpy(to.sll_addr, frame.data(), ETH_ALEN);
    if (::sendto(fd.Get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0) {
      if (errno != EMSGSIZE) return LastError("sendto(AF_PACKET)");
      counts.skipped++;  // a segmentation-offload frame: the client sends it again itself
      continue;
    }
    counts.sent++;
  }
  return counts;
}

}  // namespace freezedry::core
