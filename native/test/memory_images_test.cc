// The pagemap and mm images as a lazy restore reads them: what our own pagemap writer and CRIU
// write reads back, older pagemaps too, and every malformed input is refused without a read
// past its end.
#include "core/memory_images.h"

#include <cstring>
#include <vector>

#include "check.h"
#include "core/page_server_protocol.h"
#include "core/pagemap_image.h"

using namespace freezedry::core;
namespace ps = freezedry::core::page_server;

namespace {

void Varint(std::vector<uint8_t>& out, uint64_t value) {
  do {
    uint8_t byte = value & 0x7f;
    value >>= 7;
    out.push_back(value != 0 ? (byte | 0x80) : byte);
  } while (value != 0);
}

void Field(std::vector<uint8_t>& out, uint32_t field, uint64_t value) {
  Varint(out, field << 3);
  Varint(out, value);
}

void Nested(std::vector<uint8_t>& out, uint32_t field, const std::vector<uint8_t>& message) {
  Varint(out, (field << 3) | 2);
  Varint(out, message.size());
  out.insert(out.end(), message.begin(), message.end());
}

std::vector<uint8_t> Image(uint32_t magic, const std::vector<std::vector<uint8_t>>& records) {
  std::vector<uint8_t> out(8);
  uint32_t magics[2] = {kImageMagicCommon, magic};
  std::memcpy(out.data(), magics, 8);
  for (const auto& record : records) {
    uint32_t size = static_cast<uint32_t>(record.size());
    out.insert(out.end(), reinterpret_cast<uint8_t*>(&size), reinterpret_cast<uint8_t*>(&size) + 4);
    out.insert(out.end(), record.begin(), record.end());
  }
  return out;
}

}  // namespace

TEST(ReadsWhatOurPagemapWriterWrites) {
  PagemapImage image(42);
  image.AddEntry(0x7ffd12345000, 1ull << 33, ps::kLazy | ps::kPresent);
  image.AddEntry(0x1000, 3, ps::kPresent);
  auto parsed = ParsePagemapImage(image.Bytes().data(), image.Bytes().size());
  CHECK_OK(parsed);
  CHECK(parsed.Value().pages_id == 42);
  CHECK(parsed.Value().runs.size() == 2);
  CHECK(parsed.Value().runs[0].vaddr == 0x7ffd12345000);
  CHECK(parsed.Value().runs[0].nr_pages == 1ull << 33);
  CHECK(parsed.Value().runs[0].flags == (ps::kLazy | ps::kPresent));
  CHECK(parsed.Value().runs[1].nr_pages == 3);
}

TEST(ReadsOlderPagemapsAndSkipsUnknownFields) {
  std::vector<uint8_t> head, in_parent, plain;
  Field(head, 1, 7);
  Field(in_parent, 1, 0x2000);
  Field(in_parent, 2, 5);  // compat_nr_pages, no nr_pages
  Field(in_parent, 3, 1);  // in_parent, no flags
  Nested(in_parent, 9, {1, 2, 3});
  Field(plain, 1, 0x3000);
  Field(plain, 2, 1);
  auto bytes = Image(kImageMagicPagemap, {head, in_parent, plain});
  auto parsed = ParsePagemapImage(bytes.data(), bytes.size());
  CHECK_OK(parsed);
  CHECK(parsed.Value().runs.size() == 2);
  CHECK(parsed.Value().runs[0].nr_pages == 5 && parsed.Value().runs[0].flags == ps::kInParent);
  CHECK(parsed.Value().runs[1].flags == ps::kPresent);
}

TEST(ReadsTheVmasOfAnMmImage) {
  std::vector<uint8_t> vma1, vma2, mm;
  Field(vma1, 1, 0x7f0000000000);
  Field(vma1, 2, 0x7f0000100000);
  Field(vma1, 5, 3);
  Field(vma1, 7, 1 << 9);
  Field(vma2, 1, 0x10000000);
  Field(vma2, 2, 0x10002000);
  Field(vma2, 7, 1 << 5);
  Field(mm, 1, 0x400000);
  Nested(mm, 14, vma1);
  Nested(mm, 13, {8, 1});
  Nested(mm, 14, vma2);
  auto bytes = Image(kImageMagicMm, {mm});
  auto vmas = ParseMmVmas(bytes.data(), bytes.size());
  CHECK_OK(vmas);
  CHECK(vmas.Value().size() == 2);
  CHECK(vmas.Value()[0].start == 0x7f0000000000 && vmas.Value()[0].end == 0x7f0000100000 && vmas.Value()[0].status == 1 << 9);
  CHECK(vmas.Value()[1].status == 1 << 5);
}

TEST(RefusesMalformedImages) {
  std::vector<uint8_t> head, entry;
  Field(head, 1, 1);
  Field(entry, 1, 0x7ffd12345000);
  auto whole = Image(kImageMagicPagemap, {head, entry});
  // Cut at every length: never a success that read past the end, never a crash (ASan in CI).
  for (size_t cut = 0; cut < whole.size(); cut++) {
    std::vector<uint8_t> shorter(whole.begin(), whole.begin() + cut);
    auto parsed = ParsePagemapImage(shorter.data(), shorter.size());
    CHECK(!parsed.Ok() || parsed.Value().runs.size() <= 1);
  }
  auto wrong_magic = Image(kImageMagicMm, {head});
  auto parsed = ParsePagemapImage(wrong_magic.data(), wrong_magic.size());
  CHECK(!parsed.Ok() && parsed.Error().err == EINVAL);
  // A record whose declared size runs past the end of the image.
  auto lying = Image(kImageMagicPagemap, {head});
  uint32_t huge = 0xfffffff0;
  std::memcpy(lying.data() + 8, &huge, 4);
  CHECK(!ParsePagemapImage(lying.data(), lying.size()).Ok());
  // A nested VMA whose length runs past its record.
  std::vector<uint8_t> mm;
  Varint(mm, (14 << 3) | 2);
  Varint(mm, 1000);
  mm.push_back(8);
  auto bad_mm = Image(kImageMagicMm, {mm});
  auto vmas = ParseMmVmas(bad_mm.data(), bad_mm.size());
  CHECK(!vmas.Ok() && vmas.Error().detail.find("Vma") != std::string::npos);
}

int main() {
  RUN(ReadsWhatOurPagemapWriterWrites);
  RUN(ReadsOlderPagemapsAndSkipsUnknownFields);
  RUN(ReadsTheVmasOfAnMmImage);
  RUN(RefusesMalformedImages);
  return 0;
}
