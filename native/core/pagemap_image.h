// Writing CRIU pagemap images: the image magics, a pagemap_head record, then one
// pagemap_entry record per run of pages (criu-internals.md §2.8). Each record is a 32-bit size
// and a protobuf message; the few fields are encoded here directly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace freezedry::core {

constexpr uint32_t kImageMagicCommon = 0x54564319;
constexpr uint32_t kImageMagicPagemap = 0x56084025;

class PagemapImage {
 public:
  explicit PagemapImage(uint64_t pages_id);
  void AddEntry(uint64_t vaddr, uint64_t nr_pages, uint32_t flags);
  const std::vector<uint8_t>& Bytes() const { return bytes_; }

  // "pagemap-<id>.img" or "pagemap-shmem-<id>.img".
  static std::string FileName(uint32_t image_type, uint64_t image_id);
  static std::string PagesFileName(uint64_t pages_id);

 private:
  void AppendRecord(const std::vector<uint8_t>& message);
  std::vector<uint8_t> bytes_;
};

}  // namespace freezedry::core
