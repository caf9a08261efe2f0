// PageSink for JS: serves CRIU's page-server session on its own thread, into an image
// directory or an ArchiveWriter, and reports once when CRIU closes the session (or it fails).
#include <fcntl.h>
#include <sys/socket.h>

#include <memory>

#include "addon/addon.h"
#include "addon/archive_wrap.h"
#include "addon/event_thread.h"
#include "addon/js_error.h"
#include "core/archive_page_output.h"
#include "core/page_sink.h"

namespace freezedry::addon {
namespace {

struct SinkResult {
  bool ok = true;
  core::SysError error;
};

void DeliverResult(Napi::Env env, Napi::Function callback, std::nullptr_t*, SinkResult* raw) {
  std::unique_ptr<SinkResult> result(raw);
  if (env == nullptr || callback == nullptr) return;
  callback.Call({result->ok ? env.Null() : MakeSysError(env, result->error).Value()});
}

class PageSinkWrap : public Napi::ObjectWrap<PageSinkWrap>, public ThreadOwner {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "PageSink",
                       {
                           InstanceMethod<&PageSinkWrap::Counters>("counters"),
                           InstanceMethod<&PageSinkWrap::Files>("files"),
                           InstanceMethod<&PageSinkWrap::Pagemaps>("pagemaps"),
                           InstanceMethod<&PageSinkWrap::PagesEntries>("pagesEntries"),
                           InstanceMethod<&PageSinkWrap::Cancel>("cancel"),
                           InstanceMethod<&PageSinkWrap::Close>("close"),
                       });
  }

  // new PageSink(socketFd, { directoryFd } | { archive: ArchiveWriter, prefix? } | { discard: true }, onDone(err))
  explicit PageSinkWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PageSinkWrap>(info) {
    Napi::Env env = info.Env();
    int socket = ::fcntl(info[0].As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, 0);
    if (socket < 0) throw MakeSysError(env, core::LastError("fcntl"));
    socket_.Reset(socket);
    // The sink's thread reads blocking; a socket accepted by Node's loop is non-blocking (the
    // flag belongs to the shared file description, whose other fd the caller then closes).
    int flags = ::fcntl(socket, F_GETFL);
    if (flags < 0 || ::fcntl(socket, F_SETFL, flags & ~O_NONBLOCK) != 0) throw MakeSysError(env, core::LastError("fcntl"));
    Napi::Object target = info[1].As<Napi::Object>();
    if (target.Has("discard")) {
      output_ = std::make_shared<core::DiscardOutput>();
    } else if (target.Has("archive")) {
      std::string prefix = target.Get("prefix").IsString() ? target.Get("prefix").As<Napi::String>().Utf8Value() : "";
      archive_output_ = std::make_shared<core::ArchivePageOutput>(ArchiveWriterOf(target.Get("archive")), prefix);
      output_ = archive_output_;
    } else {
      auto dir = core::DirectoryOutput::Create(target.Get("directoryFd").As<Napi::Number>().Int32Value());
      if (!dir.Ok()) throw MakeSysError(env, dir.Error());
      directory_output_ = std::shared_ptr<core::DirectoryOutput>(dir.Take());
      output_ = directory_output_;
    }
    thread_.Start(env, info[2].As<Napi::Function>(), "freezedry.PageSink", this, [this] {
      auto served = core::CatchAll([&] { return core::ServePageSession(socket_.Get(), *output_, counters_); }, "page sink");
      auto result = std::make_unique<SinkResult>();
      if (!served.Ok()) {
        result->ok = false;
        result->error = served.Error();
        // Stop CRIU writing into a sink that no longer reads: its dump then fails and resumes the tree.
        ::shutdown(socket_.Get(), SHUT_RDWR);
      }
      thread_.Post(std::move(result));
    });
  }

  ~PageSinkWrap() override { Shutdown(); }

  void Shutdown() override {
    if (!thread_.BeginStop()) return;
    ::shutdown(socket_.Get(), SHUT_RDWR);  // unblocks a thread still reading
    thread_.Join();
    socket_.Reset();  // now, not when the garbage collector gets to this object
  }

 private:
  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("bytes", static_cast<double>(counters_.bytes.load()));
    out.Set("pages", static_cast<double>(counters_.pages.load()));
    out.Set("entries", static_cast<double>(counters_.entries.load()));
    out.Set("images", static_cast<double>(counters_.images.load()));
    return out;
  }

  Napi::Value Files(const Napi::CallbackInfo& info) {
    Napi::Array out = Napi::Array::New(info.Env());
    if (!directory_output_) return out;
    auto files = directory_output_->Files();
    for (size_t i = 0; i < files.size(); i++) out.Set(static_cast<uint32_t>(i), files[i]);
    return out;
  }

  Napi::Value Pagemaps(const Napi::CallbackInfo& info) {
    Napi::Array out = Napi::Array::New(info.Env());
    if (!archive_output_) return out;
    auto pagemaps = archive_output_->Pagemaps();
    for (size_t i = 0; i < pagemaps.size(); i++) {
      Napi::Object item = Napi::Object::New(info.Env());
      item.Set("name", pagemaps[i].name);
      item.Set("bytes", Napi::Buffer<uint8_t>::Copy(info.Env(), pagemaps[i].bytes.data(), pagemaps[i].bytes.size()));
      out.Set(static_cast<uint32_t>(i), item);
    }
    return out;
  }

  Napi::Value PagesEntries(const Napi::CallbackInfo& info) {
    Napi::Array out = Napi::Array::New(info.Env());
    if (!archive_output_) return out;
    auto entries = archive_output_->PagesEntries();
    for (size_t i = 0; i < entries.size(); i++) {
      Napi::Object item = Napi::Object::New(info.Env());
      item.Set("index", static_cast<double>(entries[i].entry_index));
      item.Set("name", entries[i].name);
      item.Set("size", static_cast<double>(entries[i].size));
      out.Set(static_cast<uint32_t>(i), item);
    }
    return out;
  }

  void Cancel(const Napi::CallbackInfo&) { ::shutdown(socket_.Get(), SHUT_RDWR); }
  void Close(const Napi::CallbackInfo&) { Shutdown(); }

  core::UniqueFd socket_;
  core::PageSinkCounters counters_;
  std::shared_ptr<core::PageOutput> output_;
  std::shared_ptr<core::DirectoryOutput> directory_output_;
  std::shared_ptr<core::ArchivePageOutput> archive_output_;
  EventThread<SinkResult, DeliverResult> thread_;
};

}  // namespace

Napi::Function InitPageSink(Napi::Env env) { return PageSinkWrap::Init(env); }

}  // namespace freezedry::addon
