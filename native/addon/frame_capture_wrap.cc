// FrameCapture and injectFrames for JS (src/migrate/frame-replay.ts decides when and where).
#include <napi.h>
#include <net/if.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "addon/addon.h"
#include "addon/js_error.h"
#include "core/frame_capture.h"

namespace freezedry::addon {
namespace {

class FrameCaptureWrap : public Napi::ObjectWrap<FrameCaptureWrap> {
 public:
  static Napi::Function Init(Napi::Env env) { return DefineClass(env, "FrameCapture", {InstanceMethod<&FrameCaptureWrap::Take>("take")}); }

  // new FrameCapture(points, bufferBytes): each point {ifindex, to?: 6-byte Uint8Array}
  explicit FrameCaptureWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FrameCaptureWrap>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsArray() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "FrameCapture(points, bufferBytes)");
    auto list = info[0].As<Napi::Array>();
    std::vector<core::CapturePoint> points;
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value item = list.Get(i);
      if (!item.IsObject()) throw Napi::TypeError::New(env, "a capture point is {ifindex, to?}");
      auto object = item.As<Napi::Object>();
      core::CapturePoint point;
      point.ifindex = object.Get("ifindex").As<Napi::Number>().Int32Value();
      Napi::Value to = object.Get("to");
      if (to.IsTypedArray()) {
        auto bytes = to.As<Napi::Uint8Array>();
        if (bytes.ByteLength() != 6) throw Napi::TypeError::New(env, "a capture point's address is 6 bytes");
        core::MacAddress address{};
        std::copy(bytes.Data(), bytes.Data() + 6, address.begin());
        point.to = address;
      }
      points.push_back(point);
    }
    auto started = core::FrameCapture::Start(points, info[1].As<Napi::Number>().Int32Value());
    if (!started.Ok()) throw MakeSysError(env, started.Error());
    capture_.emplace(started.Take());
  }

 private:
  // take(goOn?): one Buffer per point (length-prefixed frames); the capture ends unless goOn.
  Napi::Value Take(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!capture_) throw Napi::Error::New(env, "the capture was already taken");
    bool go_on = info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value();
    auto taken = capture_->Take(go_on);
    if (!go_on) capture_.reset();
    if (!taken.Ok()) throw MakeSysError(env, taken.Error());
    Napi::Array out = Napi::Array::New(env, taken.Value().size());
    for (uint32_t i = 0; i < taken.Value().size(); i++) {
      const auto& batch = taken.Value()[i];
      out.Set(i, Napi::Buffer<uint8_t>::Copy(env, batch.data(), batch.size()));
    }
    return out;
  }

  std::optional<core::FrameCapture> capture_;
};

// injectFrames(ifname, batch): {sent, skipped}
Napi::Value InjectFrames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsTypedArray()) throw Napi::TypeError::New(env, "injectFrames(ifname, batch)");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  // The index in this process's network namespace (no `ip` to run on the way to the tree).
  auto ifindex = static_cast<int>(::if_nametoindex(name.c_str()));
  if (ifindex == 0) throw MakeSysError(env, core::LastError("if_nametoindex", name));
  auto batch = info[1].As<Napi::Uint8Array>();
  auto counts = core::InjectFrames(ifindex, batch.Data(), batch.ByteLength());
  if (!counts.Ok()) throw MakeSysError(env, counts.Error());
  Napi::Object out = Napi::Object::New(env);
  out.Set("sent", counts.Value().sent);
  out.Set("skipped", counts.Value().skipped);
  return out;
}

}  // namespace

void InitFrameFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("FrameCapture", FrameCaptureWrap::Init(env));
  exports.Set("injectFrames", Napi::Function::New(env, InjectFrames, "injectFrames"));
}

}  // namespace freezedry::addon
