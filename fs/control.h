// fs/control.h — brucefs's control socket: the bruce CLI's way into a
// mounted store (docs/FS.md "The control socket").
//
// The daemon of a read-write mount listens on an abstract Unix socket named
// "brucefs-ctl-" and 16 random hex digits, published in the store's lock
// file. One thread serves one connection at a time: it checks the peer's
// credentials (SO_PEERCRED: the mounting user and root only), reads one
// request, runs it (BruceFs::Control), tells the kernel to forget what the
// request changed, and sends the reply.
//
// Thread safety: Start and Stop from one thread; the server thread calls
// BruceFs, which is thread-safe.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <sys/types.h>

#include <string>
#include <thread>

#include "brucefs.h"

namespace brucefs {

class ControlServer {
 public:
  // `se` gets the kernel cache invalidations; `owner` is the mounting user.
  ControlServer(BruceFs* fs, fuse_session* se, std::string mountpoint, uid_t owner);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds the socket, publishes it and starts serving.
  bruce::Status Start();
  // Tells the server thread to stop taking requests, without waiting: a
  // request under way may be waiting on the kernel, which only the unmount
  // releases once the session loop has ended.
  void RequestStop();
  // Stops serving and waits for the thread (after the unmount); idempotent.
  void Stop();

 private:
  void Loop();
  void Serve(int fd);
  void Invalidate(const BruceFs::Invalidations& inval);

  BruceFs* fs_;
  fuse_session* se_;
  std::string mountpoint_;
  uid_t owner_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // a pipe: RequestStop writes to end the loop
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace brucefs
