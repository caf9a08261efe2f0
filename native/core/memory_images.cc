#include "core/memory_images.h"

#include <cstdio>
#include <cstring>
#include <string>

#include "core/page_server_protocol.h"
#include "core/pagemap_image.h"

namespace freezedry::core {

namespace {

constexpr uint32_t kImageMagicService = 0x55105940;

// Protobuf wire types.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t kFixed32 = 5;

// A bounded cursor over one protobuf message.
class FieldReader {
 public:
  FieldReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool Done() const { return pos_ >= size_; }

  // The next field's number and wire type; false if the key is malformed.
  bool Next(uint32_t& field, uint32_t& wire) {
    uint64_t key;
    if (!Varint(key) || key > UINT32_MAX) return false;  // field numbers have 29 bits
    field = static_cast<uint32_t>(key >> 3);
    wire = static_cast<uint32_t>(key & 7);
    return field != 0;
  }

  bool Varint(uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= size_) return false;
      uint8_t byte = data_[pos_++];
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;  // more than ten bytes
  }

  bool Bytes(const uint8_t*& bytes, size_t& length) {
    uint64_t declared;
    if (!Varint(declared) || declared > size_ - pos_) return false;
    bytes = data_ + pos_;
    length = static_cast<size_t>(declared);
    pos_ += length;
    return true;
  }

  bool Skip(uint32_t wire) {
    uint64_t ignored;
    const uint8_t* bytes;
    size_t length;
    switch (wire) {
      case kVarint:
        return Varint(ignored);
      case kFixed64:
        return Advance(8);
      case kLengthDelimited:
        return Bytes(bytes, length);
      case kFixed32:
        return Advance(4);
      default:
        return false;  // groups (3, 4) are not in CRIU's schema
    }
  }

 private:
  bool Advance(size_t n) {
    if (n > size_ - pos_) return false;
    pos_ += n;
    return true;
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// An image: its magic (after the common or service magic), then records, each a 32-bit
// host-endian size and that many bytes.
class ImageRecords {
 public:
  ImageRecords(const uint8_t* data, size_t size, const char* what) : data_(data), size_(size), what_(what) {}

  Status ReadMagic(uint32_t expected) {
    uint32_t magic;
    if (!U32(magic)) return Malformed("too short for an image header");
    if (magic == kImageMagicCommon || magic == kImageMagicService) {
      if (!U32(magic)) return Malformed("truncated image header");
    }
    if (magic != expected) return Malformed("magic " + Hex(magic) + " is not " + Hex(expected));
    return OkStatus();
  }

  bool Done() const { return pos_ >= size_; }

  // The next record; an error if its size runs past the end.
  Status Next(const uint8_t*& record, size_t& length) {
    uint32_t declared;
    if (!U32(declared)) return Malformed("truncated record size at byte " + std::to_string(pos_));
    if (declared > size_ - pos_) return Malformed("record at byte " + std::to_string(pos_) + " runs past the end");
    record = data_ + pos_;
    length = declared;
    pos_ += declared;
    ++index_;
    return OkStatus();
  }

  SysError Malformed(const std::string& what) const { return Failure(EINVAL, what_, what); }
  SysError MalformedRecord(const char* type) const {
    return Malformed("a malformed " + std::string(type) + " record (record " + std::to_string(index_) + ")");
  }

 private:
  bool U32(uint32_t& value) {
    if (size_ - pos_ < 4) return false;
    std::memcpy(&value, data_ + pos_, 4);
    pos_ += 4;
    return true;
  }

  static std::string Hex(uint32_t value) {
    char text[16];
    std::snprintf(text, sizeof text, "0x%x", value);
    return text;
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  size_t index_ = 0;
  const char* what_;
};

// Calls on_varint(field, value) for each varint field of a message, skipping the others; false
// if the message is malformed.
template <typename OnVarint>
bool ForEachVarintField(const uint8_t* data, size_t size, OnVarint on_varint) {
  FieldReader reader(data, size);
  while (!reader.Done()) {
    uint32_t field, wire;
    uint64_t value;
    if (!reader.Next(field, wire)) return false;
    if (wire != kVarint) {
      if (!reader.Skip(wire)) return false;
    } else if (!reader.Varint(value)) {
      return false;
    } else {
      on_varint(field, value);
    }
  }
  return true;
}

// pagemap_entry: vaddr 1, compat_nr_pages 2, in_parent 3, flags 4, nr_pages 5.
bool ReadPagemapEntry(const uint8_t* record, size_t length, PagemapRun& run) {
  uint64_t compat_nr_pages = 0, nr_pages = 0, flags = 0, in_parent = 0;
  bool has_nr_pages = false, has_flags = false;
  bool ok = ForEachVarintField(record, length, [&](uint32_t field, uint64_t value) {
    switch (field) {
      case 1:
        run.vaddr = value;
        break;
      case 2:
        compat_nr_pages = value & UINT32_MAX;
        break;
      case 3:
        in_parent = value;
        break;
      case 4:
        flags = value & UINT32_MAX;
        has_flags = true;
        break;
      case 5:
        nr_pages = value;
        has_nr_pages = true;
        break;
    }
  });
  run.nr_pages = has_nr_pages ? nr_pages : compat_nr_pages;
  run.flags = has_flags ? static_cast<uint32_t>(flags) : (in_parent != 0 ? page_server::kInParent : page_server::kPresent);
  return ok;
}

// vma_entry: start 1, end 2, status 7.
bool ReadVma(const uint8_t* bytes, size_t length, VmaRange& vma) {
  return ForEachVarintField(bytes, length, [&](uint32_t field, uint64_t value) {
    if (field == 1) vma.start = value;
    if (field == 2) vma.end = value;
    if (field == 7) vma.status = static_cast<uint32_t>(value);
  });
}

}  // namespace

Result<ParsedPagemap> ParsePagemapImage(const uint8_t* data, size_t size) {
  ImageRecords image(data, size, "pagemap image");
  if (auto magic = image.ReadMagic(kImageMagicPagemap); !magic.Ok()) return magic.Error();
  if (image.Done()) return image.Malformed("no pagemap_head record");
  ParsedPagemap parsed;
  const uint8_t* record;
  size_t length;
  if (auto first = image.Next(record, length); !first.Ok()) return first.Error();
  // pagemap_head: pages_id 1.
  bool head = ForEachVarintField(record, length, [&](uint32_t field, uint64_t value) {
    if (field == 1) parsed.pages_id = value;
  });
  if (!head) return image.MalformedRecord("PagemapHead");
  while (!image.Done()) {
    if (auto next = image.Next(record, length); !next.Ok()) return next.Error();
    PagemapRun run;
    if (!ReadPagemapEntry(record, length, run)) return image.MalformedRecord("PagemapEntry");
    parsed.runs.push_back(run);
  }
  return parsed;
}

Result<std::vector<VmaRange>> ParseMmVmas(const uint8_t* data, size_t size) {
  ImageRecords image(data, size, "mm image");
  if (auto magic = image.ReadMagic(kImageMagicMm); !magic.Ok()) return magic.Error();
  std::vector<VmaRange> vmas;
  if (image.Done()) return vmas;
  const uint8_t* record;
  size_t length;
  if (auto mm = image.Next(record, length); !mm.Ok()) return mm.Error();
  FieldReader reader(record, length);  // mm_entry: vmas are field 14
  while (!reader.Done()) {
    uint32_t field, wire;
    if (!reader.Next(field, wire)) return image.MalformedRecord("Mm");
    if (field != 14 || wire != kLengthDelimited) {
      if (!reader.Skip(wire)) return image.MalformedRecord("Mm");
      continue;
    }
    const uint8_t* bytes;
    size_t vma_length;
    VmaRange vma;
    if (!reader.Bytes(bytes, vma_length) || !ReadVma(bytes, vma_length, vma)) return image.MalformedRecord("Vma");
    vmas.push_back(vma);
  }
  return vmas;
}

}  // namespace freezedry::core
