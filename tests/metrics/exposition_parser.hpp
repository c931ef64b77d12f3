// A strict reader of the text exposition format 0.0.4, as the tests see it: every line
// is a # HELP, a # TYPE or a sample of the family the last # TYPE named, and every
// sample parses. Problems are collected as text so a test shows all of them.
#pragma once

#include <cstdlib>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace bft::metrics::test {

struct Exposition {
  std::map<std::string, double> samples;  // "name{labels}" (as written) -> value
  std::map<std::string, std::string> types;  // family name -> counter | gauge | histogram
  std::vector<std::string> problems;
};

inline bool parse_value(const std::string& text, double& value) {
  if (text == "+Inf" || text == "-Inf" || text == "NaN") {
    value = std::strtod(text.c_str(), nullptr);
    return true;
  }
  static const std::regex number(R"([-+]?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?|[-+]?\.[0-9]+([eE][-+]?[0-9]+)?)");
  if (!std::regex_match(text, number)) return false;
  value = std::strtod(text.c_str(), nullptr);
  return true;
}

inline Exposition parse_exposition(const std::string& text) {
  static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) ((?:[^\\\n]|\\\\|\\n)*))");
  static const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
  static const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*")"
      R"((?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*")*\})? (\S+))");
  Exposition result;
  if (!text.empty() && text.back() != '\n') result.problems.push_back("the text does not end with a newline");
  std::istringstream lines(text);
  std::string family;
  std::string family_type;
  std::string help_for;
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (std::regex_match(line, match, help)) {
      help_for = match[1];
    } else if (std::regex_match(line, match, type)) {
      family = match[1];
      family_type = match[2];
      if (help_for != family) result.problems.push_back("no # HELP right before: " + line);
      if (!result.types.emplace(family, family_type).second) result.problems.push_back("type given twice: " + line);
      if (family_type == "counter" && !family.ends_with("_total"))
        result.problems.push_back("counter not named *_total: " + line);
    } else if (std::regex_match(line, match, sample)) {
      const std::string name = match[1];
      const bool own = name == family || (family_type == "histogram" &&
                                          (name == family + "_bucket" || name == family + "_sum" ||
                                           name == family + "_count"));
      if (!own) result.problems.push_back("sample outside its family's # TYPE: " + line);
      double value = 0;
      if (!parse_value(match[3], value)) result.problems.push_back("value does not parse: " + line);
      if (!result.samples.emplace(name + std::string(match[2]), value).second)
        result.problems.push_back("series given twice: " + line);
    } else {
      result.problems.push_back("malformed line: " + line);
    }
  }
  return result;
}

}  // namespace bft::metrics::test
