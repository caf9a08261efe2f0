#pragma once

#include <napi.h>

#include <memory>

#include "core/archive_reader.h"
#include "core/archive_writer.h"

namespace freezedry::addon {

// The core writer behind a JS ArchiveWriter (the page sink writes into it too).
std::shared_ptr<core::ArchiveWriter> ArchiveWriterOf(const Napi::Value& value);
std::shared_ptr<core::ArchiveReader> ArchiveReaderOf(const Napi::Value& value);
Napi::Object EntryInfoToJs(Napi::Env env, const core::ArchiveEntryInfo& info);
std::string HexChecksum(uint64_t checksum);

Napi::Function InitArchiveWriter(Napi::Env env);
Napi::Function InitArchiveReader(Napi::Env env);

}  // namespace freezedry::addon
