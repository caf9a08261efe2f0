// Archive writing and random-access reading, and what a damaged archive reports.
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "core/archive_format.h"
#include "core/archive_reader.h"
#include "core/archive_writer.h"

using namespace freezedry::core;

namespace {

std::string TempFile() {
  char path[] = "/tmp/freezedry-archive-test-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  return path;
}

std::vector<uint8_t> Header(char tag) { return std::vector<uint8_t>(512, static_cast<uint8_t>(tag)); }

std::vector<uint8_t> Pattern(size_t size, uint32_t seed) {
  std::vector<uint8_t> data(size);
  for (size_t i = 0; i < size; i++) {
    seed = seed * 1103515245 + 12345;
    data[i] = (i % 3 == 0) ? static_cast<uint8_t>(seed >> 16) : static_cast<uint8_t>('a' + i % 7);
  }
  return data;
}

// A writer of `frame_size` frames (1 MiB unless given) into the file at `path`.
std::unique_ptr<ArchiveWriter> NewWriter(const std::string& path, size_t frame_size = 1 << 20) {
  int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
  ArchiveWriterOptions options;
  options.frame_size = frame_size;
  auto writer = ArchiveWriter::Create(fd, options);
  close(fd);
  CHECK_OK(writer);
  return std::move(writer.Value());
}

// `data` into the open entry through WriteFrom, as the page sink does: from a socket, sent
// `piece` bytes at a time and taken in calls of at most `call` bytes.
void WriteThroughSocket(ArchiveWriter& writer, const std::vector<uint8_t>& data, size_t piece, size_t call) {
  int sock[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sock) == 0);
  std::thread feeder([&] {
    size_t done = 0;
    while (done < data.size()) done += static_cast<size_t>(write(sock[1], data.data() + done, std::min(data.size() - done, piece)));
  });
  for (size_t at = 0; at < data.size(); at += call) CHECK_OK(writer.WriteFrom(sock[0], std::min(call, data.size() - at)));
  feeder.join();
  close(sock[0]);
  close(sock[1]);
}

// Writes: entry A (header given, 1000 bytes), entry B (reserved header, 9 MiB from a socket).
std::string WriteSample(std::vector<uint8_t>& a, std::vector<uint8_t>& b, ArchiveEntryInfo& info_b) {
  std::string path = TempFile();
  auto writer = NewWriter(path);
  a = Pattern(1000, 1);
  b = Pattern(9 << 20, 2);
  auto header_a = Header('A');
  CHECK_OK(writer->BeginEntry("a", header_a.data()));
  CHECK_OK(writer->Write(a.data(), a.size()));
  CHECK_OK(writer->EndEntry());
  auto index = writer->BeginEntry("b", nullptr);
  CHECK_OK(index);
  WriteThroughSocket(*writer, b, b.size(), b.size());
  auto ended = writer->EndEntry();
  CHECK_OK(ended);
  info_b = ended.Value();
  auto header_b = Header('B');
  CHECK_OK(writer->SetReservedHeader(index.Value(), header_b.data()));
  CHECK_OK(writer->Finish(false));
  return path;
}

}  // namespace

TEST(RoundTripsEntriesWithRandomAccess) {
  std::vector<uint8_t> a, b;
  ArchiveEntryInfo info_b;
  std::string path = WriteSample(a, b, info_b);
  CHECK(info_b.size == b.size());
  CHECK(info_b.checksum == XXH3_64bits(b.data(), b.size()));
  int fd = open(path.c_str(), O_RDONLY);
  auto reader = ArchiveReader::Open(fd);
  close(fd);
  CHECK_OK(reader);
  // Stream: [hdr A][a + pad to 1024][hdr B][b][2 zero blocks]
  CHECK(reader.Value()->StreamSize() == 512 + 1024 + 512 + b.size() + 1024);
  std::vector<uint8_t> block(512);
  CHECK_OK(reader.Value()->Read(0, block.data(), 512));
  CHECK(block == Header('A'));
  CHECK_OK(reader.Value()->Read(1536, block.data(), 512));
  CHECK(block == Header('B'));  // the reserved header was patched in place
  std::vector<uint8_t> middle(100000);
  uint64_t at = 2048 + 5000000;
  CHECK_OK(reader.Value()->Read(at, middle.data(), middle.size()));
  CHECK(std::memcmp(middle.data(), b.data() + 5000000, middle.size()) == 0);
  // A range whose end passes 2^64 (offset + size wraps to a small number) is refused, not read.
  auto wrapped = reader.Value()->Read(UINT64_MAX - 10, middle.data(), 100);
  CHECK(!wrapped.Ok() && wrapped.Error().err == ERANGE);
  int out = open("/dev/null", O_WRONLY);
  auto copied = reader.Value()->CopyTo(2048, b.size(), out);
  close(out);
  CHECK_OK(copied);
  CHECK(copied.Value() == info_b.checksum);
  unlink(path.c_str());
}

// Frame buffers are reused once written: many frames of many entries, of sizes that leave each
// buffer shorter than the last, all read back as written (a stale byte would show), synced.
TEST(ReusedFrameBuffersCarryNoStaleBytes) {
  std::string path = TempFile();
  int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
  ArchiveWriterOptions options;
  options.frame_size = 64 << 10;
  options.threads = 2;
  options.durable = true;
  auto writer = ArchiveWriter::Create(fd, options);
  close(fd);
  CHECK_OK(writer);
  std::vector<std::vector<uint8_t>> contents;
  std::vector<ArchiveEntryInfo> infos;
  for (uint32_t i = 0; i < 24; i++) {
    contents.push_back(Pattern((300 << 10) - i * 4099, 100 + i));
    auto header = Header(static_cast<char>('a' + i));
    CHECK_OK(writer.Value()->BeginEntry(std::string(1, static_cast<char>('a' + i)), header.data()));
    CHECK_OK(writer.Value()->Write(contents.back().data(), contents.back().size()));
    auto ended = writer.Value()->EndEntry();
    CHECK_OK(ended);
    infos.push_back(ended.Value());
  }
  CHECK_OK(writer.Value()->Finish(true));
  fd = open(path.c_str(), O_RDONLY);
  auto reader = ArchiveReader::Open(fd);
  close(fd);
  CHECK_OK(reader);
  for (size_t i = 0; i < contents.size(); i++) {
    std::vector<uint8_t> back(contents[i].size());
    CHECK_OK(reader.Value()->Read(infos[i].header_offset + 512, back.data(), back.size()));
    CHECK(back == contents[i]);
  }
  unlink(path.c_str());
}

// An entry larger than the frame cache, in small frames: read through twice (the read-ahead
// queues frames the cache has just let go) and at random, every byte as written.
TEST(ReadsAnEntryLargerThanTheCacheThroughAndAtRandom) {
  std::string path = TempFile();
  auto writer = NewWriter(path, 64 << 10);
  std::vector<uint8_t> content = Pattern(40 << 20, 7);
  auto header = Header('L');
  CHECK_OK(writer->BeginEntry("L", header.data()));
  CHECK_OK(writer->Write(content.data(), content.size()));
  auto ended = writer->EndEntry();
  CHECK_OK(ended);
  CHECK_OK(writer->Finish(true));
  int fd = open(path.c_str(), O_RDONLY);
  auto reader = ArchiveReader::Open(fd);
  close(fd);
  CHECK_OK(reader);
  uint64_t start = ended.Value().header_offset + 512;
  for (int pass = 0; pass < 2; pass++) {
    int out = open("/dev/null", O_WRONLY);
    auto copied = reader.Value()->CopyTo(start, content.size(), out);
    close(out);
    CHECK_OK(copied);
    CHECK(copied.Value() == ended.Value().checksum);
  }
  std::vector<uint8_t> page(4096);
  uint64_t seed = 12345;
  for (int i = 0; i < 2000; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t at = (seed >> 33) % (content.size() / page.size()) * page.size();
    CHECK_OK(reader.Value()->Read(start + at, page.data(), page.size()));
    CHECK(std::memcmp(page.data(), content.data() + at, page.size()) == 0);
  }
  unlink(path.c_str());
}

namespace {

// How many of this process's threads run at `policy` now.
int ThreadsAt(int policy) {
  int count = 0;
  if (DIR* tasks = opendir("/proc/self/task")) {
    while (dirent* task = readdir(tasks)) {
      if (task->d_name[0] != '.' && sched_getscheduler(std::atoi(task->d_name)) == policy) count++;
    }
    closedir(tasks);
  }
  return count;
}

// Reads the sample's entry B from start to end while decompressing ahead; how many threads were
// seen at SCHED_IDLE meanwhile (the read-ahead takes a moment to start: a few tries).
int IdleThreadsWhileReadingAhead(bool when_idle) {
  std::vector<uint8_t> a, b;
  ArchiveEntryInfo info_b;
  std::string path = WriteSample(a, b, info_b);
  int fd = open(path.c_str(), O_RDONLY);
  auto reader = ArchiveReader::Open(fd);
  close(fd);
  CHECK_OK(reader);
  reader.Value()->SetReadAheadWhenIdle(when_idle);
  reader.Value()->Prefetch(2048);
  int seen = 0;
  for (int i = 0; i < 200 && seen == 0; i++) {
    seen = ThreadsAt(SCHED_IDLE);
    if (seen == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::vector<uint8_t> back(b.size());
  CHECK_OK(reader.Value()->Read(2048, back.data(), back.size()));
  CHECK(back == b);
  unlink(path.c_str());
  return seen;
}

}  // namespace

// A lazy restore's fill decompresses ahead at SCHED_IDLE, so that it never takes a core from the
// running tree; any other reader's read-ahead (an extraction) runs at the usual priority.
TEST(ReadsAheadAtIdlePriorityOnlyWhenAsked) {
  CHECK(ThreadsAt(SCHED_IDLE) == 0);
  CHECK(IdleThreadsWhileReadingAhead(true) == 1);
  CHECK(IdleThreadsWhileReadingAhead(false) == 0);
}

TEST(DetectsAFlippedByte) {
  std::vector<uint8_t> a, b;
  ArchiveEntryInfo info_b;
  std::string path = WriteSample(a, b, info_b);
  int fd = open(path.c_str(), O_RDWR);
  uint8_t byte;
  off_t where = 4000;  // inside a compressed frame of entry b
  CHECK(pread(fd, &byte, 1, where) == 1);
  byte ^= 0x40;
  CHECK(pwrite(fd, &byte, 1, where) == 1);
  auto reader = ArchiveReader::Open(fd);
  close(fd);
  CHECK_OK(reader);
  int out = open("/dev/null", O_WRONLY);
  auto copied = reader.Value()->CopyTo(0, reader.Value()->StreamSize(), out);
  close(out);
  CHECK(!copied.Ok());
  CHECK(copied.Error().err == EBADMSG);
  CHECK(copied.Error().detail.find("stream offset") != std::string::npos);
  unlink(path.c_str());
}

TEST(DetectsTruncationAndWrongMagic) {
  std::vector<uint8_t> a, b;
  ArchiveEntryInfo info_b;
  std::string path = WriteSample(a, b, info_b);
  CHECK(truncate(path.c_str(), 100000) == 0);
  int fd = open(path.c_str(), O_RDWR);
  auto truncated = ArchiveReader::Open(fd);
  CHECK(!truncated.Ok() && truncated.Error().err == ENODATA);
  CHECK(pwrite(fd, "TAR!", 4, 0) == 4);
  auto wrong = ArchiveReader::Open(fd);
  CHECK(!wrong.Ok() && wrong.Error().err == ENOEXEC);
  close(fd);
  unlink(path.c_str());
}

// A seek table whose frame claims gigabytes is refused at open, before anything is allocated.
TEST(RefusesFramesNoWriterMakes) {
  std::vector<uint8_t> a, b;
  ArchiveEntryInfo info_b;
  std::string path = WriteSample(a, b, info_b);
  int fd = open(path.c_str(), O_RDWR);
  off_t size = lseek(fd, 0, SEEK_END);
  uint8_t footer[9];
  CHECK(pread(fd, footer, sizeof footer, size - 9) == 9);
  uint32_t count;
  std::memcpy(&count, footer, 4);
  off_t frame0_size = size - 9 - static_cast<off_t>(count) * 8 + 4;  // its decompressed size
  uint32_t original;
  CHECK(pread(fd, &original, 4, frame0_size) == 4);
  uint32_t huge = 0xfffffff0u;
  CHECK(pwrite(fd, &huge, 4, frame0_size) == 4);
  auto reader = ArchiveReader::Open(fd);
  CHECK(!reader.Ok() && reader.Error().err == ENODATA);
  CHECK(reader.Error().detail.find("declares more than") != std::string::npos);
  // Nor an empty frame: a table of them would cost memory out of proportion to the file.
  uint32_t nothing = 0;
  CHECK(pwrite(fd, &nothing, 4, frame0_size) == 4);
  reader = ArchiveReader::Open(fd);
  CHECK(!reader.Ok() && reader.Error().err == ENODATA);
  CHECK(reader.Error().detail.find("holds nothing") != std::string::npos);
  CHECK(pwrite(fd, &original, 4, frame0_size) == 4);
  CHECK_OK(ArchiveReader::Open(fd));
  close(fd);
  unlink(path.c_str());
}

// A stored frame is an ordinary zstd frame: any decoder reads it back, and its checksum catches
// a flipped byte as a compressed frame's does.
TEST(StoredFramesDecodeAndCarryAChecksum) {
  for (size_t size : {size_t{0}, size_t{1}, kZstdMaxBlockSize, kZstdMaxBlockSize + 1, size_t{1} << 20}) {
    std::vector<uint8_t> content = Pattern(size, 7);
    std::vector<uint8_t> frame(StoredFrameSize(size));
    WriteStoredFrame(content.data(), size, frame.data());
    CHECK(ZSTD_getFrameContentSize(frame.data(), frame.size()) == size);
    std::vector<uint8_t> back(size + 1);
    size_t got = ZSTD_decompress(back.data(), back.size(), frame.data(), frame.size());
    CHECK(!ZSTD_isError(got) && got == size);
    CHECK(size == 0 || std::memcmp(back.data(), content.data(), size) == 0);
    if (size > 0) {
      frame[frame.size() / 2] ^= 0x10;
      size_t damaged = ZSTD_decompress(back.data(), back.size(), frame.data(), frame.size());
      CHECK(ZSTD_isError(damaged));
    }
  }
}

// Adaptive and paced: with its one compressor held up by a slow level, the writer stores the
// frames it reaches, and the archive still reads back whole.
TEST(AdaptiveWriterStoresWhatTheCompressorsCannotTake) {
  std::string path = TempFile();
  int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
  ArchiveWriterOptions options;
  options.level = 19;
  options.threads = 1;
  options.max_pending_bytes = 64 << 20;
  options.adaptive = true;
  options.durable = true;
  options.paced = true;
  auto writer = ArchiveWriter::Create(fd, options);
  close(fd);
  CHECK_OK(writer);
  std::vector<uint8_t> data = Pattern(8 << 20, 3);
  auto header = Header('C');
  CHECK_OK(writer.Value()->BeginEntry("c", header.data()));
  CHECK_OK(writer.Value()->Write(data.data(), data.size()));
  CHECK_OK(writer.Value()->EndEntry());
  CHECK_OK(writer.Value()->Finish(true));
  uint64_t stored = writer.Value()->Counters().bytes_stored.load();
  CHECK(stored > 0 && stored < data.size());  // some stored, some (the compressor's) compressed
  fd = open(path.c_str(), O_RDONLY);
  auto reader = ArchiveReader::Open(fd);
  close(fd);
  CHECK_OK(reader);
  std::vector<uint8_t> back(data.size());
  CHECK_OK(reader.Value()->Read(512, back.data(), back.size()));
  CHECK(back == data);
  unlink(path.c_str());
}

// A run of zeros is an RLE frame any decoder reads, whose checksum is the one zstd expects.
TEST(ZeroFramesDecodeAndCarryAChecksum) {
  for (size_t size : {size_t{1}, size_t{4096}, kZstdMaxBlockSize, kZstdMaxBlockSize + 1, size_t{1} << 20}) {
    std::vector<uint8_t> zeros(size, 0);
    uint32_t checksum = ZeroChecksum(size);
    CHECK(checksum == static_cast<uint32_t>(XXH64(zeros.data(), size, 0)));
    std::vector<uint8_t> frame = ZeroFrame(size, checksum);
    CHECK(frame.size() < 64);
    std::vector<uint8_t> back(size + 1, 0xff);
    size_t got = ZSTD_decompress(back.data(), back.size(), frame.data(), frame.size());
    CHECK(!ZSTD_isError(got) && got == size);
    CHECK(std::memcmp(back.data(), zeros.data(), size) == 0);
    frame[frame.size() - 1] ^= 0x10;
    CHECK(ZSTD_isError(ZSTD_decompress(back.data(), back.size(), frame.data(), frame.size())));
  }
}

// Page data with runs of zeros, read from a socket in pieces as CRIU sends it: every byte reads
// back, by random access and by a plain zstd stream decoder; the frames of only zeros are tiny.
TEST(ZeroRunsInPageDataReadBackWhole) {
  std::vector<uint8_t> data;
  auto add = [&](size_t zeros, size_t pattern) {
    data.insert(data.end(), zeros, 0);
    std::vector<uint8_t> p = Pattern(pattern, static_cast<uint32_t>(data.size()));
    data.insert(data.end(), p.begin(), p.end());
  };
  add((5 << 19) + 100, 3 << 19);  // zeros end inside a probe; the pattern spans frames
  add(3 << 20, 1000);
  add((64 << 10) + 1, 10);
  add(1 << 20, 0);  // ends with zeros
  std::string path = TempFile();
  auto writer = NewWriter(path);
  auto header = Header('Z');
  CHECK_OK(writer->BeginEntry("z", header.data()));
  WriteThroughSocket(*writer, data, 12345, 700 << 10);
  auto ended = writer->EndEntry();
  CHECK_OK(ended);
  CHECK(ended.Value().size == data.size());
  CHECK(ended.Value().checksum == XXH3_64bits(data.data(), data.size()));
  CHECK_OK(writer->Finish(false));
  auto uncompressed = writer->Counters().bytes_in.load();  // with the tar's end blocks

  int fd = open(path.c_str(), O_RDONLY);
  auto reader = ArchiveReader::Open(fd);
  CHECK_OK(reader);
  CHECK(reader.Value()->StreamSize() == uncompressed);
  std::vector<uint8_t> back(data.size());
  CHECK_OK(reader.Value()->Read(512, back.data(), back.size()));
  CHECK(back == data);

  // The whole file through one streaming decoder (what Podman's reader does).
  off_t file_size = lseek(fd, 0, SEEK_END);
  std::vector<uint8_t> file(static_cast<size_t>(file_size));
  CHECK(pread(fd, file.data(), file.size(), 0) == file_size);
  close(fd);
  std::vector<uint8_t> stream(uncompressed);
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  ZSTD_inBuffer in{file.data(), file.size(), 0};
  ZSTD_outBuffer out{stream.data(), stream.size(), 0};
  while (in.pos < in.size) CHECK(!ZSTD_isError(ZSTD_decompressStream(dctx, &out, &in)));
  ZSTD_freeDCtx(dctx);
  CHECK(out.pos == uncompressed);
  CHECK(std::memcmp(stream.data() + 512, data.data(), data.size()) == 0);

  // Frames of a whole MiB of zeros: the seek table lists them at a few dozen bytes each.
  uint32_t count;
  std::memcpy(&count, file.data() + file.size() - 9, 4);
  size_t tiny = 0;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t sizes[2];
    std::memcpy(sizes, file.data() + file.size() - 9 - (count - i) * 8, 8);
    if (sizes[1] == (1u << 20) && sizes[0] < 64) tiny++;
  }
  CHECK(tiny >= 4);
  unlink(path.c_str());
}

int main() {
  RUN(ZeroFramesDecodeAndCarryAChecksum);
  RUN(ZeroRunsInPageDataReadBackWhole);
  RUN(StoredFramesDecodeAndCarryAChecksum);
  RUN(AdaptiveWriterStoresWhatTheCompressorsCannotTake);
  RUN(RoundTripsEntriesWithRandomAccess);
  RUN(ReusedFrameBuffersCarryNoStaleBytes);
  RUN(ReadsAnEntryLargerThanTheCacheThroughAndAtRandom);
  RUN(ReadsAheadAtIdlePriorityOnlyWhenAsked);
  RUN(RefusesFramesNoWriterMakes);
  RUN(DetectsAFlippedByte);
  RUN(DetectsTruncationAndWrongMagic);
  return 0;
}
