// bench/report.cc — see report.h.
#include "report.h"

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>

#include "engine.h"

namespace bench {
namespace {

std::string ProcField(const char* file, const std::string& field) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) != 0) continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t b = line.find_first_not_of(" \t", colon + 1);
    return b == std::string::npos ? "" : line.substr(b);
  }
  return "unknown";
}

std::string FsType(const std::string& dir) {
  struct statfs s;
  if (statfs(dir.c_str(), &s) != 0) return "unknown";
  switch (static_cast<unsigned long>(s.f_type)) {
    case 0xEF53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x01021994: return "tmpfs (fsync is free: durable numbers are meaningless)";
    case 0x794C7630: return "overlayfs";
    case 0x2FC12FC1: return "zfs";
    default: return Format("0x%lx", static_cast<unsigned long>(s.f_type));
  }
}

}  // namespace

Machine GetMachine(const std::string& dir) {
  Machine m;
  m.nproc = sysconf(_SC_NPROCESSORS_ONLN);
  m.cpu = ProcField("/proc/cpuinfo", "model name");
  m.mem = ProcField("/proc/meminfo", "MemTotal");
  struct utsname u;
  if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
  std::time_t now = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z", std::localtime(&now));
  m.date = buf;
  m.fs = FsType(dir);
  return m;
}

std::string Thousands(double x) {
  std::string digits = std::to_string(static_cast<uint64_t>(x + 0.5));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string Format(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char buf[512];
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return "";
  if (static_cast<size_t>(n) < sizeof buf) return std::string(buf, static_cast<size_t>(n));
  std::string s(static_cast<size_t>(n) + 1, '\0');
  va_start(ap, fmt);
  std::vsnprintf(s.data(), s.size(), fmt, ap);
  va_end(ap);
  s.resize(static_cast<size_t>(n));
  return s;
}

std::string JsonStr(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += static_cast<char>(c);
    else if (c < 0x20) o += Format("\\u%04x", c);
    else o += static_cast<char>(c);
  }
  return o + "\"";
}

uint64_t ParseU64(const char* program, const char* flag, const char* s) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 0);
  if (errno != 0 || end == s || *end != '\0') {
    std::fprintf(stderr, "%s: bad number for %s: '%s' (see --help)\n", program, flag, s);
    std::exit(2);
  }
  return v;
}

void FileSize(const std::string& path, uint64_t* bytes, uint64_t* allocated) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) throw BenchError("cannot stat " + path);
  *bytes = static_cast<uint64_t>(st.st_size);
  *allocated = static_cast<uint64_t>(st.st_blocks) * 512;
}

}  // namespace bench
