#include "command.h"

#include <algorithm>

namespace bruce::cli {

bool Invocation::Has(const std::string& flag) const {
  return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

const std::string* Invocation::Value(const std::string& option) const {
  auto it = values.find(option);
  return it == values.end() ? nullptr : &it->second;
}

namespace {

bool Contains(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

}  // namespace

bool ParseInvocation(const CommandSpec& spec, const std::vector<std::string>& words,
                     Invocation* inv, bool* help, std::string* error) {
  inv->spec = &spec;
  *help = false;
  bool options_done = false;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (options_done || w.size() < 2 || w[0] != '-') {
      inv->args.push_back(w);
      continue;
    }
    if (w == "--") {
      options_done = true;
      continue;
    }
    if (w == "-h" || w == "--help") {
      *help = true;
      continue;
    }
    const size_t eq = w.find('=');
    const std::string name = w.substr(0, eq);
    if (Contains(spec.value_options, name)) {
      if (eq != std::string::npos) {
        inv->values[name] = w.substr(eq + 1);
      } else if (i + 1 < words.size()) {
        inv->values[name] = words[++i];
      } else {
        *error = "option " + name + " needs a value";
        return false;
      }
    } else if (Contains(spec.flag_options, name)) {
      if (eq != std::string::npos) {
        *error = "option " + name + " takes no value";
        return false;
      }
      if (!inv->Has(name)) inv->flags.push_back(name);
    } else {
      *error = "unknown option " + name + " (use -- before an argument that starts with -)";
      return false;
    }
  }
  if (*help) return true;
  const int n = static_cast<int>(inv->args.size());
  if (n < spec.min_args) {
    *error = "missing arguments";
    return false;
  }
  if (n > spec.max_args) {
    *error = "too many arguments";
    return false;
  }
  return true;
}

std::string UsageLine(const CommandSpec& spec) {
  std::string line = "bruce ";
  line += spec.name;
  if (spec.synopsis[0] != '\0') {
    line += ' ';
    line += spec.synopsis;
  }
  return line;
}

}  // namespace bruce::cli
