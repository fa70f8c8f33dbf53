// interpolate: k evenly spaced points between two records of a stream (text embeddings, z
// vectors: any float32 arrays of one shape), linear or spherical, keyed prefix/0 .. prefix/k-1.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"
#include "error.h"
#include "file.h"
#include "log.h"
#include "stream.h"

namespace {

constexpr int kMaxSteps = 65536;
constexpr std::size_t kMaxPairsBytes = std::size_t{64} << 20;

struct Pair {
  std::string from, to, prefix;
  std::string where;  // "pairs.txt line 3", or "" for --from/--to
};

// The default prefix "FROM~TO", with '/' made '_' so that a pair's records share one group.
std::string default_prefix(const std::string& from, const std::string& to) {
  std::string p = from + "~" + to;
  std::replace(p.begin(), p.end(), '/', '_');
  return p;
}

std::string read_all(t2i::InputFile& in) {
  std::string text;
  char buf[1 << 16];
  while (std::size_t n = in.read(buf, sizeof buf)) {
    text.append(buf, n);
    if (text.size() > kMaxPairsBytes)
      t2i::fail<t2i::InputError>("{}: more than {} bytes; too big for a pairs file", in.name(), kMaxPairsBytes);
  }
  return text;
}

// Lines "FROM TO [PREFIX]" (spaces or tabs); blank lines and lines starting with '#' skipped.
std::vector<Pair> read_pairs(const std::string& path) {
  t2i::InputFile in(path);
  std::istringstream lines(read_all(in));
  std::vector<Pair> pairs;
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    if (f.empty() || f[0][0] == '#') continue;
    if (f.size() < 2 || f.size() > 3)
      t2i::fail<t2i::InputError>("{}: line {}: {} fields; expected 'FROM TO' or 'FROM TO PREFIX'", in.name(), number,
                                 f.size());
    Pair p{f[0], f[1], f.size() == 3 ? f[2] : default_prefix(f[0], f[1]), fmt::format("{} line {}", in.name(), number)};
    pairs.push_back(std::move(p));
  }
  if (pairs.empty()) t2i::fail<t2i::InputError>("{}: no pairs", in.name());
  return pairs;
}

// v = (1 - t) a + t b, in double.
void lerp(const float* a, const float* b, double t, float* out, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j)
    out[j] = static_cast<float>((1.0 - t) * static_cast<double>(a[j]) + t * static_cast<double>(b[j]));
}

// The angle between a and b as flat vectors, or -1 when either is zero or they are (anti)parallel:
// then slerp has no single great circle and the caller falls back to lerp.
double angle_between(const float* a, const float* b, std::size_t n) {
  double dot = 0, aa = 0, bb = 0;
  for (std::size_t j = 0; j < n; ++j) {
    dot += static_cast<double>(a[j]) * b[j];
    aa += static_cast<double>(a[j]) * a[j];
    bb += static_cast<double>(b[j]) * b[j];
  }
  if (aa == 0 || bb == 0 || !std::isfinite(dot) || !std::isfinite(aa * bb)) return -1;  // lerp keeps NaN where it is
  const double omega = std::acos(std::clamp(dot / std::sqrt(aa * bb), -1.0, 1.0));
  if (!std::isfinite(omega) || std::sin(omega) < 1e-6) return -1;
  return omega;
}

// v = sin((1 - t) w) / sin w a + sin(t w) / sin w b (White, "Sampling generative networks").
void slerp(const float* a, const float* b, double omega, double t, float* out, std::size_t n) {
  const double s = std::sin(omega), ca = std::sin((1.0 - t) * omega) / s, cb = std::sin(t * omega) / s;
  for (std::size_t j = 0; j < n; ++j)
    out[j] = static_cast<float>(ca * static_cast<double>(a[j]) + cb * static_cast<double>(b[j]));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace t2i;
  Cli cli({
      .name = "interpolate",
      .purpose = "k evenly spaced interpolations between two records (text embeddings, z vectors: float32 arrays "
                 "of one shape), keyed prefix/0 .. prefix/k-1; linear or spherical",
      .usage = "interpolate (--from <key> --to <key> | --pairs <file>) [options] [<stream-in>|-] > <stream-out>",
      .example = "encode-text -m text.st captions.txt | interpolate --from a --to b -k 8 > e.t2i\n"
                 "tensor-select --head 1 < z.t2i > z1.t2i   # one z (from generate --write-z): the style, held fixed\n"
                 "generate -m gan.st --z z1.t2i < e.t2i | montage --cols 8 > interpolation.png",
      .see_also = "encode-text(1), generate(1), montage(1), t2i-stream(5)",
  });
  std::string from, to, prefix, pairs_path, out_path = "-";
  int steps = 8;
  bool spherical = false;
  cli.options().add_options()
      ("from", po::value(&from), "the key of the first record (t = 0)")
      ("to", po::value(&to), "the key of the last record (t = 1)")
      ("steps,k", po::value(&steps)->default_value(steps), "records per pair, the endpoints included (2 to 65536)")
      ("key", po::value(&prefix), "key prefix of the output records (default: FROM~TO with '/' made '_')")
      ("pairs", po::value(&pairs_path), "many pairs: a file of lines 'FROM TO [PREFIX]' ('-': stdin)")
      ("slerp", po::bool_switch(&spherical), "spherical interpolation along the great circle (for z vectors)")
      ("output,o", po::value(&out_path)->default_value(out_path), "output stream ('-': stdout)");
  return cli.run(argc, argv, [&] {
    cli.expect_args(0, 1);
    const bool by_pairs = cli.given("pairs");
    if (by_pairs && (cli.given("from") || cli.given("to") || cli.given("key")))
      fail<UsageError>("--pairs cannot be combined with --from, --to or --key");
    if (!by_pairs && (!cli.given("from") || !cli.given("to")))
      fail<UsageError>("give --from and --to, or --pairs");
    if (steps < 2 || steps > kMaxSteps) fail<UsageError>("-k {}: expected 2 to {}", steps, kMaxSteps);
    const std::string in_path = cli.args().empty() ? "-" : cli.args()[0];
    if (by_pairs && pairs_path == "-" && in_path == "-")
      fail<UsageError>("--pairs - and the input stream cannot both be standard input");

    std::vector<Pair> pairs;
    if (by_pairs) {
      pairs = read_pairs(pairs_path);
    } else {
      if (cli.given("key") && !key_problem(prefix).empty())
        fail<UsageError>("--key '{}': {}", printable_key(prefix), key_problem(prefix));
      pairs.push_back({from, to, cli.given("key") ? prefix : default_prefix(from, to), ""});
    }

    // Everything is checked before anything is written.
    KeyedReader reader(in_path);
    std::map<std::string, std::string> prefixes;  // prefix -> where it was first used
    const std::string last = fmt::format("/{}", steps - 1);
    for (const Pair& p : pairs) {
      const std::string at = p.where.empty() ? "" : fmt::format(" ({})", p.where);
      for (const std::string* key : {&p.from, &p.to}) {
        if (!reader.contains(*key))
          fail<InputError>("{}: no record with key '{}'{}", reader.name(), printable_key(*key), at);
        const npy::Header& h = reader.header(*key);
        if (h.dtype != DType::kFloat32)
          fail<InputError>("{}: key '{}' is {} {}; expected float32{}", reader.name(), printable_key(*key),
                           dtype_name(h.dtype), shape_text(h.shape), at);
      }
      const Shape& sa = reader.header(p.from).shape;
      const Shape& sb = reader.header(p.to).shape;
      if (sa != sb)
        fail<InputError>("{}: key '{}' is {} but key '{}' is {}; interpolation needs one shape{}", reader.name(),
                         printable_key(p.from), shape_text(sa), printable_key(p.to), shape_text(sb), at);
      if (std::string why = key_problem(p.prefix + last); !why.empty())
        fail<InputError>("prefix '{}'{}: {}; give a shorter one{}", printable_key(p.prefix), at, why,
                         p.where.empty() ? " with --key" : " as the third field");
      if (auto [it, added] = prefixes.try_emplace(p.prefix, p.where); !added)
        fail<InputError>("prefix '{}'{} is already used ({}); the records would share keys", printable_key(p.prefix), at,
                         it->second);
    }

    StreamWriter writer(out_path);
    std::uint64_t fallbacks = 0;
    for (const Pair& p : pairs) {
      const Tensor a = reader.get(p.from), b = reader.get(p.to);
      const auto n = static_cast<std::size_t>(a.numel());
      const float* pa = a.span<const float>().data();
      const float* pb = b.span<const float>().data();
      double omega = -1;
      if (spherical) {
        omega = angle_between(pa, pb, n);
        if (omega < 0) {
          ++fallbacks;
          log::warn("'{}' and '{}': a zero or (anti)parallel pair; interpolating linearly", printable_key(p.from),
                    printable_key(p.to));
        }
      }
      Tensor v(DType::kFloat32, a.shape());
      float* out = v.span<float>().data();
      for (int i = 0; i < steps; ++i) {
        // The endpoints are the inputs, bit for bit.
        if (i == 0) {
          std::memcpy(out, pa, n * sizeof(float));
        } else if (i == steps - 1) {
          std::memcpy(out, pb, n * sizeof(float));
        } else {
          const double t = static_cast<double>(i) / static_cast<double>(steps - 1);
          if (omega >= 0)
            slerp(pa, pb, omega, t, out, n);
          else
            lerp(pa, pb, t, out, n);
        }
        writer.write(fmt::format("{}/{}", p.prefix, i), v);
      }
    }
    writer.close();
    log::info("wrote {} records: {} pair{} x {} steps, {}{}", writer.records(), pairs.size(), pairs.size() == 1 ? "" : "s",
              steps, spherical ? "spherical" : "linear",
              fallbacks ? fmt::format(" ({} pairs linear: zero or parallel)", fallbacks) : std::string());
    return 0;
  });
}
