// Reading another process's pages while it runs, and the zstd buffers they travel in.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "check.h"
#include "core/process_memory.h"
#include "core/zstd_buffer.h"

using namespace freezedry::core;

TEST(ReadsAChildsPagesAndZeroesWhatIsGone) {
  // Mapped before fork, so the child holds the same addresses with its own copy.
  const size_t size = 4 * 4096;
  auto* area = static_cast<uint8_t*>(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  CHECK(area != MAP_FAILED);
  int ready[2];
  CHECK(pipe(ready) == 0);
  pid_t child = fork();
  if (child == 0) {
    for (size_t i = 0; i < size; i++) area[i] = static_cast<uint8_t>(i % 251);
    munmap(area + 2 * 4096, 4096);  // the third page goes away
    char c = 1;
    (void)!write(ready[1], &c, 1);
    pause();
    _exit(0);
  }
  char c;
  CHECK(read(ready[0], &c, 1) == 1);
  auto base = reinterpret_cast<uint64_t>(area);
  auto copy = ReadProcessMemory(child, {{base + 4096, 3 * 4096}, {base, 100}});
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  CHECK_OK(copy);
  const auto& bytes = copy.Value().bytes;
  CHECK(bytes.size() == 3 * 4096 + 100);
  CHECK(copy.Value().unreadable == 4096);
  for (size_t i = 0; i < 4096; i++) CHECK(bytes[i] == static_cast<uint8_t>((4096 + i) % 251));
  for (size_t i = 4096; i < 2 * 4096; i++) CHECK(bytes[i] == 0);  // the unmapped page
  for (size_t i = 2 * 4096; i < 3 * 4096; i++) CHECK(bytes[i] == static_cast<uint8_t>((4096 + i) % 251));
  for (size_t i = 0; i < 100; i++) CHECK(bytes[3 * 4096 + i] == static_cast<uint8_t>(i % 251));
  munmap(area, size);
}

TEST(CompressesAndRestoresABuffer) {
  std::vector<uint8_t> data(1 << 20);
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>((i / 7) % 13);
  auto packed = CompressBuffer(data.data(), data.size(), 1, 2);
  CHECK_OK(packed);
  CHECK(packed.Value().size() < data.size() / 10);
  auto unpacked = DecompressBuffer(packed.Value().data(), packed.Value().size());
  CHECK_OK(unpacked);
  CHECK(unpacked.Value() == data);
  auto garbage = DecompressBuffer(data.data(), 64);
  CHECK(!garbage.Ok());
}

int main() {
  RUN(ReadsAChildsPagesAndZeroesWhatIsGone);
  RUN(CompressesAndRestoresABuffer);
  return 0;
}
