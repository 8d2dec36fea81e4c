// brucefs — mounts a bruce store as a filesystem (docs/FS.md).
//
// Opens the store (refusing one another process writes), mounts, goes to
// the background unless -f, and serves requests on several threads until
// unmounted or sent SIGTERM/SIGINT; then commits the open transaction group
// and exits. Exit status: 0 clean, 1 could not open, mount or commit,
// 2 usage error.
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "brucefs.h"
#include "control.h"
#include "fuse_ops.h"
#include "options.h"

namespace {

void SyslogLog(enum fuse_log_level level, const char* fmt, va_list ap) {
  vsyslog(static_cast<int>(level), fmt, ap);
}

std::string EscapeOptionValue(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

int Run(brucefs::MountConfig& c) {
  struct stat st;
  if (stat(c.store.c_str(), &st) != 0 && !c.create) {
    fprintf(stderr, "brucefs: %s: no such store (-o create makes one)\n", c.store.c_str());
    return 1;
  }
  if (stat(c.mountpoint.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "brucefs: %s: not a directory\n", c.mountpoint.c_str());
    return 1;
  }
  bruce::Options opts;
  opts.create_if_missing = c.create;
  opts.read_only = c.fs.read_only;
  opts.cache_bytes = c.cache_size;
  auto db = bruce::Db::Open(c.store, opts);
  if (!db.ok()) {
    if (db.status().code() == bruce::Code::kBusy) {
      fprintf(stderr,
              "brucefs: cannot mount %s: the store is in use by another process "
              "(already mounted, or open for writing in the bruce CLI)\n",
              c.store.c_str());
    } else {
      fprintf(stderr, "brucefs: cannot open %s: %s\n", c.store.c_str(),
              db.status().ToString().c_str());
    }
    return 1;
  }
  char abs[PATH_MAX];
  if (realpath(c.store.c_str(), abs) != nullptr) c.fs.store_path = abs;
  // Keys without attributes get the times of the store's last commit.
  if (stat(c.fs.store_path.c_str(), &st) == 0) {
    c.fs.default_time_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  }
  c.fs.uid = getuid();
  c.fs.gid = getgid();
  brucefs::BruceFs fs(std::move(*db), c.fs);

  std::string o = "fsname=" + EscapeOptionValue(c.fs.store_path.empty() ? c.store : c.fs.store_path) +
                  ",subtype=brucefs,default_permissions";
  if (c.allow_other) o += ",allow_other";
  if (c.fs.read_only) o += ",ro";
  for (const auto& f : c.kernel_flags) o += "," + f;
  std::string argv0 = "brucefs";
  std::vector<char*> argv = {argv0.data(), const_cast<char*>("-o"), o.data()};
  if (c.debug) argv.push_back(const_cast<char*>("-d"));
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_session* se =
      fuse_session_new(&args, brucefs::Operations(), sizeof(fuse_lowlevel_ops), &fs);
  if (se == nullptr) {
    fprintf(stderr, "brucefs: cannot start a FUSE session\n");
    fuse_opt_free_args(&args);
    return 1;
  }
  if (fuse_set_signal_handlers(se) != 0 || fuse_session_mount(se, c.mountpoint.c_str()) != 0) {
    fprintf(stderr, "brucefs: cannot mount on %s\n", c.mountpoint.c_str());
    fuse_session_destroy(se);
    fuse_opt_free_args(&args);
    return 1;
  }
  if (fuse_daemonize(c.foreground ? 1 : 0) != 0) {
    fuse_session_unmount(se);
    fuse_session_destroy(se);
    fuse_opt_free_args(&args);
    return 1;
  }
  if (!c.foreground) {
    openlog("brucefs", LOG_PID, LOG_DAEMON);
    fuse_set_log_func(SyslogLog);
  }
  // Threads start only now, after fuse_daemonize's fork.
  bruce::Status s = fs.Start();
  // The bruce CLI's writes to the store come through the control socket.
  char mnt[PATH_MAX];
  brucefs::ControlServer control(
      &fs, se, realpath(c.mountpoint.c_str(), mnt) != nullptr ? mnt : c.mountpoint, getuid());
  if (s.ok() && !c.fs.read_only) {
    bruce::Status cs = control.Start();
    if (!cs.ok()) {
      fuse_log(FUSE_LOG_WARNING, "brucefs: no control socket (the bruce CLI cannot write "
               "the mounted store): %s\n", cs.ToString().c_str());
    }
  }
  int ret = 0;
  if (!s.ok()) {
    fuse_log(FUSE_LOG_ERR, "brucefs: %s\n", s.ToString().c_str());
    ret = 1;
  } else {
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, 16);
    int r = fuse_session_loop_mt(se, cfg);
    // A loop ended by SIGTERM/SIGINT/SIGHUP returns the signal: a clean exit.
    ret = (r == 0 || r == SIGTERM || r == SIGINT || r == SIGHUP) ? 0 : 1;
    fuse_loop_cfg_destroy(cfg);
  }
  control.Stop();
  // Commit before the mount goes away, so whoever waits for the unmount
  // (a signal's sender) finds the store at its final state.
  s = fs.Shutdown();
  if (!s.ok()) ret = 1;
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  fuse_opt_free_args(&args);  // fuse_session_new may have added to them
  return ret;
}

}  // namespace

int main(int argc, char** argv) {
  brucefs::MountConfig c;
  std::string err = brucefs::ParseCommandLine(argc, argv, &c);
  if (!err.empty()) {
    fprintf(stderr, "brucefs: %s\n%s", err.c_str(), brucefs::kUsage);
    return 2;
  }
  if (c.help) {
    fputs(brucefs::kUsage, stdout);
    return 0;
  }
  if (c.version) {
    printf("brucefs 0.1.0 (libfuse %s)\n", fuse_pkgversion());
    return 0;
  }
  return Run(c);
}
