// tensor-select: keep the records of a stream whose keys are listed, or match a pattern.
#include <fmt/format.h>
#include <fnmatch.h>

#include <random>
#include <regex>
#include <unordered_set>

#include "cli.h"
#include "error.h"
#include "file.h"
#include "log.h"
#include "stream.h"

namespace {

using namespace t2i;

// Keys from a file: the first whitespace-separated field of each line, so a key list, a
// captions TSV ("key<TAB>caption") or tensor-info --keys output all serve. Blank lines and
// lines starting with '#' are skipped.
std::vector<std::string> read_keys(const std::string& path) {
  std::vector<std::string> keys;
  for (const std::string& line : read_lines(path)) {
    std::size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line[b] == '#') continue;
    keys.push_back(line.substr(b, line.find_first_of(" \t", b) - b));
  }
  return keys;
}

}  // namespace

int main(int argc, char** argv) {
  t2i::Cli cli({
      .name = "tensor-select",
      .purpose = "keep the records of a tensor stream whose keys are listed in a file or match a pattern",
      .usage = "tensor-select [options] < <stream-in> > <stream-out>",
      .example = "tensor-select --keys test-images.txt < images.t2i > test.t2i\n"
                 "tensor-select --match '017.*' --parent < emb.t2i | generate -m gan.st | montage > cardinals.png",
      .see_also = "tensor-info(1), t2i-stream(5)",
  });
  std::string in_path = "-", out_path = "-", keys_file;
  std::vector<std::string> globs, regexes;
  bool invert = false, parent = false, require_all = false, reorder = false;
  std::int64_t head = -1, sample = -1;
  std::uint64_t seed = 1;
  cli.options().add_options()
      ("input,i", po::value(&in_path)->default_value(in_path), "input stream ('-': stdin)")
      ("output,o", po::value(&out_path)->default_value(out_path), "output stream ('-': stdout)")
      ("keys", po::value(&keys_file), "keep keys listed in this file (first field of each line)")
      ("match", po::value(&globs)->composing(), "keep keys matching this shell glob (repeatable)")
      ("regex", po::value(&regexes)->composing(), "keep keys matching this ECMAScript regular expression in full (repeatable)")
      ("parent", po::bool_switch(&parent), "a key also matches when one of its '/'-prefixes does (image key selects its captions)")
      ("invert", po::bool_switch(&invert), "keep the records that do not match")
      ("require-all", po::bool_switch(&require_all), "fail if a key listed in --keys is not in the stream")
      ("reorder", po::bool_switch(&reorder), "write the --keys records in the order of the file, joining by key (the input's keys must be unique)")
      ("head", po::value(&head), "stop after keeping this many records")
      ("sample", po::value(&sample), "keep a uniform random sample of this many of the selected records, in stream order")
      ("seed", po::value(&seed)->default_value(seed), "seed for --sample");
  return cli.run(argc, argv, [&] {
    cli.expect_args(0, 0);
    if (head < -1 || (cli.given("head") && head < 0)) fail<UsageError>("--head {}: expected a count >= 0", head);
    if (cli.given("sample") && sample < 0) fail<UsageError>("--sample {}: expected a count >= 0", sample);
    if (require_all && keys_file.empty()) fail<UsageError>("--require-all needs --keys");
    const bool filtering = !keys_file.empty() || !globs.empty() || !regexes.empty();
    if (reorder) {
      if (keys_file.empty()) fail<UsageError>("--reorder needs --keys");
      if (!globs.empty() || !regexes.empty() || invert || parent || cli.given("sample"))
        fail<UsageError>("--reorder takes only --keys (with --head and --require-all)");
      KeyedReader keyed(in_path);
      StreamWriter writer(out_path);
      for (const std::string& key : read_keys(keys_file)) {
        if (head >= 0 && static_cast<std::int64_t>(writer.records()) >= head) break;
        if (auto t = keyed.find(key)) writer.write(key, *t);
        else if (require_all) fail<InputError>("{}: key '{}' listed in {} is not in the stream", keyed.name(), printable_key(key), keys_file);
      }
      writer.close();
      log::info("kept {} of {} records, in the order of {}", writer.records(), keyed.size(), keys_file);
      return 0;
    }
    if (!filtering && invert) fail<UsageError>("--invert needs --keys, --match or --regex");

    std::unordered_set<std::string> listed;
    if (!keys_file.empty())
      for (auto& k : read_keys(keys_file)) listed.insert(std::move(k));
    std::vector<std::regex> res;
    for (const std::string& r : regexes) {
      try {
        res.emplace_back(r, std::regex::ECMAScript | std::regex::optimize);
      } catch (const std::regex_error& e) {
        fail<UsageError>("--regex '{}': {}", r, e.what());
      }
    }
    std::unordered_set<std::string> seen;
    auto matches_one = [&](const std::string& key) {
      if (listed.count(key)) {
        if (require_all) seen.insert(key);
        return true;
      }
      for (const std::string& g : globs)
        if (fnmatch(g.c_str(), key.c_str(), 0) == 0) return true;
      for (const std::regex& re : res)
        if (std::regex_match(key, re)) return true;
      return false;
    };
    auto selected = [&](const std::string& key) {
      if (!filtering) return true;
      bool hit = matches_one(key);
      for (std::size_t slash = key.rfind('/'); parent && !hit && slash != std::string::npos && slash > 0;
           slash = key.rfind('/', slash - 1))
        hit = matches_one(key.substr(0, slash));
      return hit != invert;
    };

    StreamReader reader(in_path);
    StreamWriter writer(out_path);
    std::mt19937_64 rng(seed);
    std::vector<std::pair<std::uint64_t, Record>> reservoir;  // (position, record) for --sample
    std::uint64_t candidates = 0;
    RecordInfo info;
    auto done = [&] { return head >= 0 && sample < 0 && static_cast<std::int64_t>(writer.records()) >= head; };
    while (!done() && reader.next_header(&info)) {
      if (!selected(info.key)) {
        reader.skip_data(info);
        continue;
      }
      if (sample < 0) {
        writer.write(info.key, reader.read_data(info));
        continue;
      }
      // Reservoir sampling (Algorithm R), keeping positions to restore stream order.
      std::uint64_t pos = candidates++;
      if (reservoir.size() < static_cast<std::size_t>(sample)) {
        reservoir.push_back({pos, Record{info.key, reader.read_data(info)}});
      } else if (std::uint64_t j = std::uniform_int_distribution<std::uint64_t>(0, pos)(rng); j < static_cast<std::uint64_t>(sample)) {
        reservoir[j] = {pos, Record{info.key, reader.read_data(info)}};
      } else {
        reader.skip_data(info);
      }
    }
    if (sample >= 0) {
      std::sort(reservoir.begin(), reservoir.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      for (const auto& [pos, r] : reservoir) {
        if (head >= 0 && static_cast<std::int64_t>(writer.records()) >= head) break;
        writer.write(r.key, r.tensor);
      }
    }
    if (require_all && seen.size() < listed.size()) {
      for (const std::string& k : read_keys(keys_file))
        if (!seen.count(k)) fail<InputError>("{}: key '{}' listed in {} is not in the stream", reader.name(), printable_key(k), keys_file);
    }
    writer.close();
    log::info("kept {} of {} records", writer.records(), reader.records());
    return 0;
  });
}
