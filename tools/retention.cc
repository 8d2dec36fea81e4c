#include "retention.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <numeric>

namespace bruce::cli {

namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::tm Utc(int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return tm;
}

int64_t HourOf(int64_t t) { return FloorDiv(t, 3600); }
int64_t DayOf(int64_t t) { return FloorDiv(t, 86400); }
// Weeks start on Monday; day 0 (1970-01-01) was a Thursday.
int64_t WeekOf(int64_t t) { return FloorDiv(DayOf(t) + 3, 7); }
int64_t MonthOf(int64_t t) {
  const std::tm tm = Utc(t);
  return int64_t{tm.tm_year} * 12 + tm.tm_mon;
}

std::optional<int64_t> FromFields(int y, int mo, int d, int h, int mi, int s) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  const int64_t t = static_cast<int64_t>(timegm(&tm));
  const std::tm back = Utc(t);
  if (back.tm_mday != d || back.tm_mon != mo - 1) return std::nullopt;  // 31 November
  return t;
}

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int Num(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

}  // namespace

std::string AutoSnapshotName(std::string_view prefix, int64_t time_s) {
  const std::tm tm = Utc(time_s);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return std::string(prefix) + buf;
}

std::optional<int64_t> ParseUtcTime(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SSZ (20) or YYYY-MM-DDTHHMMSSZ (18)
  const bool colons = t.size() == 20;
  if (t.size() != 20 && t.size() != 18) return std::nullopt;
  if (t[4] != '-' || t[7] != '-' || t[10] != 'T' || t.back() != 'Z') return std::nullopt;
  if (colons && (t[13] != ':' || t[16] != ':')) return std::nullopt;
  const std::string_view y = t.substr(0, 4), mo = t.substr(5, 2), d = t.substr(8, 2),
                         h = t.substr(11, 2), mi = t.substr(colons ? 14 : 13, 2),
                         s = t.substr(colons ? 17 : 15, 2);
  for (std::string_view f : {y, mo, d, h, mi, s}) {
    if (!AllDigits(f)) return std::nullopt;
  }
  return FromFields(Num(y), Num(mo), Num(d), Num(h), Num(mi), Num(s));
}

std::optional<int64_t> AutoSnapshotTime(std::string_view prefix, std::string_view name) {
  if (name.size() != prefix.size() + 18 || name.substr(0, prefix.size()) != prefix) {
    return std::nullopt;
  }
  return ParseUtcTime(name.substr(prefix.size()));
}

std::vector<bool> SnapshotsToKeep(const std::vector<int64_t>& times, const RetentionPolicy& p) {
  std::vector<size_t> newest_first(times.size());
  std::iota(newest_first.begin(), newest_first.end(), size_t{0});
  std::stable_sort(newest_first.begin(), newest_first.end(),
                   [&](size_t a, size_t b) { return times[a] > times[b]; });
  std::vector<bool> keep(times.size(), false);
  auto apply = [&](uint64_t n, const std::function<int64_t(int64_t)>& period) {
    bool have = false;
    int64_t last = 0;
    for (size_t i : newest_first) {
      if (n == 0) return;
      const int64_t b = period(times[i]);
      if (have && b == last) continue;  // an older one of a period already kept
      keep[i] = true;
      have = true;
      last = b;
      --n;
    }
  };
  apply(p.hourly, HourOf);
  apply(p.daily, DayOf);
  apply(p.weekly, WeekOf);
  apply(p.monthly, MonthOf);
  return keep;
}

}  // namespace bruce::cli
