#include "core/archive_page_output.h"

namespace freezedry::core {

Status ArchivePageOutput::BeginImage(uint32_t image_type, uint64_t image_id) {
  uint64_t pages_id = next_pages_id_++;
  auto entry = writer_->BeginEntry(prefix_ + PagemapImage::PagesFileName(pages_id), nullptr);
  if (!entry.Ok()) return entry.Error();
  current_entry_ = entry.Value();
  pagemap_.emplace(pages_id);
  pagemap_name_ = prefix_ + PagemapImage::FileName(image_type, image_id);
  return OkStatus();
}

Status ArchivePageOutput::AddEntry(uint64_t vaddr, uint64_t nr_pages, uint32_t flags) {
  pagemap_->AddEntry(vaddr, nr_pages, flags);
  return OkStatus();
}

Status ArchivePageOutput::ReceivePages(int socket, uint64_t bytes) { return writer_->WriteFrom(socket, bytes); }

Status ArchivePageOutput::EndImage() {
  auto ended = writer_->EndEntry();
  if (!ended.Ok()) return ended.Error();
  std::lock_guard lock(mutex_);
  pages_entries_.push_back({current_entry_, ended.Value().name, ended.Value().size});
  pagemaps_.push_back({pagemap_name_, pagemap_->Bytes()});
  return OkStatus();
}

std::vector<PendingPagemap> ArchivePageOutput::Pagemaps() const {
  std::lock_guard lock(mutex_);
  return pagemaps_;
}

std::vector<PagesEntry> ArchivePageOutput::PagesEntries() const {
  std::lock_guard lock(mutex_);
  return pages_entries_;
}

}  // namespace freezedry::core
