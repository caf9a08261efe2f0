// The pagemap and mm images a lazy restore plans from, parsed in C++ (thousands of records for
// a Node heap, read while the restore waits): flat Float64Arrays, three numbers per row.
#include <napi.h>

#include "addon/addon.h"
#include "addon/js_error.h"
#include "core/memory_images.h"

namespace freezedry::addon {
namespace {

// parsePagemap(bytes): { pagesId, runs: Float64Array [vaddr, nrPages, flags, ...] }.
Napi::Value ParsePagemap(const Napi::CallbackInfo& info) {
  auto bytes = info[0].As<Napi::Uint8Array>();
  auto parsed = core::ParsePagemapImage(bytes.Data(), bytes.ByteLength());
  if (!parsed.Ok()) throw MakeSysError(info.Env(), parsed.Error());
  const auto& runs = parsed.Value().runs;
  auto rows = Napi::Float64Array::New(info.Env(), runs.size() * 3);
  for (size_t i = 0; i < runs.size(); i++) {
    rows[i * 3] = static_cast<double>(runs[i].vaddr);
    rows[i * 3 + 1] = static_cast<double>(runs[i].nr_pages);
    rows[i * 3 + 2] = runs[i].flags;
  }
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("pagesId", Napi::Number::New(info.Env(), static_cast<double>(parsed.Value().pages_id)));
  result.Set("runs", rows);
  return result;
}

// parseVmas(bytes): Float64Array [start, end, status, ...].
Napi::Value ParseVmas(const Napi::CallbackInfo& info) {
  auto bytes = info[0].As<Napi::Uint8Array>();
  auto vmas = core::ParseMmVmas(bytes.Data(), bytes.ByteLength());
  if (!vmas.Ok()) throw MakeSysError(info.Env(), vmas.Error());
  auto rows = Napi::Float64Array::New(info.Env(), vmas.Value().size() * 3);
  for (size_t i = 0; i < vmas.Value().size(); i++) {
    rows[i * 3] = static_cast<double>(vmas.Value()[i].start);
    rows[i * 3 + 1] = static_cast<double>(vmas.Value()[i].end);
    rows[i * 3 + 2] = vmas.Value()[i].status;
  }
  return rows;
}

}  // namespace

void InitMemoryImageFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("parsePagemap", Napi::Function::New(env, ParsePagemap, "parsePagemap"));
  exports.Set("parseVmas", Napi::Function::New(env, ParseVmas, "parseVmas"));
}

}  // namespace freezedry::addon
