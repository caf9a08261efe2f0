// Functions for pre-copy migration: copies of a running process's pages (optionally
// compressed), and zstd buffers. Each runs on the libuv threadpool and returns a promise.
#include <napi.h>

#include <memory>
#include <vector>

#include "addon/addon.h"
#include "addon/promise_worker.h"
#include "core/process_memory.h"
#include "core/zstd_buffer.h"

namespace freezedry::addon {
namespace {

// Hands the vector's storage to a Buffer without copying it.
Napi::Value ToBuffer(Napi::Env env, std::vector<uint8_t>& bytes) {
  if (bytes.empty()) return Napi::Buffer<uint8_t>::New(env, 0);
  auto* owned = new std::vector<uint8_t>(std::move(bytes));
  return Napi::Buffer<uint8_t>::New(
      env, owned->data(), owned->size(), [](Napi::Env, uint8_t*, std::vector<uint8_t>* v) { delete v; }, owned);
}

struct CopiedPages {
  std::vector<uint8_t> bytes;
  uint64_t raw_size = 0;
  uint64_t unreadable = 0;
};

// readMemory(pid, Float64Array [start, length, ...], level): { data, size, unreadable };
// data is one zstd frame when level > 0, the raw bytes otherwise.
Napi::Value ReadMemory(const Napi::CallbackInfo& info) {
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  auto rows = info[1].As<Napi::Float64Array>();
  std::vector<core::MemoryRange> ranges;
  for (size_t i = 0; i + 1 < rows.ElementLength(); i += 2) {
    ranges.push_back({static_cast<uint64_t>(rows[i]), static_cast<uint64_t>(rows[i + 1])});
  }
  int level = info[2].As<Napi::Number>().Int32Value();
  return PromiseWorker<CopiedPages>::Run(
      info.Env(),
      [pid, ranges = std::move(ranges), level]() -> core::Result<CopiedPages> {
        auto copy = core::ReadProcessMemory(pid, ranges);
        if (!copy.Ok()) return copy.Error();
        CopiedPages out{std::move(copy.Value().bytes), 0, copy.Value().unreadable};
        out.raw_size = out.bytes.size();
        if (level > 0 && !out.bytes.empty()) {
          auto packed = core::CompressBuffer(out.bytes.data(), out.bytes.size(), level, 0);
          if (!packed.Ok()) return packed.Error();
          out.bytes = packed.Take();
        }
        return out;
      },
      [](Napi::Env env, CopiedPages& pages) -> Napi::Value {
        Napi::Object result = Napi::Object::New(env);
        result.Set("size", Napi::Number::New(env, static_cast<double>(pages.raw_size)));
        result.Set("unreadable", Napi::Number::New(env, static_cast<double>(pages.unreadable)));
        result.Set("data", ToBuffer(env, pages.bytes));
        return result;
      });
}

// decompress(frame): the frame's content (a copy of the input is taken: JS may reuse it).
Napi::Value Decompress(const Napi::CallbackInfo& info) {
  auto input = info[0].As<Napi::Uint8Array>();
  std::vector<uint8_t> frame(input.Data(), input.Data() + input.ByteLength());
  return PromiseWorker<std::vector<uint8_t>>::Run(
      info.Env(), [frame = std::move(frame)]() { return core::DecompressBuffer(frame.data(), frame.size()); }, ToBuffer);
}

}  // namespace

void InitMemoryFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("readMemory", Napi::Function::New(env, ReadMemory, "readMemory"));
  exports.Set("decompress", Napi::Function::New(env, Decompress, "decompress"));
}

}  // namespace freezedry::addon
