// CRIU's page-server protocol (criu-internals.md §3): a 32-byte header per command, in host
// byte order, followed by page data for commands that carry it.
#pragma once

#include <cstdint>

namespace freezedry::core::page_server {

struct Header {
  uint32_t cmd;  // low 16 bits: command; high 16 bits: pagemap flags
  uint32_t padding;
  uint64_t nr_pages;
  uint64_t vaddr;
  uint64_t dst_id;  // (image id << 8) | image type, except for GET (a plain pid)
};
static_assert(sizeof(Header) == 32, "CRIU's struct page_server_iov is 32 bytes on 64-bit hosts");

enum Command : uint32_t {
  kAdd = 1,
  kHole = 2,
  kOpen = 3,
  kOpen2 = 4,
  kParent = 5,
  kAddFlagged = 6,
  kGet = 7,
  kClose = 0x1023,
  kForceClose = 0x1024,
};

// Pagemap entry flags (PE_*): where an entry's bytes are.
enum PageFlags : uint32_t {
  kInParent = 1,
  kLazy = 2,
  kPresent = 4,
};

// Image types in dst_id.
enum ImageType : uint32_t {
  kTaskPages = 1,   // pagemap-<pid>.img
  kShmemPages = 2,  // pagemap-shmem-<shmid>.img
};

constexpr uint64_t kPageSize = 4096;
// The most pages one entry can cover: a 57-bit address space (five-level paging) of 4 KiB pages.
// A header claiming more lies, and nr_pages * kPageSize could wrap.
constexpr uint64_t kMaxPagesPerEntry = 1ull << 45;

// Whether a header's run of pages is one that some address space could hold.
inline bool RunFits(uint64_t vaddr, uint64_t nr_pages) {
  return nr_pages <= kMaxPagesPerEntry && vaddr <= UINT64_MAX - nr_pages * kPageSize;
}

inline uint32_t CommandOf(const Header& h) { return h.cmd & 0xffff; }
inline uint32_t FlagsOf(const Header& h) { return h.cmd >> 16; }
inline uint32_t ImageTypeOf(uint64_t dst_id) { return static_cast<uint32_t>(dst_id & 0xff); }
inline uint64_t ImageIdOf(uint64_t dst_id) { return dst_id >> 8; }
inline uint32_t Encode(uint32_t command, uint32_t flags) { return command | (flags << 16); }

}  // namespace freezedry::core::page_server
