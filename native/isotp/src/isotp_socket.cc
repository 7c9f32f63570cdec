// sensor-proxy kernel ISO-TP addon: Linux CAN_ISOTP sockets (include/uapi/linux/can/isotp.h,
// net/can/isotp.c; reference/bus-protocols.md §1.2) for Node through N-API.
//
// One socket per ISO-TP connection (tx id, rx id). The socket is non-blocking and watched by one
// uv_poll on the Node event loop: no thread per socket, no busy polling.
//  - receive: POLLIN -> recv() until EAGAIN -> onMessage(Buffer) per complete PDU;
//  - send: write() the whole PDU (the kernel segments it, paces CFs with STmin and handles flow
//    control), then wait for POLLOUT: since Linux 6.1.y ("fix poll() to not report false EPOLLOUT
//    events") the socket turns writable only when the tx state machine is idle again, so the send
//    callback fires when the PDU is on the bus, with SO_ERROR checked (ECOMM = no flow control);
//  - trySend: write() the PDU and return at once (request/response: the answer proves it went out);
//    its tx errors then reach onError; txBusy() polls (timeout 0) whether it is still going out;
//  - CAN_ISOTP_WAIT_TX_DONE: the kernel then blocks write() until the PDU is out even on a
//    non-blocking socket, so that write runs on the libuv thread pool (one short job per PDU);
//  - errors the kernel reports asynchronously (sk_err: ETIMEDOUT, EILSEQ, EBADMSG, ECOMM, ENETDOWN)
//    arrive as POLLERR, are read with SO_ERROR and handed to the send in flight (tx errors) or to
//    onError (rx and link errors).
#include <napi.h>
#include <uv.h>

#include <errno.h>
#include <linux/can.h>
#include <linux/can/isotp.h>
#include <net/if.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "usbfs_device.h"

namespace {

const char* ErrnoName(int e) {
  switch (e) {
#define SP_E(x) \
  case x:       \
    return #x;
    SP_E(ECOMM)
    SP_E(ETIMEDOUT)
    SP_E(EILSEQ)
    SP_E(EBADMSG)
    SP_E(EMSGSIZE)
    SP_E(ENETDOWN)
    SP_E(ENODEV)
    SP_E(ENXIO)
    SP_E(ENOBUFS)
    SP_E(EAGAIN)
    SP_E(EINVAL)
    SP_E(EPROTONOSUPPORT)
    SP_E(EAFNOSUPPORT)
    SP_E(EADDRNOTAVAIL)
    SP_E(EADDRINUSE)
    SP_E(EPERM)
    SP_E(EACCES)
    SP_E(EBADF)
    SP_E(EINTR)
    SP_E(ENOMEM)
    SP_E(EOPNOTSUPP)
    SP_E(ENOPROTOOPT)
    SP_E(ENETUNREACH)
    SP_E(EHOSTDOWN)
    SP_E(EBUSY)
#undef SP_E
    default:
      return nullptr;
  }
}

// An Error with code (errno name), errno and syscall, like Node's own system errors.
Napi::Value MakeError(Napi::Env env, const std::string& syscall, int err) {
  const char* name = ErrnoName(err);
  std::string code = name ? name : "E" + std::to_string(err);
  Napi::Error e = Napi::Error::New(env, syscall + ": " + strerror(err) + " (" + code + ")");
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e.Value();
}

uint32_t U32(const Napi::Object& o, const char* key, uint32_t dflt) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : dflt;
}

int SockError(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
  return err;
}

class IsoTpSocket;

// CAN_ISOTP_WAIT_TX_DONE: write() blocks until the PDU is transmitted, so it runs off the loop thread.
class TxWorker : public Napi::AsyncWorker {
 public:
  TxWorker(Napi::Env env, IsoTpSocket* owner, int fd, std::vector<uint8_t> data)
      : Napi::AsyncWorker(env, "sp_isotp.send"), owner_(owner), fd_(fd), data_(std::move(data)) {}
  void Execute() override {
    for (;;) {
      ssize_t n = ::send(fd_, data_.data(), data_.size(), 0);
      if (n >= 0) return;
      if (errno == EINTR) continue;
      err_ = errno;
      return;
    }
  }
  void OnOK() override;

 private:
  IsoTpSocket* owner_;
  int fd_;
  std::vector<uint8_t> data_;
  int err_ = 0;
};

class IsoTpSocket : public Napi::ObjectWrap<IsoTpSocket> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "IsoTpSocket",
                       {InstanceMethod("send", &IsoTpSocket::Send), InstanceMethod("trySend", &IsoTpSocket::TrySend),
                        InstanceMethod("txBusy", &IsoTpSocket::TxBusy),
                        InstanceMethod("close", &IsoTpSocket::Close)});
  }

  // new IsoTpSocket(options, onMessage(Buffer), onError(Error)); throws a system error on failure.
  IsoTpSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IsoTpSocket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsFunction() || !info[2].IsFunction()) {
      Napi::TypeError::New(env, "IsoTpSocket(options, onMessage, onError)").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    Napi::Value ifaceV = o.Get("iface");
    if (!ifaceV.IsString()) {
      Napi::TypeError::New(env, "options.iface must be a string").ThrowAsJavaScriptException();
      return;
    }
    std::string iface = ifaceV.As<Napi::String>().Utf8Value();
    bool extended = o.Get("extended").ToBoolean().Value();
    uint32_t idFlag = extended ? CAN_EFF_FLAG : 0;
    uint32_t txId = U32(o, "txId", 0) | idFlag;
    uint32_t rxId = U32(o, "rxId", 0) | idFlag;

    struct can_isotp_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.flags = U32(o, "flags", 0);
    // 0 would mean "keep the kernel default" (50 us N_As per CF); the caller passes the kernel's
    // CAN_ISOTP_FRAME_TXTIME_ZERO for back-to-back frames.
    opts.frame_txtime = U32(o, "frameTxTimeNs", 0);
    opts.ext_address = static_cast<uint8_t>(U32(o, "extAddress", 0));
    opts.rx_ext_address = static_cast<uint8_t>(U32(o, "rxExtAddress", 0));
    opts.txpad_content = static_cast<uint8_t>(U32(o, "txPadContent", CAN_ISOTP_DEFAULT_PAD_CONTENT));
    opts.rxpad_content = static_cast<uint8_t>(U32(o, "rxPadContent", CAN_ISOTP_DEFAULT_PAD_CONTENT));
    waitTxDone_ = (opts.flags & CAN_ISOTP_WAIT_TX_DONE) != 0;

    struct can_isotp_fc_options fc;
    memset(&fc, 0, sizeof(fc));
    fc.bs = static_cast<uint8_t>(U32(o, "fcBs", 0));
    fc.stmin = static_cast<uint8_t>(U32(o, "fcStmin", 0));
    fc.wftmax = static_cast<uint8_t>(U32(o, "fcWftmax", 0));

    rxBuf_.resize(U32(o, "rxBufferSize", 66000));

    int fd = socket(PF_CAN, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_ISOTP);
    if (fd < 0) {
      Napi::Error(env, MakeError(env, "socket(PF_CAN, SOCK_DGRAM, CAN_ISOTP)", errno)).ThrowAsJavaScriptException();
      return;
    }
    auto fail = [&](const std::string& what, int err) {
      ::close(fd);
      Napi::Error(env, MakeError(env, what, err)).ThrowAsJavaScriptException();
    };
    if (setsockopt(fd, SOL_CAN_ISOTP, CAN_ISOTP_OPTS, &opts, sizeof(opts)) < 0)
      { fail("setsockopt(CAN_ISOTP_OPTS)", errno); return; }
    if (setsockopt(fd, SOL_CAN_ISOTP, CAN_ISOTP_RECV_FC, &fc, sizeof(fc)) < 0)
      { fail("setsockopt(CAN_ISOTP_RECV_FC)", errno); return; }
    if (o.Get("txStminNs").IsNumber()) {
      uint32_t stmin = U32(o, "txStminNs", 0);
      if (setsockopt(fd, SOL_CAN_ISOTP, CAN_ISOTP_TX_STMIN, &stmin, sizeof(stmin)) < 0)
        { fail("setsockopt(CAN_ISOTP_TX_STMIN)", errno); return; }
    }
    if (o.Get("llMtu").IsNumber()) {
      struct can_isotp_ll_options ll;
      memset(&ll, 0, sizeof(ll));
      ll.mtu = static_cast<uint8_t>(U32(o, "llMtu", CAN_MTU));
      ll.tx_dl = static_cast<uint8_t>(U32(o, "llTxDl", CAN_MAX_DLEN));
      ll.tx_flags = static_cast<uint8_t>(U32(o, "llTxFlags", 0));
      if (setsockopt(fd, SOL_CAN_ISOTP, CAN_ISOTP_LL_OPTS, &ll, sizeof(ll)) < 0)
        { fail("setsockopt(CAN_ISOTP_LL_OPTS)", errno); return; }
    }
    unsigned int ifindex = if_nametoindex(iface.c_str());
    if (ifindex == 0) { fail("if_nametoindex", ENODEV); return; }
    struct sockaddr_can addr;
    memset(&addr, 0, sizeof(addr));
    addr.can_family = AF_CAN;
    addr.can_ifindex = static_cast<int>(ifindex);
    addr.can_addr.tp.tx_id = txId;
    addr.can_addr.tp.rx_id = rxId;
    if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) < 0) { fail("bind", errno); return; }

    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    if (uv_poll_init_socket(loop, poll_, fd) != 0) {
      delete poll_;
      poll_ = nullptr;
      { fail("uv_poll_init_socket", EBADF); return; }
    }
    poll_->data = this;
    retry_ = new uv_timer_t;
    uv_timer_init(loop, retry_);
    retry_->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(retry_));
    fd_ = fd;
    onMessage_ = Napi::Persistent(info[1].As<Napi::Function>());
    onError_ = Napi::Persistent(info[2].As<Napi::Function>());
    ctx_ = std::make_unique<Napi::AsyncContext>(env, "sp_isotp");
    Ref();  // alive while open: the poll handle points at us
    UpdatePoll();
  }

  ~IsoTpSocket() override { Shutdown(false); }

  void WorkerDone(int err) {
    workerBusy_ = false;
    if (closed_) {
      CloseFd();
      Unref();
      return;
    }
    // The kernel leaves sk_err set after returning it from a WAIT_TX_DONE write: drop that echo once.
    workerErrEcho_ = err;
    FinishSend(err, "write");
    pollMask_ = -1;
    UpdatePoll();
  }

 private:
  // send(data: Buffer, callback(err | null)): one PDU; callback once it is transmitted or failed.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsFunction()) {
      Napi::TypeError::New(env, "send(buffer, callback)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (closed_) {
      Napi::Error(env, MakeError(env, "send", EBADF)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (sending_) {
      Napi::Error(env, MakeError(env, "send", EBUSY)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Buffer<uint8_t> buf = info[0].As<Napi::Buffer<uint8_t>>();
    txBuf_.assign(buf.Data(), buf.Data() + buf.Length());
    sendCb_ = Napi::Persistent(info[1].As<Napi::Function>());
    sending_ = true;
    uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    if (waitTxDone_) {
      workerBusy_ = true;
      (new TxWorker(env, this, fd_, txBuf_))->Queue();
      return env.Undefined();
    }
    TryWrite();
    return env.Undefined();
  }

  // trySend(data: Uint8Array): boolean. Writes one PDU now and does not wait for its transmission:
  // the request/response fast path (the answer proves the request went out, as for a tester doing a
  // blocking send() then recv()), with no poll for POLLOUT and no event-loop wake-up for tx done.
  // Errors of that transmission (ECOMM: no flow control, EMSGSIZE: FC.OVFLW) come later through
  // onError. false when it cannot be written now without blocking: a send() or WAIT_TX_DONE write is in
  // flight, WAIT_TX_DONE is set, or the previous PDU is still going out (EAGAIN); use send() then.
  // Throws a system error for anything else (ENETDOWN, ...).
  Napi::Value TrySend(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      Napi::TypeError::New(env, "trySend(uint8array)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (closed_) {
      Napi::Error(env, MakeError(env, "send", EBADF)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (sending_ || workerBusy_ || waitTxDone_) return Napi::Boolean::New(env, false);
    Napi::Uint8Array data = info[0].As<Napi::Uint8Array>();
    ssize_t n;
    do n = ::send(fd_, data.Data(), data.ByteLength(), MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n >= 0) return Napi::Boolean::New(env, true);
    if (errno == EAGAIN) return Napi::Boolean::New(env, false);
    Napi::Error(env, MakeError(env, "write", errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  // txBusy(): boolean. True while a PDU is still being transmitted: poll() without POLLOUT (the socket
  // turns writable when the tx state machine is idle, Linux 6.1.y and later; earlier kernels report
  // POLLOUT at once, so this is false there). Lets exchange() count P2 from the end of the request.
  Napi::Value TxBusy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_ || fd_ < 0) return Napi::Boolean::New(env, false);
    if (sending_) return Napi::Boolean::New(env, true);
    struct pollfd p = {fd_, POLLOUT, 0};
    int n;
    do n = ::poll(&p, 1, 0);
    while (n < 0 && errno == EINTR);
    return Napi::Boolean::New(env, n == 0 || (n > 0 && (p.revents & POLLOUT) == 0));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown(true);
    return info.Env().Undefined();
  }

  static void OnPollCb(uv_poll_t* h, int status, int events) {
    static_cast<IsoTpSocket*>(h->data)->OnPoll(status, events);
  }
  static void OnRetryCb(uv_timer_t* t) { static_cast<IsoTpSocket*>(t->data)->TryWrite(); }

  void TryWrite() {
    if (closed_ || !sending_) return;
    ssize_t n;
    do n = ::send(fd_, txBuf_.data(), txBuf_.size(), MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n >= 0) {
      written_ = true;  // done when the socket turns writable (tx idle) again
      UpdatePoll();
      return;
    }
    if (errno == EAGAIN) {
      // The previous PDU is still going out (kernels before the poll() fix report POLLOUT early).
      uv_timer_start(retry_, OnRetryCb, 1, 0);
      return;
    }
    FinishSend(errno, "write");
  }

  void OnPoll(int status, int events) {
    if (closed_) return;
    if (status < 0) {
      // POLLERR: libuv stopped the handle. The pending socket error is read (and cleared) with SO_ERROR,
      // except while a WAIT_TX_DONE write is in flight: that write returns it, and the poll restarts after.
      pollMask_ = -1;
      if (workerBusy_) return;
      int err = SockError(fd_);
      if (err != 0) Dispatch(err, "poll");
      UpdatePoll();
      return;
    }
    if (events & UV_READABLE) ReadAll();
    if (closed_) return;
    if ((events & UV_WRITABLE) && sending_ && written_) {
      written_ = false;
      int err = SockError(fd_);
      if (err != 0) Dispatch(err, "write");
      if (closed_) return;
      if (sending_) FinishSend(0, "write");
    }
    UpdatePoll();
  }

  void ReadAll() {
    for (int i = 0; i < 64 && !closed_; i++) {
      ssize_t n = recv(fd_, rxBuf_.data(), rxBuf_.size(), MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0) {
        if (errno == EAGAIN) return;
        if (errno == EINTR) continue;
        if (workerBusy_ && (errno == ECOMM || errno == EMSGSIZE)) {
          // This error belongs to the WAIT_TX_DONE write in flight, which reports it itself.
          continue;
        }
        Dispatch(errno, "recv");
        continue;
      }
      Napi::Env env = Env();
      Napi::HandleScope scope(env);
      if (static_cast<size_t>(n) > rxBuf_.size()) {
        CallJs(onError_, {MakeError(env, "recv: PDU larger than rxBufferSize", EMSGSIZE)});
        continue;
      }
      CallJs(onMessage_, {Napi::Buffer<uint8_t>::Copy(env, rxBuf_.data(), static_cast<size_t>(n))});
    }
  }

  // Tx errors go to the send in flight; rx errors, link errors and errors with no send go to onError.
  void Dispatch(int err, const char* syscall) {
    if (waitTxDone_ && err == workerErrEcho_) {
      workerErrEcho_ = 0;
      return;
    }
    bool txErr = err == ECOMM || err == EMSGSIZE || err == ENOBUFS || (err == EBADMSG && sending_);
    bool linkErr = err == ENETDOWN || err == ENODEV || err == ENXIO || err == EADDRNOTAVAIL;
    if (sending_ && !waitTxDone_ && (txErr || linkErr)) {
      FinishSend(err, syscall);
      if (!linkErr || closed_) return;
    }
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    CallJs(onError_, {MakeError(env, syscall, err)});
  }

  void FinishSend(int err, const char* syscall) {
    if (!sending_) return;
    sending_ = false;
    written_ = false;
    uv_timer_stop(retry_);
    if (poll_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    Napi::FunctionReference cb = std::move(sendCb_);
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    CallJs(cb, {err ? MakeError(env, syscall, err) : env.Null()});
  }

  void CallJs(Napi::FunctionReference& fn, std::initializer_list<napi_value> args) {
    if (fn.IsEmpty()) return;
    Napi::Env env = Env();
    fn.MakeCallback(Value(), args, *ctx_);
    if (env.IsExceptionPending()) {
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
    }
  }

  void UpdatePoll() {
    if (closed_ || !poll_) return;
    int mask = UV_READABLE | ((sending_ && written_) ? UV_WRITABLE : 0);
    if (mask == pollMask_) return;
    pollMask_ = mask;
    uv_poll_start(poll_, mask, OnPollCb);
  }

  void CloseFd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Stops polling and closes the socket (deferred while a WAIT_TX_DONE write still uses the fd).
  void Shutdown(bool fromJs) {
    if (closed_) return;
    closed_ = true;
    if (poll_) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (retry_) {
      uv_timer_stop(retry_);
      uv_close(reinterpret_cast<uv_handle_t*>(retry_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
      retry_ = nullptr;
    }
    if (!fromJs) {
      CloseFd();
      return;
    }
    if (sending_ && !workerBusy_) {
      sending_ = false;
      Napi::FunctionReference cb = std::move(sendCb_);
      Napi::Env env = Env();
      Napi::HandleScope scope(env);
      CallJs(cb, {MakeError(env, "close", EBADF)});
    }
    if (workerBusy_) return;  // WorkerDone closes the fd and drops the reference
    CloseFd();
    Unref();
  }

  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  uv_timer_t* retry_ = nullptr;
  int pollMask_ = -1;
  Napi::FunctionReference onMessage_;
  Napi::FunctionReference onError_;
  Napi::FunctionReference sendCb_;
  std::unique_ptr<Napi::AsyncContext> ctx_;
  std::vector<uint8_t> rxBuf_;
  std::vector<uint8_t> txBuf_;
  bool sending_ = false;
  bool written_ = false;
  bool waitTxDone_ = false;
  bool workerBusy_ = false;
  int workerErrEcho_ = 0;
  bool closed_ = false;
};

void TxWorker::OnOK() { owner_->WorkerDone(err_); }

// probe(): null when this kernel opens CAN_ISOTP sockets (the module is loaded, or is loaded on
// demand by this call through the kernel's request_module("can-proto-6")), else the errno name.
Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = socket(PF_CAN, SOCK_DGRAM | SOCK_CLOEXEC, CAN_ISOTP);
  if (fd < 0) return MakeError(env, "socket(PF_CAN, SOCK_DGRAM, CAN_ISOTP)", errno);
  ::close(fd);
  return env.Null();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("IsoTpSocket", IsoTpSocket::Init(env));
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  Napi::Object c = Napi::Object::New(env);
  // Flag values from the uapi header this addon was built against (linux-libc-dev).
  c.Set("CAN_ISOTP_LISTEN_MODE", CAN_ISOTP_LISTEN_MODE);
  c.Set("CAN_ISOTP_EXTEND_ADDR", CAN_ISOTP_EXTEND_ADDR);
  c.Set("CAN_ISOTP_TX_PADDING", CAN_ISOTP_TX_PADDING);
  c.Set("CAN_ISOTP_RX_PADDING", CAN_ISOTP_RX_PADDING);
  c.Set("CAN_ISOTP_CHK_PAD_LEN", CAN_ISOTP_CHK_PAD_LEN);
  c.Set("CAN_ISOTP_CHK_PAD_DATA", CAN_ISOTP_CHK_PAD_DATA);
  c.Set("CAN_ISOTP_HALF_DUPLEX", CAN_ISOTP_HALF_DUPLEX);
  c.Set("CAN_ISOTP_FORCE_TXSTMIN", CAN_ISOTP_FORCE_TXSTMIN);
  c.Set("CAN_ISOTP_FORCE_RXSTMIN", CAN_ISOTP_FORCE_RXSTMIN);
  c.Set("CAN_ISOTP_RX_EXT_ADDR", CAN_ISOTP_RX_EXT_ADDR);
  c.Set("CAN_ISOTP_WAIT_TX_DONE", CAN_ISOTP_WAIT_TX_DONE);
  c.Set("CAN_ISOTP_SF_BROADCAST", CAN_ISOTP_SF_BROADCAST);
  c.Set("CAN_ISOTP_FRAME_TXTIME_ZERO", static_cast<double>(CAN_ISOTP_FRAME_TXTIME_ZERO));
  c.Set("CAN_MTU", static_cast<double>(CAN_MTU));
  c.Set("CANFD_MTU", static_cast<double>(CANFD_MTU));
  c.Set("CANFD_BRS", CANFD_BRS);
  exports.Set("constants", c);
  InitUsbfs(env, exports);  // the usbfs fast path of the USB DFU host (usbfs_device.cc)
  return exports;
}

}  // namespace

NODE_API_MODULE(sp_isotp, Init)
