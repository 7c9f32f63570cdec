// sensor-proxy usbfs addon part: one opened USB device through Linux usbfs (/dev/bus/usb/BBB/DDD,
// include/uapi/linux/usbdevice_fs.h, drivers/usb/core/devio.c), the fast path of the DFU host.
//
// Control transfers are asynchronous URBs on the device's fd, watched by one uv_poll on the Node
// event loop: no thread per device, no busy polling.
//  - control(): USBDEVFS_SUBMITURB of a USBDEVFS_URB_TYPE_CONTROL URB (setup packet + data stage);
//  - usbfs turns the fd writable (POLLOUT) while a completed URB waits; the poll callback reaps them
//    all with USBDEVFS_REAPURBNDELAY and calls each transfer's callback;
//  - a timeout is one uv_timer per pending transfer (pooled with its URB): on expiry it
//    USBDEVFS_DISCARDURBs the URB, which then completes (-ECONNRESET) and is reported as ETIMEDOUT;
//  - the device leaving the bus: usbfs reports POLLHUP/POLLERR and REAPURBNDELAY ENODEV; killed URBs
//    are reported as ENODEV;
//  - setInterface() and reset() block in the kernel (a SET_INTERFACE request, a port reset): each is
//    one libuv thread-pool job, like fs calls.
// The kernel copies OUT data at submit and IN data at reap, so no buffer is shared with it between.
#include <napi.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/usbdevice_fs.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "usbfs_device.h"

namespace {

const char* UsbErrnoName(int e) {
  switch (e) {
#define SP_E(x) \
  case x:       \
    return #x;
    SP_E(EPIPE)
    SP_E(ENODEV)
    SP_E(ESHUTDOWN)
    SP_E(EPROTO)
    SP_E(EILSEQ)
    SP_E(ETIMEDOUT)
    SP_E(ETIME)
    SP_E(ECONNRESET)
    SP_E(ENOENT)
    SP_E(EACCES)
    SP_E(EPERM)
    SP_E(EBUSY)
    SP_E(EINVAL)
    SP_E(EBADF)
    SP_E(ENOMEM)
    SP_E(EOVERFLOW)
    SP_E(EREMOTEIO)
    SP_E(EMSGSIZE)
    SP_E(EIO)
    SP_E(ENXIO)
    SP_E(EAGAIN)
    SP_E(EINTR)
    SP_E(ENOTTY)
    SP_E(EXDEV)
    SP_E(ECOMM)
    SP_E(EHOSTUNREACH)
    SP_E(EINPROGRESS)
#undef SP_E
    default:
      return nullptr;
  }
}

// An Error with code (errno name), errno and syscall, like Node's own system errors.
Napi::Value UsbError(Napi::Env env, const std::string& syscall, int err) {
  const char* name = UsbErrnoName(err);
  std::string code = name ? name : "E" + std::to_string(err);
  Napi::Error e = Napi::Error::New(env, syscall + ": " + strerror(err) + " (" + code + ")");
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e.Value();
}

class UsbfsDevice;

// One control transfer: its URB, setup + data buffer and timeout timer. Pooled per device: the
// timer is initialised once and closed with the device.
struct Transfer {
  std::vector<uint8_t> buf;
  uv_timer_t timer;
  Napi::FunctionReference cb;
  UsbfsDevice* owner = nullptr;
  bool in = false;
  bool timedOut = false;
  bool pending = false;
  usbdevfs_urb urb;  // last: it ends in a flexible array (iso frames, unused for control)
};

// A blocking ioctl (SETINTERFACE, RESET) on the libuv thread pool.
class IoctlWorker : public Napi::AsyncWorker {
 public:
  IoctlWorker(Napi::Function cb, UsbfsDevice* owner, int fd, unsigned long req, usbdevfs_setinterface arg,
              const char* what)
      : Napi::AsyncWorker(cb, "sp_usbfs.ioctl"), owner_(owner), fd_(fd), req_(req), arg_(arg), what_(what) {}
  void Execute() override {
    int r;
    do r = req_ == USBDEVFS_RESET ? ioctl(fd_, USBDEVFS_RESET, 0) : ioctl(fd_, req_, &arg_);
    while (r < 0 && errno == EINTR);
    err_ = r < 0 ? errno : 0;
  }
  void OnOK() override;

 private:
  UsbfsDevice* owner_;
  int fd_;
  unsigned long req_;
  usbdevfs_setinterface arg_;
  const char* what_;
  int err_ = 0;
};

class UsbfsDevice : public Napi::ObjectWrap<UsbfsDevice> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "UsbfsDevice",
                       {InstanceMethod("claimInterface", &UsbfsDevice::ClaimInterface),
                        InstanceMethod("releaseInterface", &UsbfsDevice::ReleaseInterface),
                        InstanceMethod("setInterface", &UsbfsDevice::SetInterface),
                        InstanceMethod("control", &UsbfsDevice::Control),
                        InstanceMethod("reset", &UsbfsDevice::Reset),
                        InstanceMethod("connected", &UsbfsDevice::Connected),
                        InstanceMethod("close", &UsbfsDevice::Close)});
  }

  // new UsbfsDevice(path): opens the device node; throws a system error (ENOENT, EACCES, ...).
  UsbfsDevice(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UsbfsDevice>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) {
      Napi::TypeError::New(env, "UsbfsDevice(path)").ThrowAsJavaScriptException();
      return;
    }
    std::string path = info[0].As<Napi::String>().Utf8Value();
    int fd;
    do fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      Napi::Error(env, UsbError(env, "open " + path, errno)).ThrowAsJavaScriptException();
      return;
    }
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    loop_ = loop;
    poll_ = new uv_poll_t;
    int pr = uv_poll_init(loop, poll_, fd);
    if (pr != 0) {  // not pollable: not a usbfs node
      delete poll_;
      poll_ = nullptr;
      ::close(fd);
      Napi::Error(env, UsbError(env, "uv_poll_init " + path, -pr)).ThrowAsJavaScriptException();
      return;
    }
    poll_->data = this;
    fd_ = fd;
    ctx_ = std::make_unique<Napi::AsyncContext>(env, "sp_usbfs");
    Ref();  // alive while open: the poll handle and timers point at us
  }

  ~UsbfsDevice() override { Shutdown(false); }

  void WorkerDone() {
    workers_--;
    if (closed_ && workers_ == 0) {
      CloseFd();
      Unref();
    }
  }
  int fd() const { return fd_; }

 private:
  bool CheckOpen(Napi::Env env, const char* what) {
    if (!closed_) return true;
    Napi::Error(env, UsbError(env, what, EBADF)).ThrowAsJavaScriptException();
    return false;
  }

  Napi::Value IfaceIoctl(const Napi::CallbackInfo& info, unsigned long req, const char* what) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, what)) return env.Undefined();
    unsigned int n = info[0].As<Napi::Number>().Uint32Value();
    int r;
    do r = ioctl(fd_, req, &n);
    while (r < 0 && errno == EINTR);
    if (r < 0) Napi::Error(env, UsbError(env, what, errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  // claimInterface(n) / releaseInterface(n): synchronous (no bus traffic); throw a system error.
  Napi::Value ClaimInterface(const Napi::CallbackInfo& info) {
    return IfaceIoctl(info, USBDEVFS_CLAIMINTERFACE, "USBDEVFS_CLAIMINTERFACE");
  }
  Napi::Value ReleaseInterface(const Napi::CallbackInfo& info) {
    return IfaceIoctl(info, USBDEVFS_RELEASEINTERFACE, "USBDEVFS_RELEASEINTERFACE");
  }

  // setInterface(n, alt, cb(err | null)): SET_INTERFACE through the kernel (thread pool).
  Napi::Value SetInterface(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[2].IsFunction()) {
      Napi::TypeError::New(env, "setInterface(n, alt, callback)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!CheckOpen(env, "USBDEVFS_SETINTERFACE")) return env.Undefined();
    usbdevfs_setinterface si;
    si.interface = info[0].As<Napi::Number>().Uint32Value();
    si.altsetting = info[1].As<Napi::Number>().Uint32Value();
    workers_++;
    (new IoctlWorker(info[2].As<Napi::Function>(), this, fd_, USBDEVFS_SETINTERFACE, si, "USBDEVFS_SETINTERFACE"))
        ->Queue();
    return env.Undefined();
  }

  // reset(cb(err | null)): USB port reset (thread pool); the device may re-enumerate after it.
  Napi::Value Reset(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "reset(callback)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!CheckOpen(env, "USBDEVFS_RESET")) return env.Undefined();
    usbdevfs_setinterface none = {0, 0};
    workers_++;
    (new IoctlWorker(info[0].As<Napi::Function>(), this, fd_, USBDEVFS_RESET, none, "USBDEVFS_RESET"))->Queue();
    return env.Undefined();
  }

  // connected(): false once usbfs reports the device gone (POLLHUP).
  Napi::Value Connected(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_ || gone_) return Napi::Boolean::New(env, false);
    struct pollfd p = {fd_, POLLOUT, 0};
    int n;
    do n = ::poll(&p, 1, 0);
    while (n < 0 && errno == EINTR);
    return Napi::Boolean::New(env, !(n > 0 && (p.revents & (POLLHUP | POLLERR))));
  }

  // control(bmRequestType, bRequest, wValue, wIndex, data: Uint8Array | null, wLength, timeoutMs,
  //         cb(err | null, result)): one control transfer as an async URB. IN (bit 7 of
  //         bmRequestType): result is a Buffer of the bytes received; OUT: the data stage is `data`
  //         and result the number of bytes sent. Throws a system error when it cannot be submitted.
  Napi::Value Control(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 8 || !info[7].IsFunction()) {
      Napi::TypeError::New(env, "control(bmRequestType, bRequest, wValue, wIndex, data, wLength, timeoutMs, callback)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!CheckOpen(env, "USBDEVFS_SUBMITURB")) return env.Undefined();
    uint32_t bmRequestType = info[0].As<Napi::Number>().Uint32Value() & 0xff;
    uint32_t bRequest = info[1].As<Napi::Number>().Uint32Value() & 0xff;
    uint32_t wValue = info[2].As<Napi::Number>().Uint32Value() & 0xffff;
    uint32_t wIndex = info[3].As<Napi::Number>().Uint32Value() & 0xffff;
    bool in = (bmRequestType & 0x80) != 0;
    const uint8_t* out = nullptr;
    size_t len;
    if (in) {
      len = info[5].As<Napi::Number>().Uint32Value();
    } else if (info[4].IsTypedArray()) {
      Napi::Uint8Array d = info[4].As<Napi::Uint8Array>();
      out = d.Data();
      len = d.ByteLength();
    } else {
      len = 0;
    }
    if (len > 0xffff) {
      Napi::Error(env, UsbError(env, "USBDEVFS_SUBMITURB", EMSGSIZE)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Transfer* t = Acquire();
    t->in = in;
    t->timedOut = false;
    t->buf.resize(8 + len);
    uint8_t* b = t->buf.data();
    b[0] = static_cast<uint8_t>(bmRequestType);
    b[1] = static_cast<uint8_t>(bRequest);
    b[2] = wValue & 0xff;
    b[3] = wValue >> 8;
    b[4] = wIndex & 0xff;
    b[5] = wIndex >> 8;
    b[6] = len & 0xff;
    b[7] = static_cast<uint8_t>(len >> 8);
    if (out && len) memcpy(b + 8, out, len);
    memset(&t->urb, 0, sizeof(t->urb));
    t->urb.type = USBDEVFS_URB_TYPE_CONTROL;
    t->urb.endpoint = 0;
    t->urb.buffer = b;
    t->urb.buffer_length = static_cast<int>(8 + len);
    t->urb.usercontext = t;
    int r;
    do r = ioctl(fd_, USBDEVFS_SUBMITURB, &t->urb);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      int err = errno;
      free_.push_back(t);
      Napi::Error(env, UsbError(env, "USBDEVFS_SUBMITURB", err)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    t->pending = true;
    t->cb = Napi::Persistent(info[7].As<Napi::Function>());
    pending_++;
    uint32_t timeoutMs = info[6].As<Napi::Number>().Uint32Value();
    if (timeoutMs > 0) uv_timer_start(&t->timer, OnTimeoutCb, timeoutMs, 0);
    if (pending_ == 1) {
      uv_poll_start(poll_, UV_WRITABLE, OnPollCb);
    }
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown(true);
    return info.Env().Undefined();
  }

  Transfer* Acquire() {
    if (!free_.empty()) {
      Transfer* t = free_.back();
      free_.pop_back();
      return t;
    }
    Transfer* t = new Transfer();
    t->owner = this;
    uv_timer_init(loop_, &t->timer);
    t->timer.data = t;
    all_.push_back(t);
    return t;
  }

  static void OnPollCb(uv_poll_t* h, int status, int events) {
    static_cast<UsbfsDevice*>(h->data)->OnPoll(status, events);
  }
  static void OnTimeoutCb(uv_timer_t* h) {
    Transfer* t = static_cast<Transfer*>(h->data);
    t->owner->OnTimeout(t);
  }

  void OnTimeout(Transfer* t) {
    if (closed_ || !t->pending) return;
    t->timedOut = true;
    // It completes with -ECONNRESET and is reaped like any other; EINVAL: it completed meanwhile.
    ioctl(fd_, USBDEVFS_DISCARDURB, &t->urb);
  }

  void OnPoll(int status, int events) {
    if (closed_) return;
    // status < 0: POLLERR (usbfs: the device left the bus); libuv stopped the handle.
    if (status < 0) gone_ = true;
    ReapAll();
  }

  void ReapAll() {
    while (!closed_ && pending_ > 0) {
      usbdevfs_urb* u = nullptr;
      int r = ioctl(fd_, USBDEVFS_REAPURBNDELAY, &u);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN && !gone_) break;
        // ENODEV: disconnected and nothing left to reap; the URBs still pending never complete.
        gone_ = true;
        FailAllPending(ENODEV);
        break;
      }
      Complete(static_cast<Transfer*>(u->usercontext));
    }
    if (!closed_ && poll_) {
      if (pending_ == 0) uv_poll_stop(poll_);
      else if (gone_) FailAllPending(ENODEV);
    }
  }

  void Complete(Transfer* t) {
    if (!t->pending) return;
    int st = -t->urb.status;
    int err = st;
    if ((st == ECONNRESET || st == ENOENT) && t->timedOut) err = ETIMEDOUT;
    else if (st == ECONNRESET || st == ENOENT || st == ESHUTDOWN) err = gone_ ? ENODEV : (st == ESHUTDOWN ? ESHUTDOWN : EIO);
    Finish(t, err, t->urb.actual_length);
  }

  // Hands the result to JS; the transfer goes back to the pool first (the callback may submit the next).
  void Finish(Transfer* t, int err, int actual) {
    t->pending = false;
    pending_--;
    uv_timer_stop(&t->timer);
    Napi::FunctionReference cb = std::move(t->cb);
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    napi_value result;
    if (err) {
      result = env.Undefined();
    } else if (t->in) {
      size_t n = actual < 0 ? 0 : static_cast<size_t>(actual);
      if (n > t->buf.size() - 8) n = t->buf.size() - 8;
      result = Napi::Buffer<uint8_t>::Copy(env, t->buf.data() + 8, n);
    } else {
      result = Napi::Number::New(env, actual);
    }
    free_.push_back(t);
    napi_value e = err ? UsbError(env, "control transfer", err) : env.Null();
    cb.MakeCallback(Value(), {e, result}, *ctx_);
    if (env.IsExceptionPending()) {
      Napi::Error ex = env.GetAndClearPendingException();
      napi_fatal_exception(env, ex.Value());
    }
  }

  void FailAllPending(int err) {
    for (size_t i = 0; i < all_.size() && pending_ > 0; i++) {
      Transfer* t = all_[i];
      if (t->pending) Finish(t, err, 0);
    }
  }

  void CloseFd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Discards what is pending (callbacks get EBADF), closes the handles and the fd (deferred while a
  // thread-pool ioctl still uses it).
  void Shutdown(bool fromJs) {
    if (closed_) return;
    if (fromJs && pending_ > 0) {
      for (Transfer* t : all_)
        if (t->pending) ioctl(fd_, USBDEVFS_DISCARDURB, &t->urb);
      closed_ = true;
      for (Transfer* t : all_)
        if (t->pending) Finish(t, EBADF, 0);
    }
    closed_ = true;
    if (poll_) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    for (Transfer* t : all_) {
      uv_timer_stop(&t->timer);
      if (!fromJs) t->cb.Reset();
      uv_close(reinterpret_cast<uv_handle_t*>(&t->timer), [](uv_handle_t* h) { delete static_cast<Transfer*>(h->data); });
    }
    all_.clear();
    free_.clear();
    if (!fromJs) {
      CloseFd();
      return;
    }
    if (workers_ > 0) return;  // WorkerDone closes the fd and drops the reference
    CloseFd();
    Unref();
  }

  int fd_ = -1;
  uv_loop_t* loop_ = nullptr;
  uv_poll_t* poll_ = nullptr;
  std::vector<Transfer*> all_;
  std::vector<Transfer*> free_;
  int pending_ = 0;
  int workers_ = 0;
  bool gone_ = false;
  bool closed_ = false;
  std::unique_ptr<Napi::AsyncContext> ctx_;
};

void IoctlWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  owner_->WorkerDone();
  Callback().Call({err_ ? UsbError(env, what_, err_) : env.Null()});
}

}  // namespace

void InitUsbfs(Napi::Env env, Napi::Object exports) { exports.Set("UsbfsDevice", UsbfsDevice::Init(env)); }
