#include "core/pagemap_image.h"

#include <cstring>

#include "core/page_server_protocol.h"

namespace freezedry::core {

namespace {

// Protobuf wire format: a key (field number << 3 | wire type 0) and a base-128 varint.
void AppendVarintField(std::vector<uint8_t>& out, uint32_t field, uint64_t value) {
  out.push_back(static_cast<uint8_t>(field << 3));
  do {
    uint8_t byte = value & 0x7f;
    value >>= 7;
    out.push_back(value != 0 ? (byte | 0x80) : byte);
  } while (value != 0);
}

void AppendU32(std::vector<uint8_t>& out, uint32_t value) {
  uint8_t raw[4];
  std::memcpy(raw, &value, 4);  // images are host-endian
  out.insert(out.end(), raw, raw + 4);
}

}  // namespace

PagemapImage::PagemapImage(uint64_t pages_id) {
  AppendU32(bytes_, kImageMagicCommon);
  AppendU32(bytes_, kImageMagicPagemap);
  std::vector<uint8_t> head;
  AppendVarintField(head, 1, pages_id);  // pagemap_head.pages_id
  AppendRecord(head);
}

void PagemapImage::AddEntry(uint64_t vaddr, uint64_t nr_pages, uint32_t flags) {
  std::vector<uint8_t> entry;
  AppendVarintField(entry, 1, vaddr);     // vaddr
  AppendVarintField(entry, 2, 0);         // compat_nr_pages: required, superseded by nr_pages
  AppendVarintField(entry, 4, flags);     // flags (PE_*)
  AppendVarintField(entry, 5, nr_pages);  // nr_pages
  AppendRecord(entry);
}

void PagemapImage::AppendRecord(const std::vector<uint8_t>& message) {
  AppendU32(bytes_, static_cast<uint32_t>(message.size()));
  bytes_.insert(bytes_.end(), message.begin(), message.end());
}

std::string PagemapImage::FileName(uint32_t image_type, uint64_t image_id) {
  if (image_type == page_server::kShmemPages) return "pagemap-shmem-" + std::to_string(image_id) + ".img";
  return "pagemap-" + std::to_string(image_id) + ".img";
}

std::string PagemapImage::PagesFileName(uint64_t pages_id) { return "pages-" + std::to_string(pages_id) + ".img"; }

}  // namespace freezedry::core
