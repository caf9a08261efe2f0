// ArchiveReader for JS: random access to the tar stream of an archive.
#include <memory>

#include "addon/addon.h"
#include "addon/archive_wrap.h"
#include "addon/js_error.h"
#include "addon/promise_worker.h"
#include "core/archive_reader.h"

namespace freezedry::addon {
namespace {

class ArchiveReaderWrap : public Napi::ObjectWrap<ArchiveReaderWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ArchiveReader",
                       {
                           InstanceAccessor<&ArchiveReaderWrap::StreamSize>("streamSize"),
                           InstanceAccessor<&ArchiveReaderWrap::FileSize>("fileSize"),
                           InstanceAccessor<&ArchiveReaderWrap::FrameCount>("frameCount"),
                           InstanceMethod<&ArchiveReaderWrap::ReadSync>("readSync"),
                           InstanceMethod<&ArchiveReaderWrap::Read>("read"),
                           InstanceMethod<&ArchiveReaderWrap::CopyTo>("copyTo"),
                       });
  }

  // new ArchiveReader(fd): reads the seek table (throws ENOEXEC / ENODATA with a detail).
  explicit ArchiveReaderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ArchiveReaderWrap>(info) {
    auto reader = core::ArchiveReader::Open(info[0].As<Napi::Number>().Int32Value());
    if (!reader.Ok()) throw MakeSysError(info.Env(), reader.Error());
    reader_ = std::shared_ptr<core::ArchiveReader>(reader.Take());
  }

 private:
  Napi::Value StreamSize(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(reader_->StreamSize()));
  }
  Napi::Value FileSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(reader_->FileSize())); }
  Napi::Value FrameCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(reader_->FrameCount()));
  }

  // readSync(offset, length): for small reads (tar headers, manifests) — at most a frame or two.
  Napi::Value ReadSync(const Napi::CallbackInfo& info) {
    uint64_t offset = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
    size_t length = info[1].As<Napi::Number>().Uint32Value();
    auto out = Napi::Buffer<uint8_t>::New(info.Env(), length);
    auto read = reader_->Read(offset, out.Data(), length);
    if (!read.Ok()) throw MakeSysError(info.Env(), read.Error());
    return out;
  }

  Napi::Value Read(const Napi::CallbackInfo& info) {
    uint64_t offset = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
    size_t length = info[1].As<Napi::Number>().Uint32Value();
    auto reader = reader_;
    return PromiseWorker<std::vector<uint8_t>>::Run(
        info.Env(),
        [reader, offset, length]() -> core::Result<std::vector<uint8_t>> {
          std::vector<uint8_t> out(length);
          auto read = reader->Read(offset, out.data(), length);
          if (!read.Ok()) return read.Error();
          return out;
        },
        [](Napi::Env env, std::vector<uint8_t>& bytes) -> Napi::Value {
          return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
        });
  }

  // copyTo(offset, size, fd, position?) → Promise<checksum hex>: stream bytes into a file.
  Napi::Value CopyTo(const Napi::CallbackInfo& info) {
    uint64_t offset = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
    uint64_t size = static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value());
    int fd = info[2].As<Napi::Number>().Int32Value();
    int64_t position = info[3].IsNumber() ? info[3].As<Napi::Number>().Int64Value() : -1;
    auto reader = reader_;
    return PromiseWorker<uint64_t>::Run(
        info.Env(), [reader, offset, size, fd, position]() { return reader->CopyTo(offset, size, fd, position); },
        [](Napi::Env env, uint64_t& checksum) -> Napi::Value { return Napi::String::New(env, HexChecksum(checksum)); });
  }

  std::shared_ptr<core::ArchiveReader> reader_;

 public:
  std::shared_ptr<core::ArchiveReader> reader() const { return reader_; }
};

}  // namespace

std::shared_ptr<core::ArchiveReader> ArchiveReaderOf(const Napi::Value& value) {
  Napi::FunctionReference& cls = Addon::Of(value.Env()).archive_reader_class;
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(cls.Value())) {
    throw Napi::TypeError::New(value.Env(), "expected an ArchiveReader");
  }
  return ArchiveReaderWrap::Unwrap(value.As<Napi::Object>())->reader();
}

Napi::Function InitArchiveReader(Napi::Env env) {
  Napi::Function cls = ArchiveReaderWrap::Init(env);
  Addon::Of(env).archive_reader_class = Napi::Persistent(cls);
  return cls;
}

}  // namespace freezedry::addon
