// libFuzzer target: an archive from anywhere (a copied file, a hostile peer) opened and read by
// the native archive reader. Every input must end in a coded error or a read, never a crash,
// an overflow or an unbounded allocation (ASan's allocation limit catches those).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "core/archive_reader.h"

using namespace freezedry::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = ::memfd_create("archive", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (size > 0 && ::write(fd, data, size) != static_cast<ssize_t>(size)) {
    ::close(fd);
    return 0;
  }
  auto reader = ArchiveReader::Open(fd);
  ::close(fd);
  if (!reader.Ok()) return 0;
  ArchiveReader& archive = *reader.Value();
  const uint64_t stream = archive.StreamSize();
  std::vector<uint8_t> out(4096);
  // The start, the middle and the end of the stream, as the index and an entry's read would.
  for (uint64_t offset : {uint64_t{0}, stream / 2, stream > out.size() ? stream - out.size() : 0}) {
    size_t length = static_cast<size_t>(std::min<uint64_t>(out.size(), stream - std::min(offset, stream)));
    (void)archive.Read(offset, out.data(), length);
  }
  (void)archive.Read(stream, out.data(), 1);  // past the end: an error, not a read
  return 0;
}
