// bench/report.h — what both benchmark programs print around their numbers:
// the machine, number formatting, JSON strings, command-line numbers.
#pragma once

#include <cstdint>
#include <string>

namespace bench {

// Facts about the machine and the directory the stores live in, printed with
// every run so that numbers are never read without their context.
struct Machine {
  long nproc = 0;
  std::string cpu = "unknown", mem = "unknown", kernel = "unknown", date, fs = "unknown";
};
Machine GetMachine(const std::string& dir);

// 1234567.8 -> "1,234,568".
std::string Thousands(double x);
// printf into a std::string.
std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// A JSON string literal, quoted and escaped.
std::string JsonStr(const std::string& s);
// Parses an unsigned number (decimal, 0x hex); prints the usage error and
// exits with status 2 when s is not one.
uint64_t ParseU64(const char* program, const char* flag, const char* s);
// st_size and st_blocks * 512 of a file; throws BenchError when it cannot stat.
void FileSize(const std::string& path, uint64_t* bytes, uint64_t* allocated);

}  // namespace bench
