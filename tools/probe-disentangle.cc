// probe-disentangle: the disentangling study of Reed et al. (PAPER.md section 7, the paper's
// section 5.3). Style labels from a CUB-layout dataset (mean background colour; the 6 keypoints
// beak, belly, breast, crown, forehead, tail), k-means clusters of each (same cluster = same
// style), balanced same/different image pairs, each scored by the cosine similarity of the two
// images' vectors in a stream (invert-style apply's z, encode-text's caption embeddings as the
// baseline, any vectors keyed by image); ROC curves and AU-ROC over folds of the pairs.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cli.h"
#include "error.h"
#include "file.h"
#include "image.h"
#include "loaders/dataset.h"
#include "loaders/style_labels.h"
#include "log.h"
#include "plot.h"
#include "rng.h"
#include "stats.h"
#include "stream.h"

namespace {

using namespace t2i;

// The paper's six pose keypoints.
constexpr const char* kPoseParts[] = {"beak", "belly", "breast", "crown", "forehead", "tail"};

// The widest vectors read (style z and caption embeddings are a few hundred values): a record
// claiming more is refused before anything is sized from it.
constexpr std::size_t kMaxDim = 65536;
// The widest vectors whose linear R^2 is computed (a dim x dim system per fold).
constexpr std::size_t kMaxRegressionDim = 4096;

struct VectorStream {
  std::string name, path;
  std::size_t dim = 0;
  std::vector<float> rows;    // per image present in the stream (slot order): dim floats, the mean of its records
  std::vector<int> count;     // per dataset image: records averaged
  std::vector<std::size_t> slot;  // per dataset image: its row in `rows` (valid where count > 0)
  const float* row(std::size_t image) const { return rows.data() + slot[image] * dim; }
};

// NAME=PATH, or a bare PATH named by its file name without extension.
std::pair<std::string, std::string> parse_named(const std::string& text) {
  const auto eq = text.find('=');
  if (eq != std::string::npos) {
    if (eq == 0 || eq + 1 == text.size()) fail<UsageError>("--vectors '{}': expected NAME=PATH or PATH", text);
    return {text.substr(0, eq), text.substr(eq + 1)};
  }
  std::string stem = text.substr(text.find_last_of('/') == std::string::npos ? 0 : text.find_last_of('/') + 1);
  if (const auto dot = stem.find('.'); dot != std::string::npos && dot > 0) stem = stem.substr(0, dot);
  return {stem.empty() ? text : stem, text};
}

// Reads a stream of vectors keyed by image ("<class>/<name>") or by caption ("<image-key>/<i>",
// averaged per image).
VectorStream read_vectors(const std::string& name, const std::string& path, const data::Dataset& ds,
                          const std::unordered_map<std::string, std::size_t>& by_key) {
  VectorStream v;
  v.name = name, v.path = path;
  v.count.assign(ds.images.size(), 0);
  v.slot.assign(ds.images.size(), 0);
  std::vector<double> sums;  // per slot: dim sums; only images present take room
  StreamReader reader(path);
  Record r;
  while (reader.next(&r)) {
    const Shape& sh = r.tensor.shape();
    const bool vec = r.tensor.dtype() == DType::kFloat32 &&
                     ((sh.size() == 1 && sh[0] >= 1) || (sh.size() == 2 && sh[0] == 1 && sh[1] >= 1));
    if (!vec)
      fail<InputError>("{}: key '{}': {} {}; expected a float32 vector [D] or [1,D] (invert-style apply, encode-text)",
                       reader.name(), printable_key(r.key), dtype_name(r.tensor.dtype()), shape_text(sh));
    const auto d = static_cast<std::size_t>(sh.back());
    if (d > kMaxDim)
      fail<InputError>("{}: key '{}' has {} values; expected at most {}", reader.name(), printable_key(r.key), d, kMaxDim);
    if (v.dim == 0) v.dim = d;
    if (d != v.dim)
      fail<InputError>("{}: key '{}' has {} values; expected {} like the first record", reader.name(),
                       printable_key(r.key), d, v.dim);
    auto it = by_key.find(r.key);
    if (it == by_key.end()) {
      const auto slash = r.key.rfind('/');
      if (slash != std::string::npos) it = by_key.find(r.key.substr(0, slash));
    }
    if (it == by_key.end())
      fail<InputError>("{}: key '{}' is not an image of {} (expected image keys <class>/<name> as pack-images writes "
                       "them, or <image-key>/<i>)", reader.name(), printable_key(r.key), ds.root);
    auto x = r.tensor.span<const float>();
    const std::size_t image = it->second;
    if (v.count[image] == 0) {
      v.slot[image] = sums.size() / d;
      sums.resize(sums.size() + d, 0.0);
    }
    double* sum = sums.data() + v.slot[image] * d;
    for (std::size_t j = 0; j < d; ++j) {
      if (!std::isfinite(x[j]))
        fail<InputError>("{}: key '{}' holds a non-finite value", reader.name(), printable_key(r.key));
      sum[j] += x[j];
    }
    ++v.count[image];
  }
  if (v.dim == 0) fail<InputError>("{}: no vectors", reader.name());
  v.rows.assign(sums.size(), 0.0f);
  for (std::size_t i = 0; i < ds.images.size(); ++i)
    if (v.count[i] > 0)
      for (std::size_t j = 0; j < v.dim; ++j)
        v.rows[v.slot[i] * v.dim + j] = static_cast<float>(sums[v.slot[i] * v.dim + j] / v.count[i]);
  return v;
}

// The thinned ROC: consecutive points closer than `step` in both rates are merged (the ends kept).
std::vector<stats::RocPoint> thin(const std::vector<stats::RocPoint>& roc, double step) {
  std::vector<stats::RocPoint> out;
  for (std::size_t i = 0; i < roc.size(); ++i) {
    if (!out.empty() && i + 1 < roc.size() && std::abs(roc[i].fpr - out.back().fpr) < step &&
        std::abs(roc[i].tpr - out.back().tpr) < step)
      continue;
    out.push_back(roc[i]);
  }
  return out;
}

struct Task {
  std::string name;
  std::vector<std::size_t> members;  // the probed images (indices into `probed`) the task labels
  std::vector<double> features;      // rows of dim, per member
  std::size_t dim = 0;
};

constexpr std::uint64_t kClusterStream = 0x636c7573ull, kPairStream = 0x70616972ull;

// A task's own seed stream: FNV-1a of its name, so a task's clusters and pairs do not depend on
// which other tasks run or in what order (--tasks background equals the default run's background).
std::uint64_t task_id(const std::string& name) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli({
      .name = "probe-disentangle",
      .purpose = "the paper's disentangling probe (section 5.3): do vectors predicted per image (style z, caption "
                 "embeddings) tell images of the same pose or background colour from different ones? ROC and AU-ROC",
      .usage = "probe-disentangle <dataset-dir> --vectors [NAME=]<vectors.t2i>... [options] > <table.tsv>",
      .example = "pack-images data/birds --split test > te.t2i\n"
                 "invert-style apply -m style.st < te.t2i > z.t2i\n"
                 "list-captions data/birds --split test | encode-text -m text.st > emb.t2i\n"
                 "probe-disentangle data/birds --vectors gan-int-cls=z.t2i --vectors text=emb.t2i \\\n"
                 "  --pairs 10000 --roc roc.tsv --plot roc.png > probe.tsv",
      .see_also = "invert-style(1), encode-text(1), make-birds(1), pack-images(1), t2i-stream(5)",
  });
  std::vector<std::string> vector_args;
  std::string out_path = "-", roc_path, plot_path, explain_path, tasks_text = "pose,background";
  int pairs = 10000, folds = 5, clusters = 100, plot_size = 400;
  double vis_weight = 0.5;
  std::uint64_t seed = 1;
  cli.options().add_options()
      ("vectors", po::value(&vector_args)->composing(), "a stream of vectors keyed by image (or <image-key>/<i>, averaged per image), as NAME=PATH (or PATH, named by its file name); repeat for several")
      ("output,o", po::value(&out_path)->default_value(out_path), "the table (TSV: vectors, task, AU-ROC mean and sd over the folds, ...); '-': stdout")
      ("pairs", po::value(&pairs)->default_value(pairs), "image pairs per task, half of the same style and half of different styles")
      ("folds", po::value(&folds)->default_value(folds), "folds of the pairs: AU-ROC is reported as mean and standard deviation over them")
      ("clusters", po::value(&clusters)->default_value(clusters), "k of the k-means clusterings that define a style")
      ("tasks", po::value(&tasks_text)->default_value(tasks_text), "which styles to probe: pose, background, or both comma-separated")
      ("visibility-weight", po::value(&vis_weight)->default_value(vis_weight), "weight of the pose label's per-keypoint hidden flags (hidden keypoints take the mean position of the visible ones)")
      ("roc", po::value(&roc_path), "write the ROC curves (all folds' pairs) as TSV: vectors, task, fpr, tpr, threshold")
      ("plot", po::value(&plot_path), "draw the ROC curves as a PNG: a panel per task, a curve per vector stream")
      ("explain", po::value(&explain_path), "write what the vectors code (TSV: vectors, source, dim, images, r2): the share of each stream's variance that a linear map of the pose label, the background label, both, and on the synthetic birds (style.txt) the rest of the drawn style and all of it explains, cross-validated; needs both tasks")
      ("plot-size", po::value(&plot_size)->default_value(plot_size), "side of each panel of --plot in pixels (200 to 2000)")
      ("seed", po::value(&seed)->default_value(seed), "seed of the k-means initialisation and of the pairs");
  cli.add_threads_option();
  return cli.run(argc, argv, [&] {
    cli.expect_args(1, 1);
    if (vector_args.empty()) fail<UsageError>("--vectors is required (one or more)");
    if (pairs < 20 || pairs > 100'000'000) fail<UsageError>("--pairs {}: expected 20 to 100000000", pairs);
    if (folds < 1 || folds > 100) fail<UsageError>("--folds {}: expected 1 to 100", folds);
    if (pairs / 2 < 2 * folds) fail<UsageError>("--pairs {}: too few for --folds {}", pairs, folds);
    if (clusters < 2 || clusters > 100000) fail<UsageError>("--clusters {}: expected 2 to 100000", clusters);
    if (!(vis_weight >= 0 && vis_weight <= 100)) fail<UsageError>("--visibility-weight {}: expected 0 to 100", vis_weight);
    if (plot_size < 200 || plot_size > 2000) fail<UsageError>("--plot-size {}: expected 200 to 2000", plot_size);
    std::vector<std::string> task_names;
    for (std::size_t p = 0; p <= tasks_text.size();) {
      const auto q = std::min(tasks_text.find(',', p), tasks_text.size());
      const std::string t = tasks_text.substr(p, q - p);
      if (t != "pose" && t != "background") fail<UsageError>("--tasks: '{}' is not pose or background", t);
      if (std::find(task_names.begin(), task_names.end(), t) == task_names.end()) task_names.push_back(t);
      p = q + 1;
    }
    if (!explain_path.empty() && task_names.size() != 2)
      fail<UsageError>("--explain needs both tasks (--tasks pose,background): it compares the two labels");
    if (!explain_path.empty() && explain_path == out_path)
      fail<UsageError>("--explain {} and -o {} name the same file", explain_path, out_path);
    std::vector<std::pair<std::string, std::string>> named;
    for (const std::string& a : vector_args) {
      named.push_back(parse_named(a));
      for (std::size_t i = 0; i + 1 < named.size(); ++i)
        if (named[i].first == named.back().first)
          fail<UsageError>("--vectors: the name '{}' is given twice (name them NAME=PATH)", named.back().first);
    }

    // The dataset and the vectors.
    const std::string root = cli.args()[0];
    const data::Dataset ds = data::load_dataset(root);
    if (ds.layout != data::Layout::kCub)
      fail<InputError>("{}: an Oxford-102 layout dataset; the probe needs CUB-200-2011's part keypoints "
                       "(parts/part_locs.txt)", root);
    std::unordered_map<std::string, std::size_t> by_key;
    for (std::size_t i = 0; i < ds.images.size(); ++i) by_key.emplace(ds.images[i].key, i);
    std::vector<VectorStream> streams;
    for (const auto& [name, path] : named) streams.push_back(read_vectors(name, path, ds, by_key));
    std::vector<std::size_t> probed;  // dataset indices present in every stream, in dataset order
    for (std::size_t i = 0; i < ds.images.size(); ++i) {
      bool all = true;
      for (const VectorStream& s : streams) all = all && s.count[i] > 0;
      if (all) probed.push_back(i);
    }
    const std::size_t n = probed.size();
    if (n < static_cast<std::size_t>(clusters))
      fail<InputError>("{} images of {} are in every vector stream, fewer than --clusters {}", n, root, clusters);
    for (const VectorStream& s : streams) {
      std::size_t have = 0;
      for (int c : s.count) have += c > 0;
      if (have > n) log::info("{}: {} of its {} images are in every stream and probed", s.path, n, have);
    }

    // Image sizes from the file headers; the background colours from background_rgb.txt, or
    // estimated from the pixels (decoding the images) where the dataset has none.
    std::vector<std::array<int, 2>> sizes(n);
    std::vector<std::array<double, 3>> backgrounds(n);
    const bool want_bg = std::find(task_names.begin(), task_names.end(), "background") != task_names.end();
    const auto bg_file = want_bg ? data::read_background_rgb(ds) : std::nullopt;
    if (bg_file)
      for (std::size_t k = 0; k < n; ++k) {
        const auto& rgb = (*bg_file)[probed[k]];
        if (!rgb) fail<InputError>("{}: no line for image '{}'", ds.file("background_rgb.txt"), ds.images[probed[k]].key);
        backgrounds[k] = *rgb;
      }
    if (want_bg && !bg_file)
      log::info("{}: no background_rgb.txt; estimating background colours from the pixels outside the bounding boxes "
                "(or the images' outer eighths)", root);
    std::vector<std::exception_ptr> errors(n);
#pragma omp parallel for schedule(dynamic, 16)
    for (std::size_t k = 0; k < n; ++k) {
      try {
        const data::ImageEntry& im = ds.images[probed[k]];
        if (want_bg && !bg_file) {
          const Image img = read_image(im.image_path);
          sizes[k] = {img.width, img.height};
          backgrounds[k] = data::estimated_background_rgb(img, im.bbox);
        } else {
          sizes[k] = data::image_file_size(im.image_path);
        }
      } catch (...) {
        errors[k] = std::current_exception();
      }
    }
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);

    // The style labels.
    std::vector<Task> tasks;
    for (const std::string& t : task_names) {
      Task task;
      task.name = t;
      if (t == "background") {
        task.dim = 3;
        for (std::size_t k = 0; k < n; ++k) task.members.push_back(k);
        for (const auto& rgb : backgrounds)
          for (double c : rgb) task.features.push_back(c / 255.0);
      } else {
        const data::PartTable parts = data::read_part_locs(ds);
        // Images without a single line in part_locs.txt have no pose label (not "all hidden").
        for (std::size_t k = 0; k < n; ++k)
          if (parts.labelled[probed[k]]) task.members.push_back(k);
        if (task.members.size() < n)
          log::info("pose: {} of the {} probed images have no keypoint lines in {} and are left out", n - task.members.size(),
                    n, ds.file("parts/part_locs.txt"));
        if (task.members.size() < static_cast<std::size_t>(clusters))
          fail<InputError>("{}: {} probed images have keypoints, fewer than --clusters {}", ds.file("parts/part_locs.txt"),
                           task.members.size(), clusters);
        std::vector<int> ids;
        for (const char* p : kPoseParts) {
          const int id = data::find_part(parts, p);
          if (id < 0) fail<InputError>("{}: no part named '{}'", ds.file("parts/parts.txt"), p);
          ids.push_back(id);
        }
        // Hidden keypoints take the mean normalised position of the part where it is visible.
        std::vector<std::array<double, 2>> mean(ids.size(), {0.5, 0.5});
        for (std::size_t p = 0; p < ids.size(); ++p) {
          double sx = 0, sy = 0;
          std::size_t c = 0;
          for (std::size_t k : task.members) {
            const data::PartLoc& l = parts.locs[probed[k]][static_cast<std::size_t>(ids[p])];
            if (l.visible) sx += l.x / sizes[k][0], sy += l.y / sizes[k][1], ++c;
          }
          if (c > 0) mean[p] = {sx / double(c), sy / double(c)};
        }
        task.dim = 3 * ids.size();
        for (std::size_t k : task.members) {
          for (std::size_t p = 0; p < ids.size(); ++p) {
            const data::PartLoc& l = parts.locs[probed[k]][static_cast<std::size_t>(ids[p])];
            task.features.push_back(l.visible ? l.x / sizes[k][0] : mean[p][0]);
            task.features.push_back(l.visible ? l.y / sizes[k][1] : mean[p][1]);
            task.features.push_back(l.visible ? 0.0 : vis_weight);
          }
        }
      }
      tasks.push_back(std::move(task));
    }

    // What the vectors code: the share of their variance each part of the style explains (written
    // once the probe has passed, so that bad input leaves no table behind).
    std::string explain_tsv;
    if (!explain_path.empty()) {
      const Task& pose = tasks[task_names[0] == "pose" ? 0 : 1];
      const Task& background = tasks[task_names[0] == "pose" ? 1 : 0];
      const std::size_t tn = pose.members.size();
      std::vector<double> heights(ds.images.size(), 0.0);
      for (std::size_t k = 0; k < n; ++k) heights[probed[k]] = sizes[k][1];
      const auto other = data::read_other_style(ds, heights);
      struct Source {
        std::string name;
        std::vector<const Task*> parts;
        bool other = false;
      };
      std::vector<Source> sources = {{"pose", {&pose}}, {"background", {&background}}, {"pose+background", {&pose, &background}}};
      if (other) {
        sources.push_back({"other", {}, true});
        sources.push_back({"all", {&pose, &background}, true});
        for (std::size_t k : pose.members)
          if (!(*other)[probed[k]])
            fail<InputError>("{}: no line for image '{}'", ds.file("style.txt"), ds.images[probed[k]].key);
      } else {
        log::info("{}: no style.txt (the synthetic birds have one); --explain compares the two labels alone", root);
      }
      // Each stream's rows of the same images.
      std::vector<std::vector<double>> ys;
      for (const VectorStream& s : streams) {
        std::vector<double>& y = ys.emplace_back();
        y.reserve(tn * s.dim);
        for (std::size_t k : pose.members) y.insert(y.end(), s.row(probed[k]), s.row(probed[k]) + s.dim);
      }
      explain_tsv = "vectors\tsource\tdim\timages\tr2\n";
      for (const Source& src : sources) {
        // Rows of the pose label's members; the background task labels every probed image (its
        // member j is image j), so its row of pose member k is k.
        std::vector<double> x;
        std::size_t dx = 0;
        for (const Task* t : src.parts) dx += t->dim;
        if (src.other) dx += data::kOtherStyleDim;
        x.reserve(tn * dx);
        for (std::size_t m = 0; m < tn; ++m) {
          const std::size_t k = pose.members[m];
          for (const Task* t : src.parts) {
            const std::size_t row = t == &pose ? m : k;
            x.insert(x.end(), t->features.begin() + static_cast<std::ptrdiff_t>(row * t->dim),
                     t->features.begin() + static_cast<std::ptrdiff_t>((row + 1) * t->dim));
          }
          if (src.other) x.insert(x.end(), (*other)[probed[k]]->begin(), (*other)[probed[k]]->end());
        }
        // Each source value standardised over the images, so that the ridge penalty weighs them
        // alike (a colour in [0,1] and the brightness / 255 in about +-0.07); constant ones stay 0.
        for (std::size_t j = 0; j < dx; ++j) {
          double mean = 0, sq = 0;
          for (std::size_t m = 0; m < tn; ++m) mean += x[m * dx + j];
          mean /= double(tn);
          for (std::size_t m = 0; m < tn; ++m) sq += (x[m * dx + j] - mean) * (x[m * dx + j] - mean);
          const double sd = std::sqrt(sq / double(tn));
          for (std::size_t m = 0; m < tn; ++m) x[m * dx + j] = sd > 0 ? (x[m * dx + j] - mean) / sd : 0.0;
        }
        for (std::size_t si = 0; si < streams.size(); ++si) {
          const VectorStream& s = streams[si];
          std::string r2 = "-";
          if (tn >= 4) {
            const int r2_folds = std::max(2, std::min<int>(folds, static_cast<int>(tn / 2)));
            r2 = fmt::format("{:.4f}", stats::ridge_r2_cv(x, dx, ys[si], s.dim, r2_folds));
          }
          explain_tsv += fmt::format("{}\t{}\t{}\t{}\t{}\n", s.name, src.name, dx, tn, r2);
          log::info("{}: {} explains {} of its variance (linear, cross-validated)", s.name, src.name, r2);
        }
      }
    }

    // Per task: clusters, pairs, scores, folds.
    OutputFile out(out_path);
    out.write("vectors\ttask\tau_roc\tau_roc_sd\tfolds\tpairs\timages\tclusters\tlinear_r2\n");
    std::string roc_tsv = "vectors\ttask\tfpr\ttpr\tthreshold\n";
    std::vector<plot::Panel> panels;
    for (std::size_t ti = 0; ti < tasks.size(); ++ti) {
      const Task& task = tasks[ti];
      const std::size_t tn = task.members.size();
      const stats::KMeansResult km =
          stats::kmeans(task.features, task.dim, clusters, mix(seed, mix(kClusterStream, task_id(task.name))));
      std::vector<stats::Pair> pr;
      try {
        pr = stats::balanced_pairs(km.labels, static_cast<std::size_t>(pairs / 2),
                                   mix(seed, mix(kPairStream, task_id(task.name))));
      } catch (const std::invalid_argument&) {
        fail<InputError>("{}: the {} clusters of {} images give no same-style or no different-style pairs", root, clusters,
                         tn);
      }
      log::info("{}: {} images in {} clusters (k-means++, {} iterations, inertia {:.4g}); {} pairs", task.name, tn, clusters,
                km.iterations, km.inertia, pr.size());
      plot::Panel panel;
      panel.title = task.name;
      panel.x_label = "false positive rate";
      panel.y_label = "true positive rate";
      panel.diagonal = true;
      for (const VectorStream& s : streams) {
        std::vector<double> scores(pr.size());
        std::vector<bool> same(pr.size());
        for (std::size_t i = 0; i < pr.size(); ++i) {
          scores[i] = stats::cosine(s.row(probed[task.members[pr[i].a]]), s.row(probed[task.members[pr[i].b]]), s.dim);
          same[i] = pr[i].same;
        }
        std::vector<double> fold_auc;
        for (int f = 0; f < folds; ++f) {
          std::vector<double> fs;
          std::vector<bool> fl;
          for (std::size_t i = static_cast<std::size_t>(f); i < pr.size(); i += static_cast<std::size_t>(folds))
            fs.push_back(scores[i]), fl.push_back(same[i]);
          try {
            fold_auc.push_back(stats::auc(fs, fl));
          } catch (const std::invalid_argument&) {
            fail<InputError>("fold {} of the {} pairs holds only one kind of pair; give more --pairs", f + 1, task.name);
          }
        }
        const stats::MeanSd m = stats::mean_sd(fold_auc);
        // How much of the style label (the features clustered) a linear map of the vectors
        // explains, cross-validated over as many folds of the images (2 at least); "-" for vectors
        // wider than kMaxRegressionDim (the normal equations would need dim^2 values) and for
        // fewer than 4 images (two folds of two).
        std::string r2 = "-";
        if (s.dim <= kMaxRegressionDim && tn >= 4) {
          std::vector<double> xs;
          xs.reserve(tn * s.dim);
          for (std::size_t k : task.members) xs.insert(xs.end(), s.row(probed[k]), s.row(probed[k]) + s.dim);
          const int r2_folds = std::max(2, std::min<int>(folds, static_cast<int>(tn / 2)));
          r2 = fmt::format("{:.4f}", stats::ridge_r2_cv(xs, s.dim, task.features, task.dim, r2_folds));
        }
        out.write(fmt::format("{}\t{}\t{:.4f}\t{:.4f}\t{}\t{}\t{}\t{}\t{}\n", s.name, task.name, m.mean, m.sd, folds,
                              pr.size(), tn, clusters, r2));
        log::info("{} {}: AU-ROC {:.4f} +- {:.4f} over {} folds; linear R^2 {}", s.name, task.name, m.mean, m.sd, folds, r2);
        const auto roc = thin(stats::roc_curve(scores, same), 0.002);
        plot::Series series;
        series.name = fmt::format("{} {:.3f}", s.name, m.mean);
        for (const auto& p : roc) {
          roc_tsv += fmt::format("{}\t{}\t{:.6f}\t{:.6f}\t{:.6g}\n", s.name, task.name, p.fpr, p.tpr, p.threshold);
          series.points.emplace_back(p.fpr, p.tpr);
        }
        panel.series.push_back(std::move(series));
      }
      panels.push_back(std::move(panel));
    }
    out.close();
    if (!roc_path.empty()) {
      OutputFile roc_out(roc_path);
      roc_out.write(roc_tsv);
      roc_out.close();
    }
    if (!plot_path.empty()) write_png(plot::draw_panels(panels, plot_size), plot_path);
    if (!explain_path.empty()) {
      OutputFile ex(explain_path);
      ex.write(explain_tsv);
      ex.close();
    }
    return 0;
  });
}
