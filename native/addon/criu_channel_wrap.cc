// CriuChannel for JS: a reader thread delivers every message from criu swrk through a
// thread-safe function; JS sends requests and notification replies with send().
#include <napi.h>

#include <memory>
#include <optional>
#include <vector>

#include "addon/addon.h"
#include "addon/event_thread.h"
#include "addon/js_error.h"
#include "core/criu_channel.h"

namespace freezedry::addon {
namespace {

struct ChannelEvent {
  enum class Kind { kMessage, kClosed, kError } kind;
  std::vector<uint8_t> bytes;
  core::UniqueFd fd;
  core::SysError error;
};

void DeliverEvent(Napi::Env env, Napi::Function callback, std::nullptr_t*, ChannelEvent* raw) {
  std::unique_ptr<ChannelEvent> event(raw);
  if (env == nullptr || callback == nullptr) return;  // environment shutting down
  switch (event->kind) {
    case ChannelEvent::Kind::kMessage: {
      auto bytes = Napi::Buffer<uint8_t>::Copy(env, event->bytes.data(), event->bytes.size());
      Napi::Value fd = event->fd.Valid() ? Napi::Number::New(env, event->fd.Release()) : env.Undefined();
      callback.Call({Napi::String::New(env, "message"), bytes, fd});
      break;
    }
    case ChannelEvent::Kind::kClosed:
      callback.Call({Napi::String::New(env, "closed")});
      break;
    case ChannelEvent::Kind::kError:
      callback.Call({Napi::String::New(env, "error"), MakeSysError(env, event->error).Value()});
      break;
  }
}

class CriuChannelWrap : public Napi::ObjectWrap<CriuChannelWrap>, public ThreadOwner {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "CriuChannel",
                       {
                           InstanceAccessor<&CriuChannelWrap::PeerFd>("peerFd"),
                           InstanceMethod<&CriuChannelWrap::ClosePeer>("closePeer"),
                           InstanceMethod<&CriuChannelWrap::Send>("send"),
                           InstanceMethod<&CriuChannelWrap::Ref>("ref"),
                           InstanceMethod<&CriuChannelWrap::Unref>("unref"),
                           InstanceMethod<&CriuChannelWrap::Close>("close"),
                       });
  }

  // new CriuChannel(onEvent(kind, bufferOrError?, fd?))
  explicit CriuChannelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CriuChannelWrap>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "onEvent must be a function");
    auto channel = core::CriuChannel::Create();
    if (!channel.Ok()) throw MakeSysError(env, channel.Error());
    channel_.emplace(channel.Take());
    reader_.Start(env, info[0].As<Napi::Function>(), "freezedry.CriuChannel", this, [this] { ReadLoop(); });
    // An idle channel does not keep the process alive; a pending request refs it.
    reader_.Unref(env);
  }

  ~CriuChannelWrap() override { Shutdown(); }

  void Shutdown() override {
    if (!reader_.BeginStop()) return;
    channel_->Stop();
    reader_.Join();
    channel_.reset();  // closes our end, so a criu still waiting for requests sees EOF
  }

 private:
  void ReadLoop() {
    for (;;) {
      auto received = core::CatchAll([&] { return channel_->Receive(); }, "criu channel");
      auto event = std::make_unique<ChannelEvent>();
      if (!received.Ok()) {
        event->kind = ChannelEvent::Kind::kError;
        event->error = received.Error();
      } else if (received.Value().outcome == core::CriuChannel::Outcome::kStopped) {
        break;
      } else if (received.Value().outcome == core::CriuChannel::Outcome::kPeerClosed) {
        event->kind = ChannelEvent::Kind::kClosed;
      } else {
        event->kind = ChannelEvent::Kind::kMessage;
        event->bytes = std::move(received.Value().packet->bytes);
        event->fd = std::move(received.Value().packet->passed_fd);
      }
      bool last = event->kind != ChannelEvent::Kind::kMessage;
      reader_.Post(std::move(event));
      if (last) break;
    }
  }

  Napi::Value PeerFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), channel_ ? channel_->PeerFd() : -1); }

  void ClosePeer(const Napi::CallbackInfo&) {
    if (channel_) channel_->ClosePeer();
  }

  void Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "send needs a Uint8Array");
    if (reader_.Stopping()) throw MakeCodeError(env, "ERR_CHANNEL_CLOSED", "the CRIU channel is closed");
    auto bytes = info[0].As<Napi::Uint8Array>();
    auto sent = channel_->Send(bytes.Data(), bytes.ByteLength());
    if (!sent.Ok()) throw MakeSysError(env, sent.Error());
  }

  void Ref(const Napi::CallbackInfo& info) {
    if (!reader_.Stopping()) reader_.Ref(info.Env());
  }
  void Unref(const Napi::CallbackInfo& info) {
    if (!reader_.Stopping()) reader_.Unref(info.Env());
  }
  void Close(const Napi::CallbackInfo&) { Shutdown(); }

  std::optional<core::CriuChannel> channel_;
  EventThread<ChannelEvent, DeliverEvent> reader_;
};

}  // namespace

Napi::Function InitCriuChannel(Napi::Env env) { return CriuChannelWrap::Init(env); }

}  // namespace freezedry::addon
