// UffdServer for JS: listens on a restore's lazy-pages.socket and serves the restored tree's
// memory on its own thread; reports 'restored', 'complete' or 'failed'.
#include <napi.h>

#include <map>
#include <memory>

#include "addon/addon.h"
#include "addon/archive_wrap.h"
#include "addon/event_thread.h"
#include "addon/js_error.h"
#include "core/uffd_server.h"

namespace freezedry::addon {
namespace {

struct ServerEvent {
  core::UffdServer::Event event;
  core::SysError error;
};

void DeliverEvent(Napi::Env env, Napi::Function callback, std::nullptr_t*, ServerEvent* raw) {
  std::unique_ptr<ServerEvent> event(raw);
  if (env == nullptr || callback == nullptr) return;
  switch (event->event) {
    case core::UffdServer::Event::kRestored:
      callback.Call({Napi::String::New(env, "restored")});
      break;
    case core::UffdServer::Event::kComplete:
      callback.Call({Napi::String::New(env, "complete")});
      break;
    case core::UffdServer::Event::kFailed:
      callback.Call({Napi::String::New(env, "failed"), MakeSysError(env, event->error).Value()});
      break;
  }
}

// { files } | { archive, starts } | { remote } | { files, remote }: the last serves the files'
// images first and numbers the remote ones after them.
std::shared_ptr<core::PageSource> SourceFrom(Napi::Env env, Napi::Object from) {
  std::shared_ptr<core::PageSource> remote_source;
  if (from.Has("remote")) {
    Napi::Object remote = from.Get("remote").As<Napi::Object>();
    std::vector<int32_t> pids;
    auto list = remote.Get("pids").As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) pids.push_back(list.Get(i).As<Napi::Number>().Int32Value());
    std::string ticket;
    if (remote.Has("ticket") && remote.Get("ticket").IsBuffer()) {
      auto bytes = remote.Get("ticket").As<Napi::Buffer<char>>();
      ticket.assign(bytes.Data(), bytes.Length());
    }
    auto connected = core::RemotePageSource::Connect(remote.Get("address").As<Napi::String>().Utf8Value(),
                                                     static_cast<uint16_t>(remote.Get("port").As<Napi::Number>().Uint32Value()),
                                                     std::move(pids), ticket);
    if (!connected.Ok()) throw MakeSysError(env, connected.Error());
    remote_source = std::shared_ptr<core::PageSource>(connected.Take());
    if (!from.Has("files")) return remote_source;
  }
  if (from.Has("archive")) {
    std::vector<uint64_t> starts;
    auto list = from.Get("starts").As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) starts.push_back(static_cast<uint64_t>(list.Get(i).As<Napi::Number>().Int64Value()));
    auto reader = ArchiveReaderOf(from.Get("archive"));
    if (from.Get("readAheadWhenIdle").ToBoolean()) reader->SetReadAheadWhenIdle(true);
    return std::make_shared<core::ArchivePageSource>(std::move(reader), std::move(starts));
  }
  std::vector<int> fds;
  auto list = from.Get("files").As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); i++) fds.push_back(list.Get(i).As<Napi::Number>().Int32Value());
  auto files = core::FilePageSource::Create(fds);
  if (!files.Ok()) throw MakeSysError(env, files.Error());
  std::shared_ptr<core::PageSource> file_source(files.Take());
  if (!remote_source) return file_source;
  return std::make_shared<core::SplitPageSource>(file_source, static_cast<uint32_t>(fds.size()), remote_source);
}

class UffdServerWrap : public Napi::ObjectWrap<UffdServerWrap>, public ThreadOwner {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "UffdServer",
                       {
                           InstanceMethod<&UffdServerWrap::Counters>("counters"),
                           InstanceMethod<&UffdServerWrap::Close>("close"),
                       });
  }

  // new UffdServer(socketPath, { [pid]: Float64Array [address, length, image, offset, priority]* },
  //                { files: number[] } | { archive: ArchiveReader, starts: number[], readAheadWhenIdle? }
  //                | { remote: { address, port, pids: number[] } },
  //                { faultAround, fillChunk, fillHoldOffMs? }, onEvent(kind, err?))
  explicit UffdServerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UffdServerWrap>(info) {
    Napi::Env env = info.Env();
    std::map<int32_t, std::vector<core::LazyRange>> table;
    Napi::Object given = info[1].As<Napi::Object>();
    Napi::Array pids = given.GetPropertyNames();
    for (uint32_t i = 0; i < pids.Length(); i++) {
      Napi::Value key = pids.Get(i);
      int32_t pid = std::stoi(key.As<Napi::String>().Utf8Value());
      auto rows = given.Get(key).As<Napi::Float64Array>();
      auto& list = table[pid];
      for (size_t r = 0; r + 4 < rows.ElementLength(); r += 5) {
        list.push_back({static_cast<uint64_t>(rows[r]), static_cast<uint64_t>(rows[r + 1]), static_cast<uint32_t>(rows[r + 2]),
                        static_cast<uint64_t>(rows[r + 3]), rows[r + 4] != 0});
      }
    }
    std::shared_ptr<core::PageSource> source = SourceFrom(env, info[2].As<Napi::Object>());
    core::UffdServerOptions options;
    Napi::Object tuning = info[3].As<Napi::Object>();
    options.fault_around = tuning.Get("faultAround").As<Napi::Number>().Uint32Value();
    options.fill_chunk = tuning.Get("fillChunk").As<Napi::Number>().Uint32Value();
    if (tuning.Get("fillHoldOffMs").IsNumber())
      options.fill_hold_off_ns = tuning.Get("fillHoldOffMs").As<Napi::Number>().Int64Value() * 1'000'000;
    auto server = core::UffdServer::Create(info[0].As<Napi::String>().Utf8Value(), std::move(table), source, options);
    if (!server.Ok()) throw MakeSysError(env, server.Error());
    server_ = server.Take();
    thread_.Start(env, info[4].As<Napi::Function>(), "freezedry.UffdServer", this, [this] {
      auto post = [this](core::UffdServer::Event event, const core::SysError* error) {
        thread_.Post(std::make_unique<ServerEvent>(ServerEvent{event, error ? *error : core::SysError{}}));
      };
      auto ran = core::CatchAll(
          [&]() -> core::Status {
            server_->Run(post);
            return core::OkStatus();
          },
          "lazy pages");
      if (!ran.Ok()) post(core::UffdServer::Event::kFailed, &ran.Error());
    });
  }

  ~UffdServerWrap() override { Shutdown(); }

  void Shutdown() override {
    if (!thread_.BeginStop()) return;
    server_->Stop();
    thread_.Join();
    // The server's listener, page source (open and mapped images) and copy buffer go now, not
    // when the garbage collector gets to this small object: its counters are kept.
    final_counters_ = Snapshot(server_->Counters());
    server_.reset();
  }

 private:
  struct CountersSnapshot {
    uint64_t faults, pages_copied, bytes_copied, zero_pages, tasks, pages_total;
    int64_t first_fault_ns, restored_ns, complete_ns;
  };

  static CountersSnapshot Snapshot(const core::UffdCounters& c) {
    return {c.faults.load(),      c.pages_copied.load(),   c.bytes_copied.load(), c.zero_pages.load(), c.tasks.load(),
            c.pages_total.load(), c.first_fault_ns.load(), c.restored_ns.load(),  c.complete_ns.load()};
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    const CountersSnapshot c = server_ ? Snapshot(server_->Counters()) : final_counters_;
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("faults", static_cast<double>(c.faults));
    out.Set("pagesCopied", static_cast<double>(c.pages_copied));
    out.Set("bytesCopied", static_cast<double>(c.bytes_copied));
    out.Set("zeroPages", static_cast<double>(c.zero_pages));
    out.Set("tasks", static_cast<double>(c.tasks));
    out.Set("pagesTotal", static_cast<double>(c.pages_total));
    auto ms = [](int64_t ns) { return ns < 0 ? -1.0 : static_cast<double>(ns) / 1e6; };
    out.Set("firstFaultMs", ms(c.first_fault_ns));
    out.Set("restoredMs", ms(c.restored_ns));
    out.Set("completeMs", ms(c.complete_ns));
    return out;
  }

  void Close(const Napi::CallbackInfo&) { Shutdown(); }

  std::unique_ptr<core::UffdServer> server_;
  CountersSnapshot final_counters_{};
  EventThread<ServerEvent, DeliverEvent> thread_;
};

}  // namespace

Napi::Function InitUffdServer(Napi::Env env) { return UffdServerWrap::Init(env); }

}  // namespace freezedry::addon
