// Every file of the malformed corpus (tests/data/bad, made by make-bad-corpus.py) is rejected
// with an InputError that says what was wrong, from a file and from a pipe, by every reader.
#include <gtest/gtest.h>

#include <fstream>

#include "checkpoint.h"
#include "error.h"
#include "stream.h"
#include "test_util.h"

namespace t2i {
namespace {

struct Case {
  std::string file, kind, fragment;
};

std::vector<Case> corpus() {
  std::vector<Case> cases;
  std::ifstream in(std::string(T2I_TEST_DATA) + "/bad/EXPECTED.tsv");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
    cases.push_back({line.substr(0, t1), line.substr(t1 + 1, t2 - t1 - 1), line.substr(t2 + 1)});
  }
  return cases;
}

std::string path_of(const Case& c) { return std::string(T2I_TEST_DATA) + "/bad/" + c.file; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

void read_all(StreamReader& reader) {
  Record r;
  while (reader.next(&r)) {
  }
}

TEST(BadCorpus, IsPresent) { EXPECT_GE(corpus().size(), 30u); }

TEST(BadCorpus, EveryStreamIsRejected) {
  for (const Case& c : corpus()) {
    if (c.kind != "stream") continue;
    const std::string bytes = read_file(path_of(c));
    std::string from_file = error_of([&] {
      StreamReader reader(path_of(c));
      read_all(reader);
    });
    EXPECT_NE(from_file.find(c.fragment), std::string::npos) << c.file << ": " << from_file;
    EXPECT_EQ(from_file.rfind(path_of(c) + ": offset ", 0), 0u) << from_file;
    EXPECT_EQ(from_file.find('\n'), std::string::npos) << "one line: " << from_file;

    std::string from_pipe = error_of([&] {
      StreamReader reader(test::memory_stream(bytes));
      read_all(reader);
    });
    EXPECT_NE(from_pipe, "(no InputError)") << c.file;
    std::string keyed = error_of([&] { KeyedReader k(path_of(c)); });
    EXPECT_NE(keyed.find(c.fragment), std::string::npos) << c.file << ": " << keyed;
    std::string keyed_pipe = error_of([&] { KeyedReader k(test::memory_stream(bytes)); });
    EXPECT_NE(keyed_pipe, "(no InputError)") << c.file;
  }
}

TEST(BadCorpus, DuplicateKeysFailOnlyWhereAJoinNeedsUniqueKeys) {
  for (const Case& c : corpus()) {
    if (c.kind != "join") continue;
    StreamReader reader(path_of(c));
    EXPECT_NO_THROW(read_all(reader)) << c.file;
    std::string keyed = error_of([&] { KeyedReader k(path_of(c)); });
    EXPECT_NE(keyed.find(c.fragment), std::string::npos) << c.file << ": " << keyed;
  }
}

TEST(BadCorpus, EveryCheckpointIsRejected) {
  for (const Case& c : corpus()) {
    if (c.kind != "checkpoint") continue;
    std::string what = error_of([&] { Checkpoint::load(path_of(c)); });
    EXPECT_NE(what.find(c.fragment), std::string::npos) << c.file << ": " << what;
    EXPECT_EQ(what.rfind(path_of(c) + ": ", 0), 0u) << what;
  }
}

}  // namespace
}  // namespace t2i
