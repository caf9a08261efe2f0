// The uffd server against a userfaultfd of this very process, handed over as CRIU hands a
// restored task's (a pid record, the uffd on a one-byte message, then RSTF): a read of the
// region faults and is served from a page source, the background fill places the rest, and a
// lazy-pages peer that hangs up before RSTF fails the server instead of hanging it.
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "core/page_source.h"
#include "core/seqpacket.h"
#include "core/uffd_server.h"

using namespace freezedry::core;

namespace {

constexpr size_t kPage = 4096;
constexpr int32_t kPid = 4242;  // the pid in the "images": only a key into the table

struct Region {
  uint8_t* data = nullptr;
  size_t length = 0;
  int uffd = -1;
};

// An anonymous region whose missing pages fault to a userfaultfd (nothing else touches it).
bool RegisterRegion(Region& region, size_t pages) {
  region.length = pages * kPage;
  void* data = ::mmap(nullptr, region.length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(data != MAP_FAILED);
  region.data = static_cast<uint8_t*>(data);
  region.uffd = static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  if (region.uffd < 0) return false;
  uffdio_api api{};
  api.api = UFFD_API;
  CHECK(::ioctl(region.uffd, UFFDIO_API, &api) == 0);
  uffdio_register reg{};
  reg.range = {reinterpret_cast<uint64_t>(region.data), region.length};
  reg.mode = UFFDIO_REGISTER_MODE_MISSING;
  CHECK(::ioctl(region.uffd, UFFDIO_REGISTER, &reg) == 0);
  return true;
}

// A page source whose page i is filled with the byte i + 1.
std::shared_ptr<PageSource> PatternSource(size_t pages) {
  int fd = ::memfd_create("pages", MFD_CLOEXEC);
  CHECK(fd >= 0);
  std::vector<uint8_t> page(kPage);
  for (size_t i = 0; i < pages; i++) {
    std::memset(page.data(), static_cast<int>(i + 1), kPage);
    CHECK(::write(fd, page.data(), kPage) == static_cast<ssize_t>(kPage));
  }
  auto source = FilePageSource::Create({fd});
  ::close(fd);
  CHECK_OK(source);
  return std::shared_ptr<PageSource>(source.Take());
}

int ConnectTo(const std::string& path) {
  int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  CHECK(::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return sock;
}

// What CRIU sends for one task: its pid, then its uffd with one byte.
void SendTask(int sock, int32_t pid, int uffd) {
  CHECK(::write(sock, &pid, sizeof pid) == sizeof pid);
  const uint8_t byte = 0;
  CHECK_OK(SendPacket(sock, &byte, 1, uffd));
}

std::string SocketPath(const char* name) { return "/tmp/freezedry-uffd-test-" + std::to_string(::getpid()) + "-" + name + ".sock"; }

}  // namespace

TEST(ServesAFaultAndFillsTheRest) {
  const size_t pages = 256;
  Region region;
  if (!RegisterRegion(region, pages)) {
    std::printf("skip: no userfaultfd here\n");
    std::exit(77);
  }
  std::map<int32_t, std::vector<LazyRange>> table;
  table[kPid].push_back(LazyRange{reinterpret_cast<uint64_t>(region.data), region.length, 0, 0, false});
  const std::string path = SocketPath("serve");
  UffdServerOptions options;
  options.fill_chunk = 16 * kPage;  // several background steps
  auto server = UffdServer::Create(path, std::move(table), PatternSource(pages), options);
  CHECK_OK(server);
  std::atomic<int> complete{0}, failed{0};
  std::thread runner([&] {
    server.Value()->Run([&](UffdServer::Event event, const SysError*) {
      if (event == UffdServer::Event::kComplete) complete = 1;
      if (event == UffdServer::Event::kFailed) failed = 1;
    });
  });
  int sock = ConnectTo(path);
  SendTask(sock, kPid, region.uffd);
  uint32_t restored = 0x52535446;  // "RSTF"
  CHECK(::write(sock, &restored, sizeof restored) == sizeof restored);

  // This read faults: the server places page 200 (and around it) before it returns.
  CHECK(region.data[200 * kPage + 17] == 201);
  runner.join();
  CHECK(complete == 1 && failed == 0);
  for (size_t i = 0; i < pages; i++) CHECK(region.data[i * kPage] == static_cast<uint8_t>(i + 1));
  const UffdCounters& counters = server.Value()->Counters();
  CHECK(counters.pages_copied == pages);
  CHECK(counters.tasks == 1);
  ::close(sock);
  ::close(region.uffd);
  ::munmap(region.data, region.length);
}

TEST(FailsWhenThePeerHangsUpBeforeTheRestoreEnds) {
  std::map<int32_t, std::vector<LazyRange>> table;
  const std::string path = SocketPath("hangup");
  auto server = UffdServer::Create(path, std::move(table), PatternSource(1), UffdServerOptions{});
  CHECK_OK(server);
  int error = 0;
  std::thread runner([&] {
    server.Value()->Run([&](UffdServer::Event event, const SysError* err) {
      if (event == UffdServer::Event::kFailed && err) error = err->err;
    });
  });
  int sock = ConnectTo(path);
  int32_t pid = kPid;
  CHECK(::write(sock, &pid, sizeof pid) == sizeof pid);  // a task record cut short: no uffd follows
  ::close(sock);
  runner.join();
  CHECK(error != 0);
}

int main() {
  RUN(ServesAFaultAndFillsTheRest);
  RUN(FailsWhenThePeerHangsUpBeforeTheRestoreEnds);
  return 0;
}
