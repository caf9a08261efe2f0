// Out of memory on a thread of the core's own: an error from the call, never an exception that
// ends the process (a Node service that checkpoints itself would die with its archive).
// This binary's operator new fails, when asked, for large blocks on threads other than main.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "core/archive_reader.h"
#include "core/archive_writer.h"

using namespace freezedry::core;

namespace {

std::atomic<bool> fail_large_off_main{false};
std::thread::id main_thread;

void* Allocate(std::size_t size) {
  if (fail_large_off_main.load() && size >= (64 << 10) && std::this_thread::get_id() != main_thread) throw std::bad_alloc();
  if (void* block = std::malloc(size == 0 ? 1 : size)) return block;
  throw std::bad_alloc();
}

std::string TempFile() {
  char path[] = "/tmp/freezedry-oom-test-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  return path;
}

std::vector<uint8_t> Text(size_t size) {
  std::vector<uint8_t> data(size);
  for (size_t i = 0; i < size; i++) data[i] = static_cast<uint8_t>('a' + (i * 7 + i / 13) % 26);
  return data;
}

Result<std::unique_ptr<ArchiveWriter>> NewWriter(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
  ArchiveWriterOptions options;
  options.frame_size = 128 << 10;
  auto writer = ArchiveWriter::Create(fd, options);
  close(fd);
  return writer;
}

}  // namespace

void* operator new(std::size_t size) { return Allocate(size); }
void* operator new[](std::size_t size) { return Allocate(size); }
void operator delete(void* block) noexcept { std::free(block); }
void operator delete[](void* block) noexcept { std::free(block); }
void operator delete(void* block, std::size_t) noexcept { std::free(block); }
void operator delete[](void* block, std::size_t) noexcept { std::free(block); }

// The compressors cannot get a buffer for their output: Finish reports ENOMEM.
TEST(WriterThreadsOutOfMemoryFailTheArchive) {
  std::string path = TempFile();
  auto writer = NewWriter(path);
  CHECK_OK(writer);
  std::vector<uint8_t> header(512, 'H'), data = Text(4 << 20);
  CHECK_OK(writer.Value()->BeginEntry("entry", header.data()));
  fail_large_off_main = true;
  auto written = writer.Value()->Write(data.data(), data.size());
  Result<ArchiveEntryInfo> ended = written.Ok() ? writer.Value()->EndEntry() : Result<ArchiveEntryInfo>(written.Error());
  auto finished = ended.Ok() ? writer.Value()->Finish(false) : Result<uint64_t>(ended.Error());
  fail_large_off_main = false;
  CHECK(!finished.Ok());
  CHECK(finished.Error().err == ENOMEM);
  unlink(path.c_str());
}

// A frame read on another thread (libuv's pool, the lazy-pages server) that cannot be
// decompressed for want of memory is an ENOMEM error; the next read, with memory, succeeds.
TEST(ReaderOutOfMemoryOnAnotherThreadIsAnError) {
  std::string path = TempFile();
  std::vector<uint8_t> header(512, 'H'), data = Text(1 << 20);
  {
    auto writer = NewWriter(path);
    CHECK_OK(writer);
    CHECK_OK(writer.Value()->BeginEntry("entry", header.data()));
    CHECK_OK(writer.Value()->Write(data.data(), data.size()));
    CHECK_OK(writer.Value()->EndEntry());
    CHECK_OK(writer.Value()->Finish(false));
  }
  int fd = open(path.c_str(), O_RDONLY);
  auto reader = ArchiveReader::Open(fd);
  close(fd);
  CHECK_OK(reader);
  std::vector<uint8_t> out(4096);
  fail_large_off_main = true;
  int failed_with = 0;
  std::thread([&] {
    auto read = reader.Value()->Read(512 + 300000, out.data(), out.size());
    failed_with = read.Ok() ? 0 : read.Error().err;
  }).join();
  fail_large_off_main = false;
  CHECK(failed_with == ENOMEM);
  std::thread([&] { CHECK_OK(reader.Value()->Read(512 + 300000, out.data(), out.size())); }).join();
  CHECK(std::equal(out.begin(), out.end(), data.begin() + 300000));
  unlink(path.c_str());
}

int main() {
  main_thread = std::this_thread::get_id();
  RUN(WriterThreadsOutOfMemoryFailTheArchive);
  RUN(ReaderOutOfMemoryOnAnotherThreadIsAnError);
  return 0;
}
