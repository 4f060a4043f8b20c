// The one JSON writer (io/json): hostile strings, non-finite numbers and integers beyond
// 64 bits, each dumped and then read back by Python's json module (the real consumer).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>

#include "io/json.hpp"

namespace {

using tally::core::i128;
using tally::io::dump;
using tally::io::exact;
using tally::io::Json;

constexpr i128 kTwo64 = i128(1) << 64;
constexpr i128 kMax128 = i128((~tally::core::u128(0)) >> 1);
constexpr i128 kMin128 = -kMax128 - 1;

/// Runs `python_checks` (Python statements about `d`, the parsed document) on `text`
/// with the Python the tests use; returns its exit status and output.
std::pair<int, std::string> python_reads(const std::string& text, const std::string& python_checks) {
  const char* python = std::getenv("PYTHON");
  const auto dir = std::filesystem::temp_directory_path();
  const auto doc = dir / ("tally-json-" + std::to_string(::getpid()) + ".json");
  const auto script = dir / ("tally-json-" + std::to_string(::getpid()) + ".py");
  std::ofstream(doc, std::ios::binary) << text;
  // strict UTF-8 decoding and json's strict mode: a raw control character or an invalid
  // byte in the output fails here.
  std::ofstream(script) << "import json, sys\n"
                        << "d = json.loads(open(sys.argv[1], 'rb').read().decode('utf-8'))\n"
                        << python_checks << "\nprint('ok')\n";
  const std::string command = std::string(python ? python : "/usr/bin/python3") + " " + script.string() + " " +
                              doc.string() + " 2>&1";
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  char buffer[512];
  while (pipe && std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  const int status = pipe ? ::pclose(pipe) : -1;
  std::filesystem::remove(doc);
  std::filesystem::remove(script);
  return {status, output};
}

TEST(JsonWriter, ExactIntegersOfAnySizeAreBareNumbers) {
  EXPECT_EQ(dump(exact(0)), "0");
  EXPECT_EQ(dump(exact(-1)), "-1");
  EXPECT_EQ(dump(exact(std::numeric_limits<std::int64_t>::max())), "9223372036854775807");
  EXPECT_EQ(dump(exact(i128(std::numeric_limits<std::int64_t>::max()) + 1)), "9223372036854775808");
  EXPECT_EQ(dump(exact(i128(std::numeric_limits<std::int64_t>::min()) - 1)), "-9223372036854775809");
  EXPECT_EQ(dump(exact(kTwo64)), "18446744073709551616");
  EXPECT_EQ(dump(exact(kMax128)), "170141183460469231731687303715884105727");
  EXPECT_EQ(dump(exact(kMin128)), "-170141183460469231731687303715884105728");
}

TEST(JsonWriter, PythonReadsExactIntegersBeyond64Bits) {
  Json j;
  j["small"] = exact(42);
  j["two64_plus_1"] = exact(kTwo64 + 1);
  j["neg"] = exact(-kTwo64 * 3 - 7);
  j["max"] = exact(kMax128);
  j["min"] = exact(kMin128);
  j["nested"] = Json::array({exact(kTwo64), Json{{"deep", exact(-kTwo64)}}});
  const auto [status, output] = python_reads(dump(j), R"(
assert d["small"] == 42
assert d["two64_plus_1"] == 2**64 + 1, d["two64_plus_1"]
assert d["neg"] == -3 * 2**64 - 7
assert d["max"] == 2**127 - 1 and d["min"] == -2**127
assert d["nested"] == [2**64, {"deep": -2**64}]
assert all(type(v) is int for v in (d["max"], d["min"], d["neg"]))
assert list(d) == ["small", "two64_plus_1", "neg", "max", "min", "nested"]  # insertion order kept)");
  EXPECT_EQ(status, 0) << output;
}

TEST(JsonWriter, HostileStringsStayStringsAndInvalidUtf8BecomesReplacementCharacters) {
  Json j;
  j["quote"] = "a\"b";
  j["backslash"] = "C:\\dir\\x.h5";
  j["controls"] = std::string("tab\tnl\nnul") + '\0' + "\x01\x1f\x7f";
  j["invalid_utf8"] = "caf\xe9-\xff\xfe.h5";
  j["valid_utf8"] = "r\xc3\xa9sultats-\xe2\x9c\x93.h5";
  j["looks_like_exact"] = "\x01tally-int:123";  // the old writer's marker: must stay a string
  j["looks_like_json"] = "\"}, {\"x\": 1";
  j["\xff key \"quoted\""] = "keys are escaped too";
  const std::string text = dump(j);
  EXPECT_EQ(text.find('\n'), std::string::npos) << "one line";
  const auto [status, output] = python_reads(text, R"(
assert d["quote"] == 'a"b'
assert d["backslash"] == "C:\\dir\\x.h5"
assert d["controls"] == "tab\tnl\nnul\x00\x01\x1f\x7f", repr(d["controls"])
assert d["invalid_utf8"] == "caf\ufffd-\ufffd\ufffd.h5", repr(d["invalid_utf8"])
assert d["valid_utf8"] == "r\u00e9sultats-\u2713.h5"
assert d["looks_like_exact"] == "\x01tally-int:123", repr(d["looks_like_exact"])
assert d["looks_like_json"] == '"}, {"x": 1'
assert d["\ufffd key \"quoted\""] == "keys are escaped too", list(d))");
  EXPECT_EQ(status, 0) << output;
}

TEST(JsonWriter, NonFiniteNumbersAreNull) {
  Json j;
  j["nan"] = std::numeric_limits<double>::quiet_NaN();
  j["inf"] = std::numeric_limits<double>::infinity();
  j["minus_inf"] = -std::numeric_limits<double>::infinity();
  j["finite"] = 0.1;
  j["tiny"] = 5e-324;
  const std::string text = dump(j);
  EXPECT_EQ(text, R"({"nan":null,"inf":null,"minus_inf":null,"finite":0.1,"tiny":5e-324})");
  const auto [status, output] = python_reads(text, R"(
assert d == {"nan": None, "inf": None, "minus_inf": None, "finite": 0.1, "tiny": 5e-324}, d)");
  EXPECT_EQ(status, 0) << output;
}

TEST(JsonWriter, WithoutExactIntegersItIsNlohmannsOwnDump) {
  Json j = Json::parse(R"({"a":[1,-2,3.5,true,null,"s",{"b":{}}],"c":[],"d":18446744073709551615})");
  EXPECT_EQ(dump(j), j.dump());
}

TEST(JsonWriter, RefusesBinaryValuesItDidNotMake) {
  EXPECT_THROW((void)dump(Json::binary({1, 2, 3})), std::logic_error);
  EXPECT_THROW((void)dump(Json::binary({1, 2, 3}, 0x7a)), std::logic_error);
}

}  // namespace
