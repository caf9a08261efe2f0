// ArchiveWriter for JS: TypeScript makes the tar headers (with the tar package); this writes
// entries into the compressed, seekable stream.
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>

#include "addon/addon.h"
#include "addon/archive_wrap.h"
#include "addon/js_error.h"
#include "addon/promise_worker.h"
#include "core/unique_fd.h"

namespace freezedry::addon {

std::string HexChecksum(uint64_t checksum) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(checksum));
  return text;
}

Napi::Object EntryInfoToJs(Napi::Env env, const core::ArchiveEntryInfo& info) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", info.name);
  out.Set("headerOffset", Napi::Number::New(env, static_cast<double>(info.header_offset)));
  out.Set("size", Napi::Number::New(env, static_cast<double>(info.size)));
  out.Set("checksum", HexChecksum(info.checksum));
  return out;
}

namespace {

const uint8_t* HeaderBytes(const Napi::Value& value) {
  if (value.IsNull() || value.IsUndefined()) return nullptr;
  auto bytes = value.As<Napi::Uint8Array>();
  if (bytes.ByteLength() != core::ArchiveWriter::kHeaderSize) {
    throw Napi::TypeError::New(value.Env(), "a tar header is exactly 512 bytes");
  }
  return bytes.Data();
}

class ArchiveWriterWrap : public Napi::ObjectWrap<ArchiveWriterWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ArchiveWriter",
                       {
                           InstanceMethod<&ArchiveWriterWrap::BeginEntry>("beginEntry"),
                           InstanceMethod<&ArchiveWriterWrap::Write>("write"),
                           InstanceMethod<&ArchiveWriterWrap::EndEntry>("endEntry"),
                           InstanceMethod<&ArchiveWriterWrap::AppendFile>("appendFile"),
                           InstanceMethod<&ArchiveWriterWrap::SetReservedHeader>("setReservedHeader"),
                           InstanceMethod<&ArchiveWriterWrap::Finish>("finish"),
                           InstanceMethod<&ArchiveWriterWrap::Entries>("entries"),
                           InstanceMethod<&ArchiveWriterWrap::Counters>("counters"),
                       });
  }

  // new ArchiveWriter(fd, { level, frameSize, threads, maxPendingBytes?, durable?, paced?, adaptive? })
  explicit ArchiveWriterWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ArchiveWriterWrap>(info) {
    Napi::Env env = info.Env();
    core::ArchiveWriterOptions options;
    Napi::Object given = info[1].As<Napi::Object>();
    options.level = given.Get("level").As<Napi::Number>().Int32Value();
    options.frame_size = given.Get("frameSize").As<Napi::Number>().Uint32Value();
    options.threads = given.Get("threads").As<Napi::Number>().Uint32Value();
    if (!given.Get("maxPendingBytes").IsUndefined())
      options.max_pending_bytes = static_cast<size_t>(given.Get("maxPendingBytes").As<Napi::Number>().Int64Value());
    options.durable = given.Get("durable").ToBoolean().Value();
    options.paced = given.Get("paced").ToBoolean().Value();
    options.adaptive = given.Get("adaptive").ToBoolean().Value();
    auto writer = core::ArchiveWriter::Create(info[0].As<Napi::Number>().Int32Value(), options);
    if (!writer.Ok()) throw MakeSysError(env, writer.Error());
    writer_ = std::shared_ptr<core::ArchiveWriter>(writer.Take());
  }

  std::shared_ptr<core::ArchiveWriter> writer() const { return writer_; }

 private:
  Napi::Value BeginEntry(const Napi::CallbackInfo& info) {
    auto index = writer_->BeginEntry(info[0].As<Napi::String>().Utf8Value(), HeaderBytes(info[1]));
    if (!index.Ok()) throw MakeSysError(info.Env(), index.Error());
    return Napi::Number::New(info.Env(), static_cast<double>(index.Value()));
  }

  void Write(const Napi::CallbackInfo& info) {
    auto bytes = info[0].As<Napi::Uint8Array>();
    auto written = writer_->Write(bytes.Data(), bytes.ByteLength());
    if (!written.Ok()) throw MakeSysError(info.Env(), written.Error());
  }

  Napi::Value EndEntry(const Napi::CallbackInfo& info) {
    auto ended = writer_->EndEntry();
    if (!ended.Ok()) throw MakeSysError(info.Env(), ended.Error());
    return EntryInfoToJs(info.Env(), ended.Value());
  }

  // appendFile(name, header, path) → Promise<entry>: a whole file as one entry, off the main thread.
  Napi::Value AppendFile(const Napi::CallbackInfo& info) {
    std::string name = info[0].As<Napi::String>().Utf8Value();
    std::vector<uint8_t> header(HeaderBytes(info[1]), HeaderBytes(info[1]) + core::ArchiveWriter::kHeaderSize);
    std::string path = info[2].As<Napi::String>().Utf8Value();
    auto writer = writer_;
    return PromiseWorker<core::ArchiveEntryInfo>::Run(
        info.Env(),
        [writer, name, header, path]() -> core::Result<core::ArchiveEntryInfo> {
          int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
          if (fd < 0) return core::LastError("open", path);
          core::UniqueFd file(fd);
          struct stat st;
          if (::fstat(fd, &st) != 0) return core::LastError("fstat", path);
          auto begun = writer->BeginEntry(name, header.data());
          if (!begun.Ok()) return begun.Error();
          auto copied = writer->WriteFrom(fd, static_cast<uint64_t>(st.st_size));
          if (!copied.Ok()) return copied.Error();
          return writer->EndEntry();
        },
        [](Napi::Env env, core::ArchiveEntryInfo& entry) -> Napi::Value { return EntryInfoToJs(env, entry); });
  }

  void SetReservedHeader(const Napi::CallbackInfo& info) {
    auto set = writer_->SetReservedHeader(info[0].As<Napi::Number>().Uint32Value(), HeaderBytes(info[1]));
    if (!set.Ok()) throw MakeSysError(info.Env(), set.Error());
  }

  // finish(sync) → Promise<compressed size>
  Napi::Value Finish(const Napi::CallbackInfo& info) {
    bool sync = info[0].ToBoolean().Value();
    auto writer = writer_;
    return PromiseWorker<uint64_t>::Run(
        info.Env(), [writer, sync]() { return writer->Finish(sync); },
        [](Napi::Env env, uint64_t& size) -> Napi::Value { return Napi::Number::New(env, static_cast<double>(size)); });
  }

  Napi::Value Entries(const Napi::CallbackInfo& info) {
    auto entries = writer_->Entries();
    Napi::Array out = Napi::Array::New(info.Env(), entries.size());
    for (size_t i = 0; i < entries.size(); i++) out.Set(static_cast<uint32_t>(i), EntryInfoToJs(info.Env(), entries[i]));
    return out;
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("bytesIn", static_cast<double>(writer_->Counters().bytes_in.load()));
    out.Set("bytesOut", static_cast<double>(writer_->Counters().bytes_out.load()));
    out.Set("bytesStored", static_cast<double>(writer_->Counters().bytes_stored.load()));
    return out;
  }

  std::shared_ptr<core::ArchiveWriter> writer_;
};

}  // namespace

std::shared_ptr<core::ArchiveWriter> ArchiveWriterOf(const Napi::Value& value) {
  Napi::FunctionReference& cls = Addon::Of(value.Env()).archive_writer_class;
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(cls.Value())) {
    throw Napi::TypeError::New(value.Env(), "expected an ArchiveWriter");
  }
  return ArchiveWriterWrap::Unwrap(value.As<Napi::Object>())->writer();
}

Napi::Function InitArchiveWriter(Napi::Env env) {
  Napi::Function cls = ArchiveWriterWrap::Init(env);
  Addon::Of(env).archive_writer_class = Napi::Persistent(cls);
  return cls;
}

}  // namespace freezedry::addon
