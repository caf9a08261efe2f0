// The page sink against a scripted CRIU sender: replies, pagemap images, page data, holes,
// shared memory images, and a sender that vanishes mid-session.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "core/page_server_protocol.h"
#include "core/page_sink.h"

using namespace freezedry::core;
namespace ps = freezedry::core::page_server;

namespace {

void Send(int fd, const void* data, size_t size) { CHECK(write(fd, data, size) == static_cast<ssize_t>(size)); }

void SendHeader(int fd, uint32_t cmd, uint64_t nr_pages, uint64_t vaddr, uint64_t dst_id) {
  ps::Header h{cmd, 0, nr_pages, vaddr, dst_id};
  Send(fd, &h, sizeof h);
}

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::vector<uint8_t> out;
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return out;
  uint8_t buf[65536];
  ssize_t got;
  while ((got = read(fd, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + got);
  close(fd);
  return out;
}

}  // namespace

TEST(WritesImagesCriuCanRead) {
  char dir[] = "/tmp/freezedry-sink-test-XXXXXX";
  CHECK(mkdtemp(dir) != nullptr);
  int dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
  auto output = DirectoryOutput::Create(dir_fd);
  close(dir_fd);
  CHECK_OK(output);
  int sock[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sock) == 0);
  PageSinkCounters counters;
  Status served = OkStatus();
  std::thread sink([&] { served = ServePageSession(sock[0], *output.Value(), counters); });

  const uint64_t task = (7ull << 8) | ps::kTaskPages;
  SendHeader(sock[1], ps::kOpen2, 0, 0, task);
  uint8_t has_parent = 9;
  CHECK(read(sock[1], &has_parent, 1) == 1 && has_parent == 0);
  std::vector<uint8_t> pages(2 * ps::kPageSize, 0xab);
  SendHeader(sock[1], ps::Encode(ps::kAddFlagged, ps::kPresent), 2, 0x400000, task);
  Send(sock[1], pages.data(), pages.size());
  SendHeader(sock[1], ps::Encode(ps::kAddFlagged, ps::kInParent), 3, 0x500000, task);  // a hole: no data
  SendHeader(sock[1], ps::Encode(ps::kAddFlagged, ps::kPresent | ps::kLazy), 1, 0x600000, task);
  Send(sock[1], pages.data(), ps::kPageSize);
  const uint64_t shmem = (42ull << 8) | ps::kShmemPages;
  SendHeader(sock[1], ps::kAdd, 1, 0, shmem);  // old-style: ADD without OPEN
  Send(sock[1], pages.data(), ps::kPageSize);
  SendHeader(sock[1], ps::kClose, 0, 0, 0);
  int32_t status = -1;
  CHECK(read(sock[1], &status, 4) == 4 && status == 0);
  close(sock[1]);
  sink.join();
  CHECK_OK(served);
  CHECK(counters.bytes == 4 * ps::kPageSize && counters.entries == 4 && counters.images == 2);

  std::string base(dir);
  CHECK(ReadFile(base + "/pages-65537.img").size() == 3 * ps::kPageSize);
  CHECK(ReadFile(base + "/pages-65538.img").size() == ps::kPageSize);
  auto pagemap = ReadFile(base + "/pagemap-7.img");
  // magics, then head {pages_id = 65537}: size 4, key 0x08, varint 65537 = 81 80 04
  const uint8_t head[] = {0x19, 0x43, 0x56, 0x54, 0x25, 0x40, 0x08, 0x56, 4, 0, 0, 0, 0x08, 0x81, 0x80, 0x04};
  CHECK(pagemap.size() > sizeof head && std::memcmp(pagemap.data(), head, sizeof head) == 0);
  CHECK(!ReadFile(base + "/pagemap-shmem-42.img").empty());
  std::system(("rm -rf " + base).c_str());
}

TEST(FailsWhenTheSenderVanishes) {
  auto output = std::make_unique<DiscardOutput>();
  int sock[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sock) == 0);
  SendHeader(sock[1], ps::kOpen, 0, 0, (1ull << 8) | ps::kTaskPages);
  SendHeader(sock[1], ps::Encode(ps::kAddFlagged, ps::kPresent), 4, 0, (1ull << 8) | ps::kTaskPages);
  std::vector<uint8_t> half(2 * ps::kPageSize, 1);
  Send(sock[1], half.data(), half.size());
  close(sock[1]);
  PageSinkCounters counters;
  auto served = ServePageSession(sock[0], *output, counters);
  CHECK(!served.Ok());
  CHECK(served.Error().err == EPIPE);
  close(sock[0]);
}

TEST(RejectsUnknownCommands) {
  DiscardOutput output;
  int sock[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sock) == 0);
  SendHeader(sock[1], 77, 0, 0, 0);
  PageSinkCounters counters;
  auto served = ServePageSession(sock[0], output, counters);
  CHECK(!served.Ok() && served.Error().err == EPROTO);
  close(sock[0]);
  close(sock[1]);
}

// A count of pages whose size in bytes wraps past 2^64 (2^52 + 1 pages "is" 4096 bytes).
TEST(RejectsAnEntryNoAddressSpaceHolds) {
  DiscardOutput output;
  int sock[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sock) == 0);
  const uint64_t task = (7ull << 8) | ps::kTaskPages;
  SendHeader(sock[1], ps::Encode(ps::kAddFlagged, ps::kPresent), (1ull << 52) + 1, 0x400000, task);
  std::vector<uint8_t> page(ps::kPageSize, 1);
  Send(sock[1], page.data(), page.size());
  shutdown(sock[1], SHUT_WR);
  PageSinkCounters counters;
  auto served = ServePageSession(sock[0], output, counters);
  CHECK(!served.Ok() && served.Error().err == EPROTO);
  CHECK(counters.bytes == 0);
  close(sock[0]);
  close(sock[1]);
}

int main() {
  RUN(WritesImagesCriuCanRead);
  RUN(FailsWhenTheSenderVanishes);
  RUN(RejectsUnknownCommands);
  RUN(RejectsAnEntryNoAddressSpaceHolds);
  return 0;
}
