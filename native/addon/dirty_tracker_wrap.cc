// DirtyTracker for JS: attach to a pid, then scan() for the page ranges written since the last scan.
#include <napi.h>

#include <memory>

#include "addon/addon.h"
#include "addon/js_error.h"
#include "core/dirty_tracker.h"

namespace freezedry::addon {
namespace {

class DirtyTrackerWrap : public Napi::ObjectWrap<DirtyTrackerWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "DirtyTracker",
                       {
                           InstanceMethod<&DirtyTrackerWrap::Scan>("scan"),
                           InstanceMethod<&DirtyTrackerWrap::Present>("present"),
                           InstanceMethod<&DirtyTrackerWrap::Areas>("areas"),
                           InstanceAccessor<&DirtyTrackerWrap::TrackedBytes>("trackedBytes"),
                           InstanceMethod<&DirtyTrackerWrap::Close>("close"),
                       });
  }

  // new DirtyTracker(pid): stops the target for a few system calls (bounded), then lets it run.
  explicit DirtyTrackerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DirtyTrackerWrap>(info) {
    auto tracker = core::DirtyTracker::Attach(info[0].As<Napi::Number>().Int32Value());
    if (!tracker.Ok()) throw MakeSysError(info.Env(), tracker.Error());
    tracker_ = tracker.Take();
  }

 private:
  // scan() → Float64Array of [start, end) pairs.
  Napi::Value Scan(const Napi::CallbackInfo& info) {
    if (!tracker_) throw MakeCodeError(info.Env(), "ERR_TRACKER_CLOSED", "the dirty tracker is closed");
    auto written = tracker_->Scan();
    if (!written.Ok()) throw MakeSysError(info.Env(), written.Error());
    return Pairs(info.Env(), written.Value());
  }

  // present() → Float64Array of [start, end) pairs: tracked pages holding data.
  Napi::Value Present(const Napi::CallbackInfo& info) {
    if (!tracker_) throw MakeCodeError(info.Env(), "ERR_TRACKER_CLOSED", "the dirty tracker is closed");
    auto present = tracker_->Present();
    if (!present.Ok()) throw MakeSysError(info.Env(), present.Error());
    return Pairs(info.Env(), present.Value());
  }

  // areas() → Float64Array of [start, end) pairs: what is tracked.
  Napi::Value Areas(const Napi::CallbackInfo& info) {
    if (!tracker_) throw MakeCodeError(info.Env(), "ERR_TRACKER_CLOSED", "the dirty tracker is closed");
    return Pairs(info.Env(), tracker_->Areas());
  }

  static Napi::Float64Array Pairs(Napi::Env env, const std::vector<core::WrittenRange>& ranges) {
    auto out = Napi::Float64Array::New(env, ranges.size() * 2);
    for (size_t i = 0; i < ranges.size(); i++) {
      out[2 * i] = static_cast<double>(ranges[i].start);
      out[2 * i + 1] = static_cast<double>(ranges[i].end);
    }
    return out;
  }

  Napi::Value TrackedBytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), tracker_ ? static_cast<double>(tracker_->TrackedBytes()) : 0);
  }

  void Close(const Napi::CallbackInfo&) { tracker_.reset(); }  // closing the uffd ends the tracking

  std::unique_ptr<core::DirtyTracker> tracker_;
};

}  // namespace

Napi::Function InitDirtyTracker(Napi::Env env) { return DirtyTrackerWrap::Init(env); }

}  // namespace freezedry::addon
