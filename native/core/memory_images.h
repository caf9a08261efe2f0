// Reading the two images a lazy restore plans from: a pagemap (its pages image, then one run of
// pages per record) and the VMAs of an mm image. Only the few protobuf fields needed are read
// (criu-internals.md §2.8); unknown fields are skipped. Every length is checked against what the
// input holds: a malformed image is an EINVAL failure that says where, never a read past it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/result.h"

namespace freezedry::core {

constexpr uint32_t kImageMagicMm = 0x57492820;

struct PagemapRun {
  uint64_t vaddr = 0;
  uint64_t nr_pages = 0;
  uint32_t flags = 0;  // page_server::PageFlags, normalised from older images (none: present, or in the parent)
};

struct ParsedPagemap {
  uint64_t pages_id = 0;
  std::vector<PagemapRun> runs;
};

struct VmaRange {
  uint64_t start = 0;
  uint64_t end = 0;
  uint32_t status = 0;  // VMA_AREA_* bits
};

Result<ParsedPagemap> ParsePagemapImage(const uint8_t* data, size_t size);
Result<std::vector<VmaRange>> ParseMmVmas(const uint8_t* data, size_t size);

}  // namespace freezedry::core
