// Capturing what an interface sends and injecting frames, on a veth pair in a network
// namespace of the test's own.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <vector>

#include "check.h"
#include "core/frame_capture.h"

using namespace freezedry::core;

// An Ethernet frame holding IPv4 (or IPv6) carrying `protocol` with a 20-byte header and `payload` bytes.
static std::vector<uint8_t> Frame(bool ipv6, uint8_t protocol, size_t payload) {
  std::vector<uint8_t> f(14, 0);
  for (int i = 0; i < 6; i++) f[i] = static_cast<uint8_t>(0x02 + i), f[6 + i] = static_cast<uint8_t>(0x12 + i);
  size_t l4 = 20 + payload;
  if (ipv6) {
    f[12] = 0x86, f[13] = 0xdd;
    std::vector<uint8_t> ip(40, 0);
    ip[0] = 0x60, ip[4] = static_cast<uint8_t>(l4 >> 8), ip[5] = static_cast<uint8_t>(l4), ip[6] = protocol, ip[7] = 64;
    for (int i = 0; i < 16; i++) ip[8 + i] = static_cast<uint8_t>(0x20 + i), ip[24 + i] = static_cast<uint8_t>(0x40 + i);
    f.insert(f.end(), ip.begin(), ip.end());
  } else {
    f[12] = 0x08, f[13] = 0x00;
    size_t total = 20 + l4;
    std::vector<uint8_t> ip = {
        0x45, 0, static_cast<uint8_t>(total >> 8), static_cast<uint8_t>(total), 0, 1, 0x40, 0, 64, protocol, 0, 0, 198, 18, 0, 3, 198, 18,
        0,    10};
    f.insert(f.end(), ip.begin(), ip.end());
  }
  std::vector<uint8_t> l4bytes(l4, 0);
  l4bytes[0] = 0x9c, l4bytes[1] = 0x40, l4bytes[2] = 0x1f, l4bytes[3] = 0x90;  // ports 40000 -> 8080
  l4bytes[12] = 0x50, l4bytes[13] = 0x18;                                      // header 20 bytes; PSH, ACK
  for (size_t i = 20; i < l4; i++) l4bytes[i] = static_cast<uint8_t>('a' + i % 26);
  f.insert(f.end(), l4bytes.begin(), l4bytes.end());
  return f;
}

// The one's complement sum over the pseudo-header and the segment: 0xffff when the checksum is right.
static uint16_t SumWithChecksum(const std::vector<uint8_t>& f) {
  bool ipv6 = f[12] == 0x86;
  size_t ip_header = ipv6 ? 40 : 20;
  size_t at = 14 + ip_header;
  size_t tcp = f.size() - at;
  uint32_t sum = 6 + static_cast<uint32_t>(tcp);
  auto add = [&](size_t from, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>((f[from + i] << 8) | f[from + i + 1]);
    if (n % 2) sum += static_cast<uint32_t>(f[from + n - 1]) << 8;
  };
  add(ipv6 ? 14 + 8 : 14 + 12, ipv6 ? 32 : 8);
  add(at, tcp);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

static std::vector<uint8_t> Batch(const std::vector<std::vector<uint8_t>>& frames) {
  std::vector<uint8_t> batch;
  for (const auto& f : frames) {
    for (int i = 0; i < 4; i++) batch.push_back(static_cast<uint8_t>(f.size() >> (8 * i)));
    batch.insert(batch.end(), f.begin(), f.end());
  }
  return batch;
}

TEST(WritesTcpChecksumsForIpv4AndIpv6) {
  for (bool ipv6 : {false, true}) {
    for (size_t payload : {0, 7, 100}) {  // odd lengths too
      auto f = Frame(ipv6, 6, payload);
      CHECK(IsWholeTcpFrame(f.data(), f.size()));
      WriteTcpChecksum(f.data(), f.size());
      CHECK(SumWithChecksum(f) == 0xffff);
    }
  }
}

TEST(TakesOnlyWholeTcpFrames) {
  auto udp = Frame(false, 17, 10);
  CHECK(!IsWholeTcpFrame(udp.data(), udp.size()));
  auto tcp = Frame(false, 6, 10);
  CHECK(!IsWholeTcpFrame(tcp.data(), tcp.size() - 1));  // its IP packet cut short
  auto fragment = tcp;
  fragment[14 + 6] = 0x20;  // more fragments
  CHECK(!IsWholeTcpFrame(fragment.data(), fragment.size()));
  auto padded = tcp;
  padded.resize(tcp.size() + 6, 0);  // Ethernet padding is no reason to refuse
  CHECK(IsWholeTcpFrame(padded.data(), padded.size()));
  std::vector<uint8_t> arp(42, 0);
  arp[12] = 0x08, arp[13] = 0x06;
  CHECK(!IsWholeTcpFrame(arp.data(), arp.size()));
  CHECK(!IsWholeTcpFrame(tcp.data(), 10));
}

TEST(RefusesABatchThatRunsShort) {
  auto batch = Batch({Frame(false, 6, 10)});
  batch.pop_back();
  CHECK(!InjectFrames(1, batch.data(), batch.size()).Ok());
  std::vector<uint8_t> huge = {0xff, 0xff, 0xff, 0x7f};
  CHECK(!InjectFrames(1, huge.data(), huge.size()).Ok());
}

// In a child with its own network namespace: a veth pair fa-fb, a capture on fa.
static int CaptureInjectedFrames() {
  if (unshare(CLONE_NEWNET) != 0) return 77;
  if (std::system("ip link add fa type veth peer name fb && ip link set fa up && ip link set fb up") != 0) return 77;
  int fa = static_cast<int>(if_nametoindex("fa")), fb = static_cast<int>(if_nametoindex("fb"));
  CHECK(fa > 0 && fb > 0);
  auto capture = FrameCapture::Start({{fa, std::nullopt}}, 1 << 20);
  CHECK_OK(capture);
  auto tcp = Frame(false, 6, 32);  // its checksum left zero, as offload may leave it
  auto batch = Batch({tcp, Frame(false, 17, 32), Frame(true, 6, 5)});
  auto out = InjectFrames(fa, batch.data(), batch.size());
  CHECK_OK(out);
  CHECK(out.Value().sent == 2 && out.Value().skipped == 1);
  // What fb sends arrives at fa: incoming there, so not kept.
  auto back = Batch({Frame(false, 6, 3)});
  CHECK_OK(InjectFrames(fb, back.data(), back.size()));
  auto taken = capture.Value().Take();
  CHECK_OK(taken);
  CHECK(taken.Value().size() == 1);
  const auto& kept = taken.Value()[0];
  CHECK(kept.size() == 4 + tcp.size() + 4 + Frame(true, 6, 5).size());
  std::vector<uint8_t> first(kept.begin() + 4, kept.begin() + 4 + static_cast<std::ptrdiff_t>(tcp.size()));
  CHECK(SumWithChecksum(first) == 0xffff);  // injected with its checksum written
  std::vector<uint8_t> expected = tcp;
  WriteTcpChecksum(expected.data(), expected.size());
  CHECK(first == expected);
  return 0;
}

// A SYN with its checksum left out, injected through fa, reaches a listener on fb's address: the
// kernel there takes it (checksum and all) and answers with a SYN-ACK, which fb sends.
static int AnsweredAfterInjection() {
  if (unshare(CLONE_NEWNET) != 0) return 77;
  if (std::system("ip link add fa address 02:00:00:00:00:0a type veth peer name fb address 02:00:00:00:00:0b && "
                  "ip link set fa up && ip link set fb up && ip addr add 10.9.0.2/24 dev fb && "
                  "ip neigh add 10.9.0.1 lladdr 02:00:00:00:00:0a dev fb") != 0) {
    return 77;
  }
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(8080);
  at.sin_addr.s_addr = inet_addr("10.9.0.2");
  CHECK(bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof(at)) == 0 && listen(listener, 4) == 0);
  int fa = static_cast<int>(if_nametoindex("fa")), fb = static_cast<int>(if_nametoindex("fb"));
  auto capture = FrameCapture::Start({{fb, std::nullopt}}, 1 << 20);
  CHECK_OK(capture);
  auto syn = Frame(false, 6, 0);
  const uint8_t to[] = {2, 0, 0, 0, 0, 0x0b}, from[] = {2, 0, 0, 0, 0, 0x0a};
  std::copy(to, to + 6, syn.begin());
  std::copy(from, from + 6, syn.begin() + 6);
  const uint8_t addresses[] = {10, 9, 0, 1, 10, 9, 0, 2};
  std::copy(addresses, addresses + 8, syn.begin() + 14 + 12);
  uint32_t sum = 0;  // the IP header's own checksum, which the kernel checks too
  for (size_t i = 14; i < 34; i += 2) sum += static_cast<uint32_t>((syn[i] << 8) | syn[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  syn[24] = static_cast<uint8_t>(~sum >> 8), syn[25] = static_cast<uint8_t>(~sum);
  syn[34 + 13] = 0x02;                       // SYN
  syn[34 + 14] = 0xff, syn[34 + 15] = 0xff;  // a window
  auto batch = Batch({syn});
  auto out = InjectFrames(fa, batch.data(), batch.size());
  CHECK_OK(out);
  CHECK(out.Value().sent == 1);
  bool answered = false;
  for (int tries = 0; tries < 100 && !answered; tries++) {
    usleep(10000);
    auto taken = capture.Value().Take();
    CHECK_OK(taken);
    const auto& kept = taken.Value()[0];
    for (size_t i = 0; i + 4 <= kept.size();) {
      size_t length = kept[i] | (kept[i + 1] << 8) | (kept[i + 2] << 16) | (static_cast<size_t>(kept[i + 3]) << 24);
      const uint8_t* f = kept.data() + i + 4;
      // From 8080 back to 40000, SYN and ACK.
      if (length >= 54 && f[34] == 0x1f && f[35] == 0x90 && f[36] == 0x9c && f[37] == 0x40 && f[34 + 13] == 0x12) answered = true;
      i += 4 + length;
    }
    if (!answered) capture = FrameCapture::Start({{fb, std::nullopt}}, 1 << 20);
  }
  CHECK(answered);
  return 0;
}

// An IPv4 frame with its header checksum written (a bridge that filters checks it).
static std::vector<uint8_t> WithIpChecksum(std::vector<uint8_t> f) {
  uint32_t sum = 0;
  f[24] = f[25] = 0;
  for (size_t i = 14; i < 34; i += 2) sum += static_cast<uint32_t>((f[i] << 8) | f[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  f[24] = static_cast<uint8_t>(~sum >> 8), f[25] = static_cast<uint8_t>(~sum);
  return f;
}

// A bridge with a port va whose peer vb sends frames into it: those for an address the bridge
// has no port for are kept on the bridge (promiscuous while the capture runs), others are not.
static int CaptureOnBridge() {
  if (unshare(CLONE_NEWNET) != 0) return 77;
  if (std::system("ip link add br0 type bridge && ip link add va type veth peer name vb && ip link set va master br0 && "
                  "ip link set br0 up && ip link set va up && ip link set vb up") != 0) {
    return 77;
  }
  int br = static_cast<int>(if_nametoindex("br0")), vb = static_cast<int>(if_nametoindex("vb"));
  CHECK(br > 0 && vb > 0);
  const MacAddress gone = {0x02, 0x03, 0x04, 0x05, 0x06, 0x07};  // Frame()'s destination
  auto capture = FrameCapture::Start({{br, gone}}, 1 << 20);
  CHECK_OK(capture);
  auto wanted = WithIpChecksum(Frame(false, 6, 32));
  auto other = WithIpChecksum(Frame(false, 6, 16));
  other[5] = 0x99;
  auto batch = Batch({wanted, other, WithIpChecksum(Frame(false, 17, 8))});
  CHECK_OK(InjectFrames(vb, batch.data(), batch.size()));
  std::vector<uint8_t> kept;
  for (int tries = 0; tries < 100 && kept.empty(); tries++) {
    usleep(10000);
    auto taken = capture.Value().Take(true);
    CHECK_OK(taken);
    kept = taken.Value()[0];
  }
  CHECK(kept.size() == 4 + wanted.size());
  CHECK(std::equal(kept.begin() + 4, kept.begin() + 4 + 6, wanted.begin()));
  // Taken part way, it went on keeping what follows, and only that.
  CHECK_OK(InjectFrames(vb, batch.data(), batch.size()));
  usleep(20000);
  auto rest = capture.Value().Take();
  CHECK_OK(rest);
  CHECK(rest.Value()[0].size() == 4 + wanted.size());
  return 0;
}

// Runs `body` in a child of its own; 77 from it is a skip.
static void InChild(const char* name, int (*body)()) {
  pid_t child = fork();
  if (child == 0) _exit(body());
  int status = 0;
  CHECK(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) {
    std::printf("skip %s: no network namespace or veth here\n", name);
    return;
  }
  CHECK(WEXITSTATUS(status) == 0);
}

TEST(KeepsWhatAnInterfaceSendsAndInjectsTcpOnly) { InChild("KeepsWhatAnInterfaceSendsAndInjectsTcpOnly", CaptureInjectedFrames); }

TEST(AnInjectedSegmentIsTakenByTheKernelBehindTheVeth) {
  InChild("AnInjectedSegmentIsTakenByTheKernelBehindTheVeth", AnsweredAfterInjection);
}

TEST(KeepsFramesABridgeGetsForAnAddressItHasNoPortFor) { InChild("KeepsFramesABridgeGetsForAnAddressItHasNoPortFor", CaptureOnBridge); }

int main() {
  RUN(WritesTcpChecksumsForIpv4AndIpv6);
  RUN(TakesOnlyWholeTcpFrames);
  RUN(RefusesABatchThatRunsShort);
  RUN(KeepsWhatAnInterfaceSendsAndInjectsTcpOnly);
  RUN(AnInjectedSegmentIsTakenByTheKernelBehindTheVeth);
  RUN(KeepsFramesABridgeGetsForAnAddressItHasNoPortFor);
  return 0;
}
