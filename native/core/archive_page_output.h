// Pages from the page sink straight into an archive: each pages image becomes a tar entry whose
// header is reserved and filled in when its size is known; the small pagemap images are kept in
// memory and added as entries afterwards by the caller.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/archive_writer.h"
#include "core/page_sink.h"
#include "core/pagemap_image.h"

namespace freezedry::core {

struct PendingPagemap {
  std::string name;
  std::vector<uint8_t> bytes;
};

struct PagesEntry {
  size_t entry_index;
  std::string name;
  uint64_t size;
};

class ArchivePageOutput : public PageOutput {
 public:
  // Entries are named PREFIX + the image's own name (a container archive keeps CRIU's images
  // under "checkpoint/", as Podman's does).
  ArchivePageOutput(std::shared_ptr<ArchiveWriter> writer, std::string prefix) : writer_(std::move(writer)), prefix_(std::move(prefix)) {}
  Status BeginImage(uint32_t image_type, uint64_t image_id) override;
  Status AddEntry(uint64_t vaddr, uint64_t nr_pages, uint32_t flags) override;
  Status ReceivePages(int socket, uint64_t bytes) override;
  Status EndImage() override;

  std::vector<PendingPagemap> Pagemaps() const;
  std::vector<PagesEntry> PagesEntries() const;

 private:
  std::shared_ptr<ArchiveWriter> writer_;
  std::string prefix_;
  std::optional<PagemapImage> pagemap_;
  std::string pagemap_name_;
  uint64_t next_pages_id_ = 0x10001;
  size_t current_entry_ = 0;
  mutable std::mutex mutex_;
  std::vector<PendingPagemap> pagemaps_;
  std::vector<PagesEntry> pages_entries_;
};

}  // namespace freezedry::core
