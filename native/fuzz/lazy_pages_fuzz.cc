// libFuzzer target: the lazy-pages socket's records (a pid, then a userfaultfd passed on a
// one-byte message; RSTF at the end) as the uffd server reads them, from a peer that sends
// anything and then hangs up. The server must end with an error or a clean close, never hang.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "core/page_source.h"
#include "core/uffd_server.h"

using namespace freezedry::core;

namespace {
// No page is ever asked for: no userfaultfd can come from a fuzzer's bytes.
class NoPages : public PageSource {
 public:
  Status Read(uint32_t, uint64_t, uint8_t*, size_t) override { return Failure(EIO, "fuzz", "no pages"); }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string path = "/tmp/freezedry-fuzz-lazy-" + std::to_string(::getpid()) + ".sock";
  std::map<int32_t, std::vector<LazyRange>> table;
  table[1].push_back(LazyRange{0x400000, 4096, 0, 0, false});
  auto server = UffdServer::Create(path, std::move(table), std::make_shared<NoPages>(), UffdServerOptions{});
  if (!server.Ok()) return 0;
  std::thread runner([&] { server.Value()->Run([](UffdServer::Event, const SysError*) {}); });

  int peer = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (peer >= 0 && ::connect(peer, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && size > 0) {
    (void)!::write(peer, data, size);
  }
  if (peer >= 0) ::close(peer);  // hangs up: a record cut short must not block the server
  server.Value()->Stop();
  runner.join();
  return 0;
}
