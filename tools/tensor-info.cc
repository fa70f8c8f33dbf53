// tensor-info: what a tensor stream or a checkpoint holds.
#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "checkpoint.h"
#include "cli.h"
#include "error.h"
#include "file.h"
#include "log.h"
#include "stream.h"

namespace {

using namespace t2i;

struct Stats {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double sum = 0;
  std::int64_t finite = 0, nonfinite = 0;
};

template <typename T>
Stats stats_of(const Tensor& t) {
  Stats s;
  for (T v : t.span<T>()) {
    double d = static_cast<double>(v);
    if (!std::isfinite(d)) {
      ++s.nonfinite;
      continue;
    }
    s.min = std::min(s.min, d);
    s.max = std::max(s.max, d);
    s.sum += d;
    ++s.finite;
  }
  return s;
}

Stats stats(const Tensor& t) {
  switch (t.dtype()) {
    case DType::kFloat32: return stats_of<float>(t);
    case DType::kUInt8: return stats_of<std::uint8_t>(t);
    case DType::kInt32: return stats_of<std::int32_t>(t);
    case DType::kInt64: return stats_of<std::int64_t>(t);
  }
  return {};
}

struct Options {
  bool keys_only = false;
  bool summary_only = false;
  bool no_stats = false;
  std::string format = "auto";
};

class Report {
 public:
  explicit Report(const Options& o) : o_(o) {}

  void header(std::string_view first_column) {
    if (!o_.keys_only && !o_.summary_only)
      fmt::print("{}\tdtype\tshape{}\n", first_column, o_.no_stats ? "" : "\tmin\tmean\tmax\tnonfinite");
  }
  // Counts a record; prints its row. Without a tensor (keys_only, no_stats) only the header is known.
  void row(const std::string& key, DType dtype, const Shape& shape, const Tensor* tensor) {
    ++records_;
    auto numel = checked_numel(shape, dtype_size(dtype)).value_or(0);
    bytes_ += static_cast<std::uint64_t>(numel) * dtype_size(dtype);
    ++per_dtype_[static_cast<int>(dtype)];
    if (o_.summary_only && !tensor) return;
    if (o_.keys_only) {
      fmt::print("{}\n", key);
      return;
    }
    std::string line = fmt::format("{}\t{}\t{}", key, dtype_name(dtype), shape_text(shape));
    if (tensor) {
      Stats s = stats(*tensor);
      nonfinite_ += s.nonfinite;
      if (s.finite > 0)
        line += fmt::format("\t{:.6g}\t{:.6g}\t{:.6g}\t{}", s.min, s.sum / static_cast<double>(s.finite), s.max, s.nonfinite);
      else
        line += fmt::format("\t-\t-\t-\t{}", s.nonfinite);
    }
    if (!o_.summary_only) fmt::print("{}\n", line);
  }
  void summary(const std::string& name, std::string_view what) {
    if (o_.keys_only) return;
    std::string dtypes;
    for (DType t : {DType::kFloat32, DType::kUInt8, DType::kInt32, DType::kInt64})
      if (per_dtype_[static_cast<int>(t)]) dtypes += fmt::format(" {}:{}", dtype_name(t), per_dtype_[static_cast<int>(t)]);
    fmt::print("# {}: {} {}, {} bytes of data, dtypes{}{}\n", name, records_, what, bytes_, dtypes.empty() ? " none" : dtypes,
               o_.no_stats ? "" : fmt::format(", {} non-finite values", nonfinite_));
  }

 private:
  const Options& o_;
  std::uint64_t records_ = 0, bytes_ = 0, nonfinite_ = 0;
  std::uint64_t per_dtype_[4] = {};
};

bool looks_like_safetensors(const std::string& path) {
  if (path == "-") return false;
  InputFile in(path);
  unsigned char head[9];
  if (in.read(head, sizeof head) < sizeof head || !in.size()) return false;
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | head[i];
  return head[8] == '{' && n <= *in.size() - 8;
}

void show_stream(const std::string& path, const Options& o) {
  Report report(o);
  report.header("key");
  StreamReader reader(path);
  RecordInfo info;
  const bool need_data = !o.keys_only && !o.no_stats;
  while (reader.next_header(&info)) {
    if (need_data) {
      Tensor t = reader.read_data(info);
      report.row(info.key, t.dtype(), t.shape(), &t);
    } else {
      reader.skip_data(info);
      report.row(info.key, info.header.dtype, info.header.shape, nullptr);
    }
  }
  report.summary(reader.name(), "records");
}

void show_checkpoint(const std::string& path, const Options& o) {
  Checkpoint ck = Checkpoint::load(path);
  // One line a key: newlines and tabs in a value (train.commands: one command a line) escaped.
  auto escaped = [](const std::string& v) {
    std::string out;
    for (char c : v) out += c == '\n' ? std::string("\\n") : c == '\t' ? std::string("\\t") : c == '\\' ? std::string("\\\\") : std::string(1, c);
    return out;
  };
  if (!o.keys_only && !o.summary_only)
    for (const auto& [k, v] : ck.metadata) fmt::print("# metadata\t{}\t{}\n", k, escaped(v));
  Report report(o);
  report.header("tensor");
  for (const std::string& name : ck.names()) {
    const Tensor& t = ck.get(name);
    report.row(name, t.dtype(), t.shape(), o.no_stats || o.keys_only ? nullptr : &t);
  }
  report.summary(path, "tensors");
}

}  // namespace

int main(int argc, char** argv) {
  t2i::Cli cli({
      .name = "tensor-info",
      .purpose = "print the keys, dtypes, shapes and value ranges of tensor streams or checkpoints",
      .usage = "tensor-info [options] [<stream-or-checkpoint>...]   (no file or '-': stdin)",
      .example = "png-to-tensor photos/ | tensor-info\ntensor-info --keys images.t2i | head",
      .see_also = "tensor-select(1), png-to-tensor(1), t2i-stream(5)",
  });
  Options o;
  cli.options().add_options()
      ("keys", t2i::po::bool_switch(&o.keys_only), "print only the keys (tensor names), one per line")
      ("summary", t2i::po::bool_switch(&o.summary_only), "print only the summary line of each input")
      ("no-stats", t2i::po::bool_switch(&o.no_stats), "skip min/mean/max (reads headers only, seeks over data)")
      ("format", t2i::po::value(&o.format)->default_value(o.format), "input format: auto, stream or safetensors");
  return cli.run(argc, argv, [&] {
    if (o.format != "auto" && o.format != "stream" && o.format != "safetensors")
      t2i::fail<t2i::UsageError>("--format '{}' is not one of auto, stream, safetensors", o.format);
    if (o.keys_only && o.summary_only) t2i::fail<t2i::UsageError>("--keys and --summary exclude each other");
    std::vector<std::string> inputs = cli.args();
    if (inputs.empty()) inputs.push_back("-");
    for (const std::string& path : inputs) {
      bool checkpoint = o.format == "safetensors" || (o.format == "auto" && looks_like_safetensors(path));
      if (checkpoint) show_checkpoint(path, o);
      else show_stream(path, o);
    }
    return 0;
  });
}
